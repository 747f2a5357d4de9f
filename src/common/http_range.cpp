// Owns: parse_byte_range() (see http_range.h).
#include "common/http_range.h"

#include <optional>

namespace estuary {
namespace {

constexpr size_t kMaxDigits = 19;  // below 2^63: no overflow in a uint64_t

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A non-empty run of at most kMaxDigits decimal digits and nothing else.
std::optional<uint64_t> number(std::string_view s) {
  if (s.empty() || s.size() > kMaxDigits) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + uint64_t(c - '0');
  }
  return v;
}

bool unit_is_bytes(std::string_view unit) {
  constexpr std::string_view kBytes = "bytes";
  if (unit.size() != kBytes.size()) return false;
  for (size_t i = 0; i < unit.size(); ++i) {
    const char c = (unit[i] >= 'A' && unit[i] <= 'Z') ? char(unit[i] - 'A' + 'a') : unit[i];
    if (c != kBytes[i]) return false;
  }
  return true;
}

}  // namespace

ByteRange parse_byte_range(std::string_view header, uint64_t size) {
  ByteRange whole;
  if (header.empty() || header.size() > kMaxRangeHeader) return whole;
  const std::string_view h = trim(header);
  const size_t eq = h.find('=');
  if (eq == std::string_view::npos || !unit_is_bytes(trim(h.substr(0, eq)))) return whole;
  const std::string_view spec = trim(h.substr(eq + 1));
  if (spec.find(',') != std::string_view::npos) return whole;  // several ranges: not served
  const size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return whole;
  const std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  ByteRange r;
  if (a.empty()) {  // "-n": the last n bytes
    const auto n = number(b);
    if (!n) return whole;
    if (*n == 0 || size == 0) return ByteRange{RangeVerdict::unsatisfiable};
    r.first = *n >= size ? 0 : size - *n;
    r.last = size - 1;
  } else {
    const auto first = number(a);
    if (!first) return whole;
    std::optional<uint64_t> last;
    if (!b.empty()) {
      last = number(b);
      if (!last || *last < *first) return whole;  // invalid: ignored
    }
    if (*first >= size) return ByteRange{RangeVerdict::unsatisfiable};
    r.first = *first;
    r.last = last && *last < size - 1 ? *last : size - 1;
  }
  r.verdict = RangeVerdict::partial;
  return r;
}

}  // namespace estuary
