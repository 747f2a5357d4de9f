// Owns: the libFuzzer target of the RTMP chunk stream reader (all header formats, extended
// timestamps, Set Chunk Size, Abort, interleaving), fed in input-chosen pieces, with the bounds
// checked after every feed. Must not know: the handshake or commands.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "server/protocols/rtmp/chunk.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  estuary::fuzz::FuzzInput in(data, size);
  size_t piece = 1 + in.byte() * 4u;
  estuary::rtmp::ChunkReaderLimits limits;
  limits.max_message_size = 1u << 16;  // small bounds, so the fuzzer reaches them
  limits.max_buffered_bytes = 1u << 18;
  limits.max_partial_streams = 8;
  limits.max_chunk_streams = 32;
  estuary::rtmp::ChunkReader reader(limits);
  std::vector<estuary::rtmp::Message> out;
  while (in.remaining() > 0) {
    size_t n = std::min(piece, in.remaining());
    const uint8_t* p = in.rest();
    in.take(n);
    estuary::Status st = reader.feed(p, n, out);
    if (reader.buffered_bytes() > limits.max_buffered_bytes) std::abort();
    if (reader.partial_streams() > limits.max_partial_streams) std::abort();
    for (const auto& m : out)
      if (m.payload.size() > limits.max_message_size) std::abort();
    out.clear();
    if (!st.ok()) break;
  }
  return 0;
}
