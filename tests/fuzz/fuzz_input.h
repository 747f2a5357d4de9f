// Owns: a tiny reader that splits one fuzzer input into the pieces a target needs (a few control
// bytes, then lengths and text). Must not know: any parser under test.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace estuary::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t remaining() const { return size_ - pos_; }
  const uint8_t* rest() const { return data_ + pos_; }
  // One byte (0 once the input is used up).
  uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  // Up to n bytes as a view.
  std::string_view take(size_t n) {
    n = std::min(n, remaining());
    std::string_view v(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return v;
  }
  // Bytes up to (not including) the next `sep`, or the rest; the separator is consumed.
  std::string_view until(char sep) {
    std::string_view all(reinterpret_cast<const char*>(data_ + pos_), remaining());
    size_t at = all.find(sep);
    if (at == std::string_view::npos) return take(remaining());
    std::string_view v = all.substr(0, at);
    pos_ += at + 1;
    return v;
  }
  std::string_view rest_text() { return take(remaining()); }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace estuary::fuzz
