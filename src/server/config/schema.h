// Owns: the server config schema — every known [section] and key, its type and allowed values,
// and where it lives in Config. The file loader and the environment overrides both go through
// it, so a key accepted in one place is accepted (and checked the same way) in the other.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "server/config/config.h"

namespace estuary::config {

enum class ValueType {
  boolean,     // "true" | "false"
  integer,     // decimal, within [min, max]
  choice,      // one of choices
  ip_address,  // IPv4 or IPv6 literal (a listening address)
  text,        // any string (may be empty)
  url_list,    // space-separated http:// or https:// URLs (may be empty)
  ip_rules,    // space-separated "all", IP literals or CIDR blocks (may be empty)
  directory,   // path of an existing directory, or empty
};

struct KeySpec {
  const char* section;
  const char* key;
  ValueType type;
  int min = 0;  // integer only
  int max = 0;
  std::span<const char* const> choices;  // choice only
  const char* help;                      // one line, as in conf/estuary.conf
  // Exactly one of these is set, matching type (boolean / integer / the string types).
  bool* (*bool_field)(Config&) = nullptr;
  int* (*int_field)(Config&) = nullptr;
  std::string* (*string_field)(Config&) = nullptr;
};

// All sections, in the order of Config's members: server rtmp http api rtsp fanout bus outputs hooks
// security.
std::span<const char* const> schema_sections();
// True for sections that may also appear per app as [SECTION:APP] (hooks, security, srt).
bool is_per_app_section(std::string_view section);
// All keys, grouped by section in the same order.
std::span<const KeySpec> schema_keys();

bool is_schema_section(std::string_view section);
const KeySpec* find_key(std::string_view section, std::string_view key);

// Parses text (already unescaped) according to spec and stores it in config. The error message
// is the bare problem (e.g. `value "abc" is not an integer`); callers add the location.
Status apply_value(const KeySpec& spec, std::string_view text, Config& config);

// The value of spec's key in config, formatted as it would be written in the config file.
std::string format_value(const KeySpec& spec, const Config& config);

}  // namespace estuary::config
