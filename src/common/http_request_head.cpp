// Owns: the bounded HTTP/1.x request head parser (see http_request_head.h).
#include "common/http_request_head.h"

#include <glib.h>

namespace estuary {
namespace {

bool is_token_char(char c) {
  return g_ascii_isalnum(c) || (c != 0 && std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "GET /x HTTP/1.1": method token, one space, a target of visible characters, one space, version.
bool parse_request_line(std::string_view line, RequestHead* head) {
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return false;
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return false;
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  for (char c : method)
    if (!is_token_char(c)) return false;
  for (char c : target)
    if (c <= ' ' || c == 0x7f) return false;
  if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || !g_ascii_isdigit(version[7])) return false;
  head->method = std::string(method);
  head->target = std::string(target);
  head->minor_version = version[7] - '0';
  return true;
}

}  // namespace

const std::string* RequestHead::field(std::string_view name) const {
  for (const auto& [n, v] : fields)
    if (n.size() == name.size() && g_ascii_strncasecmp(n.data(), name.data(), n.size()) == 0) return &v;
  return nullptr;
}

HeadParse parse_request_head(std::string_view bytes, RequestHead* head) {
  const std::string_view window = bytes.substr(0, kMaxRequestHead);
  *head = RequestHead{};
  size_t pos = 0;
  bool first = true;
  while (true) {
    const size_t lf = window.find('\n', pos);
    if (lf == std::string_view::npos)
      return window.size() >= kMaxRequestHead ? HeadParse::too_large : HeadParse::incomplete;
    std::string_view line = window.substr(pos, lf - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = lf + 1;
    if (first) {
      if (!parse_request_line(line, head)) return HeadParse::malformed;
      first = false;
      continue;
    }
    if (line.empty()) {
      head->length = pos;
      return HeadParse::complete;
    }
    if (line.front() == ' ' || line.front() == '\t') return HeadParse::malformed;  // obsolete folding
    if (head->fields.size() >= kMaxRequestFields) return HeadParse::too_large;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return HeadParse::malformed;
    const std::string_view name = line.substr(0, colon);
    for (char c : name)
      if (!is_token_char(c)) return HeadParse::malformed;
    const std::string_view value = trim(line.substr(colon + 1));
    for (char c : value)
      if ((static_cast<unsigned char>(c) < ' ' && c != '\t') || c == 0x7f) return HeadParse::malformed;
    head->fields.emplace_back(std::string(name), std::string(value));
  }
}

}  // namespace estuary
