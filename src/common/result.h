// Owns: the value-or-error type returned by config, API and protocol code. The error carries
// context (file, line, what) so the layer that reports it needs no further lookup, a reason (what
// kind of failure, for the caller to act on) and the domain that raised it. Nothing here knows HTTP:
// the HTTP layer alone maps reasons to status codes (server/control/http_routes.h).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace estuary {

enum class ErrorReason {
  unspecified,
  invalid,        // malformed or out-of-bounds input
  not_found,      // no such stream, client, file, ...
  conflict,       // the thing exists already (a live stream's publisher)
  too_large,      // input over a bound
  unsupported,    // understood, but not a kind we serve (a codec, a mode)
  unprocessable,  // well-formed, but cannot be served as asked (an offer without a usable codec)
  unavailable,    // temporarily cannot (output not ready, disabled, overloaded)
  internal,       // our own failure (an element missing, a pipeline that would not start)
};
// "invalid", "not_found", ... for logs.
const char* error_reason_name(ErrorReason reason);

struct Error {
  std::string message;  // human-readable, already includes context such as "file:line: ..."
  ErrorReason reason = ErrorReason::unspecified;
  std::string domain;  // who raised it: "rtmp", "srt", "webrtc", "control", "api", "config", ... ("" = unsaid)
  int code = 0;        // the domain's own number where its protocol defines one (an SRT reject reason, an
                       // SRS API code); never an HTTP status
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

inline const char* error_reason_name(ErrorReason reason) {
  switch (reason) {
    case ErrorReason::unspecified:
      return "unspecified";
    case ErrorReason::invalid:
      return "invalid";
    case ErrorReason::not_found:
      return "not_found";
    case ErrorReason::conflict:
      return "conflict";
    case ErrorReason::too_large:
      return "too_large";
    case ErrorReason::unsupported:
      return "unsupported";
    case ErrorReason::unprocessable:
      return "unprocessable";
    case ErrorReason::unavailable:
      return "unavailable";
    case ErrorReason::internal:
      return "internal";
  }
  return "unspecified";
}

}  // namespace estuary
