// Owns: the line-aware reader for GLib key files. GKeyFile reports neither line numbers nor
// duplicate keys, so this scanner walks the text itself, keeps the line of every group and key,
// rejects what GKeyFile would reject (and duplicates, which GKeyFile silently merges), and adds
// backslash line continuation. Values stay raw (escaped); unescape_value() decodes them with
// GKeyFile's own rules so the escape syntax is exactly GLib's.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace estuary::config {

struct ScannedEntry {
  std::string key;
  std::string raw_value;  // as written (GKeyFile escapes intact), continuation lines joined
  int line = 0;           // line of the key (first line when continued)
};

struct ScannedGroup {
  std::string name;
  int line = 0;  // line of the [group] header
  std::vector<ScannedEntry> entries;
};

struct ScannedFile {
  std::string path;  // as given; used as the "<file>" part of messages
  std::vector<ScannedGroup> groups;
};

// Syntax (GLib key file, plus continuation):
//   blank lines and lines whose first non-blank character is '#' are ignored;
//   "[name]" starts a group; "key = value" sets a key (value = text after '=', leading blanks
//   removed); a value whose last character is an unescaped '\' continues on the next line: the
//   backslash, the line break and the next line's leading blanks become one space.
// Errors: "<path>:<line>: <problem>" for syntax errors, a key before the first group, a duplicate
// group or a duplicate key in one group.
Result<ScannedFile> scan_key_file(const std::string& path, std::string_view text);

// Reads the file at path and scans it.
Result<ScannedFile> scan_key_file_path(const std::string& path);

// Decodes GKeyFile escapes (\s \n \t \r \\) of a raw value. Error: GLib's message (no location).
Result<std::string> unescape_value(const std::string& raw);

// "<path>:<line>: " prefix used by every located message.
std::string location(const std::string& path, int line);

}  // namespace estuary::config
