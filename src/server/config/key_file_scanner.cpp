// Owns: the line-aware GLib key file scanner (see key_file_scanner.h for the accepted syntax).
#include "server/config/key_file_scanner.h"

#include <glib.h>

#include <map>

#include "common/gobject_ptr.h"

namespace estuary::config {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view strip_leading(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  return s;
}

std::string_view strip_trailing(std::string_view s) {
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// GKeyFile's rule: not empty, no '[' ']' or control characters.
bool valid_group_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (c == '[' || c == ']' || g_ascii_iscntrl(c)) return false;
  }
  return true;
}

// Stricter than GKeyFile (which accepts "key[locale]"): no locale keys exist in our schema, and
// rejecting brackets here keeps every scanned key acceptable to g_key_file_set_value.
bool valid_key_name(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    if (c == '[' || c == ']' || c == '=' || g_ascii_iscntrl(c)) return false;
  }
  return true;
}

// A value continues on the next line when it ends in an odd number of backslashes: "\\" at the
// end is an escaped backslash, not a continuation.
bool ends_with_continuation(std::string_view value) {
  size_t n = 0;
  while (n < value.size() && value[value.size() - 1 - n] == '\\') ++n;
  return n % 2 == 1;
}

Error syntax_error(const std::string& path, int line, const std::string& problem) {
  return Error{location(path, line) + problem};
}

}  // namespace

std::string location(const std::string& path, int line) { return path + ":" + std::to_string(line) + ": "; }

Result<ScannedFile> scan_key_file(const std::string& path, std::string_view text) {
  ScannedFile out;
  out.path = path;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark

  std::map<std::string, int> group_lines;  // group name -> header line
  std::map<std::string, int> key_lines;    // key -> line, within the current group
  ScannedEntry* continuing = nullptr;      // entry whose value continues on the next line
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    std::string_view line = text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? text.size() : eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\0') != std::string_view::npos) return syntax_error(path, line_no, "line contains a NUL byte");

    if (continuing) {
      std::string_view more = strip_leading(line);
      continuing->raw_value += ' ';
      continuing->raw_value.append(more);
      if (ends_with_continuation(more)) {
        continuing->raw_value.pop_back();
      } else {
        continuing = nullptr;
      }
      continue;
    }

    std::string_view body = strip_leading(line);
    if (body.empty() || body.front() == '#') continue;

    if (body.front() == '[') {
      size_t close = body.find(']');
      if (close == std::string_view::npos || !strip_trailing(body.substr(close + 1)).empty()) {
        return syntax_error(path, line_no, "malformed group header (expected \"[name]\" alone on the line)");
      }
      std::string name(body.substr(1, close - 1));
      if (!valid_group_name(name)) return syntax_error(path, line_no, "invalid group name \"" + name + "\"");
      auto [it, inserted] = group_lines.emplace(name, line_no);
      if (!inserted) {
        return syntax_error(path, line_no,
                            "duplicate group [" + name + "] (first on line " + std::to_string(it->second) + ")");
      }
      out.groups.push_back(ScannedGroup{name, line_no, {}});
      key_lines.clear();
      continue;
    }

    size_t eq = body.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return syntax_error(path, line_no,
                          "syntax error: expected \"[group]\", \"key = value\" or a \"#\" comment, got \"" +
                              std::string(strip_trailing(body)) + "\"");
    }
    std::string key(strip_trailing(body.substr(0, eq)));
    if (!valid_key_name(key)) return syntax_error(path, line_no, "invalid key name \"" + key + "\"");
    if (out.groups.empty()) {
      return syntax_error(path, line_no, "key \"" + key + "\" appears before the first [group]");
    }
    ScannedGroup& group = out.groups.back();
    auto [it, inserted] = key_lines.emplace(key, line_no);
    if (!inserted) {
      return syntax_error(
          path, line_no,
          "[" + group.name + "] " + key + ": duplicate key (first set on line " + std::to_string(it->second) + ")");
    }
    std::string_view value = strip_leading(body.substr(eq + 1));
    group.entries.push_back(ScannedEntry{key, std::string(value), line_no});
    if (ends_with_continuation(value)) {
      continuing = &group.entries.back();
      continuing->raw_value.pop_back();
    }
  }
  if (continuing) {
    // The continued line is the last one read; report the key's own line so the user finds it.
    return syntax_error(path, continuing->line,
                        "line continuation ('\\' at end of line) runs past the end of the file");
  }
  return out;
}

Result<ScannedFile> scan_key_file_path(const std::string& path) {
  gchar* contents = nullptr;
  gsize length = 0;
  GError* error = nullptr;
  if (!g_file_get_contents(path.c_str(), &contents, &length, &error)) {
    std::string message = path + ": cannot read: " + (error ? error->message : "unknown error");
    g_clear_error(&error);
    return Error{message};
  }
  GString_ owned(contents);
  return scan_key_file(path, std::string_view(contents, length));
}

Result<std::string> unescape_value(const std::string& raw) {
  // A scratch GKeyFile so the escapes are decoded by GLib itself, not a re-implementation. GLib
  // returns a string *and* an error for a bad escape, with a message naming its scratch key, so
  // the problem is described here instead.
  if (!g_utf8_validate(raw.data(), static_cast<gssize>(raw.size()), nullptr)) return Error{"value is not valid UTF-8"};
  Ref<GKeyFile> key_file = Ref<GKeyFile>::adopt(g_key_file_new());
  g_key_file_set_value(key_file.get(), "g", "k", raw.c_str());
  GError* error = nullptr;
  GString_ value(g_key_file_get_string(key_file.get(), "g", "k", &error));
  if (error || !value.get()) {
    g_clear_error(&error);
    std::string bad = "\\";
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '\\') continue;
      if (i + 1 < raw.size() && std::string_view("sntr\\").find(raw[i + 1]) != std::string_view::npos) {
        ++i;
        continue;
      }
      bad = raw.substr(i, 2);
      break;
    }
    return Error{"invalid escape sequence \"" + bad +
                 "\" (key file escapes: \\s \\n \\t \\r \\\\; write \\\\ for a backslash)"};
  }
  return std::string(value.get());
}

}  // namespace estuary::config
