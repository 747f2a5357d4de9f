// Owns: a bounded parser of one HTTP/1.x request head (request line and header fields) as it sits
// in a receive buffer, for connections Estuary serves without libsoup (the LL-HLS fast path).
// Sans-IO: takes bytes, never reads a socket; treats them as hostile: the head is at most
// kMaxRequestHead bytes and kMaxRequestFields fields, lines end in CRLF (a bare LF is tolerated),
// obsolete line folding, control bytes in the request line and field names with whitespace are
// malformed.
// Must not know: libsoup, sockets, routes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <utility>
#include <vector>

namespace estuary {

constexpr size_t kMaxRequestHead = 8192;
constexpr size_t kMaxRequestFields = 64;

struct RequestHead {
  std::string method;                                       // "GET"
  std::string target;                                       // origin-form "/app/stream.m3u8?x=y"
  int minor_version = 1;                                    // HTTP/1.<minor>
  std::vector<std::pair<std::string, std::string>> fields;  // as received (values trimmed of blanks)
  size_t length = 0;                                        // bytes of the head, its final empty line included

  // The value of the first field called name (case-insensitive), or nullptr.
  const std::string* field(std::string_view name) const;
};

enum class HeadParse {
  complete,    // *head filled
  incomplete,  // no end of head yet, and fewer than kMaxRequestHead bytes
  too_large,   // no end of head within kMaxRequestHead bytes, or too many fields (431)
  malformed,   // not an HTTP/1.x request head (400)
};

HeadParse parse_request_head(std::string_view bytes, RequestHead* head);

}  // namespace estuary
