// Owns: the libFuzzer target of our MPEG-TS parsing: TsTrackProbe (sync search, PAT, PMT sections
// split across packets and feeds) and TsScanner (PAT/PMT header keeping, keyframe offsets), fed in
// input-chosen pieces. The demuxing itself is GStreamer's.
#include <cstdint>
#include <cstdlib>

#include "pipelines/ts_ingest.h"
#include "pipelines/ts_packets.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  estuary::fuzz::FuzzInput in(data, size);
  size_t piece = 1 + in.byte() * 8u;
  estuary::pipelines::TsTrackProbe probe;
  estuary::pipelines::TsScanner scanner;
  while (in.remaining() > 0) {
    size_t n = std::min(piece, in.remaining());
    const uint8_t* p = in.rest();
    in.take(n);
    if (!probe.done()) probe.feed(p, n);
    estuary::pipelines::TsScanResult r = scanner.scan(p, n);
    if (r.key_offset < -1 || r.key_offset >= static_cast<long>(n)) std::abort();
    if (scanner.has_header() && scanner.header().size() != 2 * estuary::pipelines::ts_packet_size) std::abort();
  }
  if (probe.done()) {
    const std::string& v = probe.video();
    const std::string& a = probe.audio();
    if (!(v.empty() || v == "h264" || v == "h265")) std::abort();
    if (!(a.empty() || a == "aac" || a == "mp3" || a == "opus")) std::abort();
  }
  return 0;
}
