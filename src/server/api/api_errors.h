// Owns: the API's error codes (SRS numbering where SRS has one) and the single mapping from an
// error code to the HTTP status the API answers with. Nothing else in the API picks a status.
#pragma once

#include <string>

#include "common/result.h"

namespace estuary::api {

// Values of the "code" field. 0 and the 2xxx codes are SRS's (srs_kernel_error.hpp) so SRS consoles
// and scripts that test `code` keep working; the 4xx/5xx codes mirror the HTTP status for errors SRS
// reports only through the status line.
namespace code {
inline constexpr int success = 0;
inline constexpr int vhost_not_found = 2014;   // ERROR_RTMP_VHOST_NOT_FOUND
inline constexpr int stream_not_found = 2048;  // ERROR_RTMP_STREAM_NOT_FOUND
inline constexpr int client_not_found = 2049;  // ERROR_RTMP_CLIENT_NOT_FOUND
inline constexpr int bad_request = 400;
inline constexpr int not_found = 404;
inline constexpr int method_not_allowed = 405;
inline constexpr int payload_too_large = 413;
inline constexpr int uri_too_long = 414;
inline constexpr int internal = 500;
}  // namespace code

// The HTTP status for an error code. SRS answers "not found" codes with HTTP 200; we answer 404 so
// that generic HTTP clients see the failure too (ApiOptions::srs_error_status restores SRS's 200).
// Codes in 400..599 map to themselves; 0 maps to 200; anything unknown is a server error (500).
// srs_error_status: SRS's own mapping, where every application code (>= 1000) travels in HTTP 200.
int http_status_for_code(int api_code, bool srs_error_status = false);

// Convenience: builds an Error whose code is one of the codes above.
inline Error api_error(int api_code, std::string message) {
  const ErrorReason reason = api_code == code::bad_request         ? ErrorReason::invalid
                             : api_code == code::payload_too_large ? ErrorReason::too_large
                             : api_code == code::internal          ? ErrorReason::internal
                                                                   : ErrorReason::not_found;
  return Error{std::move(message), reason, "api", api_code};
}

}  // namespace estuary::api
