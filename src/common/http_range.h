// Owns: parse_byte_range(), the bounded parser of an HTTP Range request header (RFC 9110 14.2) for
// one representation of a known size. Sans-IO: a header value and a size in, a verdict out. Only a
// single byte range is served: "bytes=a-b", "bytes=a-" and "bytes=-n"; a header that is malformed,
// longer than kMaxRangeHeader, names another unit or several ranges is ignored (RFC 9110 allows a
// server to ignore Range: the whole representation is sent with 200).
// Must not know: libsoup, sockets, files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace estuary {

constexpr size_t kMaxRangeHeader = 256;

enum class RangeVerdict {
  whole,          // no Range, or one to ignore: 200 with everything
  partial,        // 206 with [first, last] and Content-Range: bytes first-last/size
  unsatisfiable,  // 416 with Content-Range: bytes */size
};

struct ByteRange {
  RangeVerdict verdict = RangeVerdict::whole;
  uint64_t first = 0;  // inclusive; set for partial
  uint64_t last = 0;   // inclusive; set for partial
  uint64_t length() const { return verdict == RangeVerdict::partial ? last - first + 1 : 0; }
};

// header: the Range field's value (empty when absent); size: the representation's length in bytes.
ByteRange parse_byte_range(std::string_view header, uint64_t size);

}  // namespace estuary
