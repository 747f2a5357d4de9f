// Owns: check_request_framing (see http_framing.h).
#include "server/net/http_framing.h"

#include <glib.h>

namespace estuary::server {
namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return s.substr(b, e - b);
}

bool name_is_token(const std::string& name) {
  if (name.empty()) return false;
  for (unsigned char c : name)
    if (c <= 0x20 || c >= 0x7f || c == ':') return false;
  return true;
}

FramingVerdict bad(std::string reason) { return FramingVerdict{400, std::move(reason)}; }

}  // namespace

std::optional<FramingVerdict> check_request_framing(const HeaderFields& fields, bool http_1_0,
                                                    uint64_t max_body_bytes) {
  int content_lengths = 0, transfer_encodings = 0;
  std::string content_length, transfer_encoding;
  for (const auto& [name, value] : fields) {
    if (!name_is_token(name)) return bad("malformed header field name");
    if (g_ascii_strcasecmp(name.c_str(), "Content-Length") == 0) {
      ++content_lengths;
      content_length = trim(value);
    } else if (g_ascii_strcasecmp(name.c_str(), "Transfer-Encoding") == 0) {
      ++transfer_encodings;
      transfer_encoding = trim(value);
    }
  }
  if (transfer_encodings > 0 && content_lengths > 0) return bad("both Content-Length and Transfer-Encoding");
  if (content_lengths > 1) return bad("more than one Content-Length");
  if (transfer_encodings > 1) return bad("more than one Transfer-Encoding");
  if (transfer_encodings == 1) {
    if (http_1_0) return bad("Transfer-Encoding in an HTTP/1.0 request");
    if (g_ascii_strcasecmp(transfer_encoding.c_str(), "chunked") != 0)
      return bad("Transfer-Encoding other than chunked");
    return std::nullopt;  // chunked: its size is bounded while it is read (body deadline and cap)
  }
  if (content_lengths == 1) {
    if (content_length.empty() || content_length.size() > 19) return bad("Content-Length is not a decimal number");
    uint64_t n = 0;
    for (char c : content_length) {
      if (c < '0' || c > '9') return bad("Content-Length is not a decimal number");
      n = n * 10 + uint64_t(c - '0');
    }
    if (n > max_body_bytes)
      return FramingVerdict{413, "request body larger than " + std::to_string(max_body_bytes) + " bytes"};
  }
  return std::nullopt;
}

}  // namespace estuary::server
