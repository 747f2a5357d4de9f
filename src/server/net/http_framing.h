// Owns: the RFC 9112 section 6.3 framing rules a request must meet before anything reads its body:
// a request whose length could be read two ways (the shapes behind request smuggling) is refused.
// Sans-IO: takes the header fields as received (name, value; repeats kept).
// Must not know: libsoup, sockets, which port the request came to.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace estuary::server {

struct FramingVerdict {
  int status = 0;      // 400 (ambiguous framing) or 413 (body larger than allowed)
  std::string reason;  // for the log and the response body
};

using HeaderFields = std::vector<std::pair<std::string, std::string>>;

// nullopt when the framing is unambiguous and the body (if any) is within max_body_bytes. Refused:
// Transfer-Encoding with Content-Length; more than one Content-Length (even equal); a
// Content-Length that is not 1..19 decimal digits; a Transfer-Encoding other than exactly
// "chunked" (case-insensitive, once); Transfer-Encoding on HTTP/1.0; whitespace or control bytes
// in a field name.
std::optional<FramingVerdict> check_request_framing(const HeaderFields& fields, bool http_1_0, uint64_t max_body_bytes);

}  // namespace estuary::server
