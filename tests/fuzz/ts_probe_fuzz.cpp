// Owns: the libFuzzer target of our MPEG-TS probing (TsTrackProbe: sync search, PAT, PMT sections
// split across packets and feeds), fed in input-chosen pieces. The demuxing itself is GStreamer's.
#include <cstdint>
#include <cstdlib>

#include "pipelines/ts_ingest.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  estuary::fuzz::FuzzInput in(data, size);
  size_t piece = 1 + in.byte() * 8u;
  estuary::pipelines::TsTrackProbe probe;
  while (in.remaining() > 0 && !probe.done()) {
    size_t n = std::min(piece, in.remaining());
    const uint8_t* p = in.rest();
    in.take(n);
    probe.feed(p, n);
  }
  if (probe.done()) {
    const std::string& v = probe.video();
    const std::string& a = probe.audio();
    if (!(v.empty() || v == "h264" || v == "h265")) std::abort();
    if (!(a.empty() || a == "aac" || a == "mp3" || a == "opus")) std::abort();
  }
  return 0;
}
