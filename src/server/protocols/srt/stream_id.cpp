// Owns: the SRT stream id parser (see stream_id.h).
#include "server/protocols/srt/stream_id.h"

#include <vector>

#include "common/names.h"

namespace estuary::srt {
namespace {

constexpr std::string_view kPrefix = "#!::";

Error bad(std::string what) {
  return Error{"malformed stream id: " + std::move(what), ErrorReason::invalid, "srt", reject_bad_request};
}

bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

// Values end up in hook bodies and logs: printable ASCII only, and none of the separators that
// would change how the query string splits.
bool is_value_char(char c) { return c > 0x20 && c < 0x7f && c != ',' && c != '&'; }

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t pos = text.find(sep, start);
    out.push_back(text.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

Status check_pair(std::string_view pair) {
  size_t eq = pair.find('=');
  if (pair.empty()) return bad("empty key=value pair");
  if (eq == std::string_view::npos || eq == 0) return bad("\"" + std::string(pair) + "\" is not key=value");
  for (char c : pair.substr(0, eq))
    if (!is_key_char(c)) return bad("bad character in key \"" + std::string(pair.substr(0, eq)) + "\"");
  for (char c : pair.substr(eq + 1))
    if (!is_value_char(c)) return bad("bad character in the value of \"" + std::string(pair.substr(0, eq)) + "\"");
  return ok_status();
}

void append_query(std::string& query, std::string_view pair) {
  if (!query.empty()) query += '&';
  query += pair;
}

// "app/stream" with an optional "?k=v&k2=v2" tail (SRS accepts parameters in the resource too).
Status parse_resource(std::string_view r, StreamId& out) {
  if (!r.empty() && r.front() == '/') r.remove_prefix(1);
  std::string_view path = r, tail;
  if (size_t q = r.find('?'); q != std::string_view::npos) {
    path = r.substr(0, q);
    tail = r.substr(q + 1);
  }
  size_t slash = path.find('/');
  if (slash == std::string_view::npos) return bad("resource \"" + std::string(path) + "\" is not app/stream");
  std::string app(path.substr(0, slash)), stream(path.substr(slash + 1));
  if (!is_valid_name_component(app) || !is_valid_name_component(stream))
    return bad("resource \"" + std::string(path) + "\" is not app/stream (letters, digits, _ . -)");
  out.app = std::move(app);
  out.stream = std::move(stream);
  if (!tail.empty()) {
    for (std::string_view pair : split(tail, '&')) {
      Status st = check_pair(pair);
      if (!st) return st;
      append_query(out.query, pair);
    }
  }
  return ok_status();
}

}  // namespace

const char* mode_name(Mode mode) { return mode == Mode::publish ? "publish" : "request"; }

bool parse_mode(std::string_view text, Mode* out) {
  if (text == "publish") {
    *out = Mode::publish;
    return true;
  }
  if (text == "request" || text == "play") {
    *out = Mode::request;
    return true;
  }
  return false;
}

Result<StreamId> parse_stream_id(std::string_view text, Mode default_mode) {
  if (text.empty()) return bad("empty (set streamid=#!::r=app/stream,m=publish or m=request)");
  if (text.size() > max_stream_id_length) return bad("longer than 512 bytes");
  StreamId id;
  id.mode = default_mode;
  if (text.substr(0, kPrefix.size()) != kPrefix) {
    Status st = parse_resource(text, id);
    if (!st) return st.error();
    return id;
  }
  bool have_r = false, have_m = false, have_h = false;
  std::string extra;  // pairs after r's own query, in order
  for (std::string_view pair : split(text.substr(kPrefix.size()), ',')) {
    if (pair.substr(0, 2) == "r=") {
      if (have_r) return bad("r= given twice");
      have_r = true;
      Status st = parse_resource(pair.substr(2), id);
      if (!st) return st.error();
      continue;
    }
    Status st = check_pair(pair);
    if (!st) return st.error();
    std::string_view key = pair.substr(0, pair.find('='));
    std::string_view value = pair.substr(pair.find('=') + 1);
    if (key == "m") {
      if (have_m) return bad("m= given twice");
      have_m = true;
      if (!parse_mode(value, &id.mode))
        return Error{"unsupported mode m=" + std::string(value) + " (publish or request)", ErrorReason::unsupported,
                     "srt", reject_bad_mode};
    } else if (key == "h") {
      if (have_h) return bad("h= given twice");
      have_h = true;
      id.host = std::string(value);
    } else {
      append_query(extra, pair);
    }
  }
  if (!have_r) return bad("no r=app/stream");
  if (!extra.empty()) append_query(id.query, extra);
  return id;
}

}  // namespace estuary::srt
