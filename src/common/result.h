// Owns: the value-or-error type returned by config, API and protocol code. The error carries
// context (file, line, what) so the layer that reports it needs no further lookup.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace estuary {

struct Error {
  std::string message;  // human-readable, already includes context such as "file:line: ..."
  int code = 0;         // optional category for the HTTP layer (e.g. 400, 404); 0 = unspecified
};

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error e) : v_(std::move(e)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};
using Status = Result<Unit>;
inline Status ok_status() { return Status(Unit{}); }

}  // namespace estuary
