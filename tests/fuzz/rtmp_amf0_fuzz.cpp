// Owns: the libFuzzer target of the AMF0 decoder: decode under tight limits, and check that what
// decodes re-encodes and decodes to the same values. Must not know: RTMP messages.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "common/amf0.h"

using estuary::Amf0Limits;
using estuary::Amf0Value;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Amf0Limits limits;
  limits.max_depth = 16;
  limits.max_elements = 4096;
  limits.max_string_length = 64u << 10;
  auto values = estuary::amf0_decode_all(data, size, 64, limits);
  if (!values.ok()) return 0;
  std::vector<uint8_t> again = estuary::amf0_encode_all(*values);
  // Re-decoding may only be refused where the encoder chose a longer form (long strings).
  Amf0Limits roomy = limits;
  roomy.max_elements = limits.max_elements * 2;
  auto round = estuary::amf0_decode_all(again.data(), again.size(), 64, roomy);
  if (!round.ok() || round->size() != values->size()) std::abort();
  for (size_t i = 0; i < values->size(); ++i) {
    // NaN numbers never compare equal; compare their encodings instead.
    std::vector<uint8_t> a, b;
    estuary::amf0_encode((*values)[i], a);
    estuary::amf0_encode((*round)[i], b);
    if (a != b) std::abort();
  }
  return 0;
}
