// Owns: the libFuzzer target of TsGuard, the gate in front of tsdemux: bytes fed in input-chosen
// pieces. Invariants: the guard forwards only whole 188-byte packets with a sync byte, never more
// packets than it was given, and its counters add up.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "pipelines/ts_guard.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  estuary::fuzz::FuzzInput in(data, size);
  const size_t piece = 1 + in.byte() * 8u;
  estuary::pipelines::TsGuard guard;
  std::vector<uint8_t> out;
  while (in.remaining() > 0) {
    const size_t n = std::min(piece, in.remaining());
    const uint8_t* p = in.rest();
    in.take(n);
    guard.feed(p, n, out);
  }
  if (out.size() % 188 != 0) std::abort();
  for (size_t off = 0; off < out.size(); off += 188)
    if (out[off] != 0x47) std::abort();
  const auto& s = guard.stats();
  if (s.packets_out > s.packets_in || out.size() / 188 != s.packets_out) std::abort();
  (void)guard.hopeless();
  return 0;
}
