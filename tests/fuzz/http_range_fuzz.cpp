// Owns: the libFuzzer target of the Range header parser (common/http_range.h). Input: 8 bytes of
// representation size (big-endian; its top bit cleared), then the header value. Invariants: a
// partial range lies inside the representation with first <= last; nothing partial of an empty one.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/http_range.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  uint64_t length = 0;
  for (int i = 0; i < 8; ++i) length = (length << 8) | data[i];
  length &= ~(uint64_t(1) << 63);
  const std::string_view header(reinterpret_cast<const char*>(data + 8), size - 8);
  const estuary::ByteRange r = estuary::parse_byte_range(header, length);
  if (r.verdict == estuary::RangeVerdict::partial) {
    if (length == 0 || r.first > r.last || r.last >= length) std::abort();
    if (r.length() == 0 || r.length() > length) std::abort();
  } else if (r.length() != 0) {
    std::abort();
  }
  if (header.size() > estuary::kMaxRangeHeader && r.verdict != estuary::RangeVerdict::whole) std::abort();
  return 0;
}
