// Owns: the libFuzzer target of the RTMP server handshake (C0/C1/C2, simple and complex), fed in
// pieces whose sizes the input chooses. Must not know: the chunk stream after the handshake.
#include <cstdint>
#include <cstdlib>

#include "server/protocols/rtmp/handshake.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  estuary::fuzz::FuzzInput in(data, size);
  size_t piece = 1 + in.byte() * 16u;  // 1..4081 bytes per feed
  estuary::rtmp::ServerHandshake hs;
  while (in.remaining() > 0) {
    size_t n = std::min(piece, in.remaining());
    const uint8_t* p = in.rest();
    in.take(n);
    estuary::Result<size_t> used = hs.feed(p, n);
    std::vector<uint8_t> out = hs.take_output();
    if (!used.ok()) break;
    if (*used > n) std::abort();  // consumed more than it was given
    if (!out.empty() && out.size() != 1 + 2 * estuary::rtmp::kHandshakePacketSize) std::abort();
    if (hs.done()) break;
  }
  return 0;
}
