// Owns: config::load — built-in defaults, then the server config file, then ESTUARY_* environment
// overrides, then cross-key checks, then pipelines.d. Pure: it reads only its arguments and the
// files they name, and keeps no state, so a SIGHUP reload can build a new Config and keep the
// old one when this returns an error.
#include "server/config/config.h"

#include <glib.h>

#include <map>
#include <utility>

#include "server/config/key_file_scanner.h"
#include "server/config/pipelines_dir.h"
#include "server/config/schema.h"

namespace estuary::config {
namespace {

constexpr std::string_view kEnvPrefix = "ESTUARY_";

// Where each key's current value came from ("<file>:<line>: " or "environment NAME: "), so a
// check that involves two keys can point at the one the user set.
using Origins = std::map<const KeySpec*, std::string>;

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = g_ascii_toupper(c);
  return out;
}

// A group named [SECTION:APP]: SECTION a per-app section and APP a valid app name.
bool split_app_group(const std::string& name, std::string* section, std::string* app) {
  size_t colon = name.find(':');
  if (colon == std::string::npos) return false;
  *section = name.substr(0, colon);
  *app = name.substr(colon + 1);
  return true;
}

Status apply_file(const std::string& path, Config& config, Origins& origins, std::vector<ScannedGroup>* app_groups) {
  Result<ScannedFile> scanned = scan_key_file_path(path);
  if (!scanned) return scanned.error();
  for (const ScannedGroup& group : scanned->groups) {
    std::string base, app;
    if (split_app_group(group.name, &base, &app)) {
      if (!is_per_app_section(base) || !is_valid_name_component(app))
        return Error{location(path, group.line) + "unknown group [" + group.name +
                     "] (per-app groups are [hooks:APP] and [security:APP] with a valid app name)"};
      app_groups->push_back(group);  // applied over the final defaults, after the environment
      continue;
    }
    if (!is_schema_section(group.name)) {
      std::string known;
      for (const char* s : schema_sections()) known += std::string(known.empty() ? "" : " ") + "[" + s + "]";
      return Error{location(path, group.line) + "unknown group [" + group.name + "] (known: " + known + ")"};
    }
    for (const ScannedEntry& entry : group.entries) {
      std::string where = location(path, entry.line);
      const KeySpec* spec = find_key(group.name, entry.key);
      if (!spec) return Error{where + "[" + group.name + "] unknown key \"" + entry.key + "\""};
      std::string prefix = where + "[" + group.name + "] " + entry.key + ": ";
      Result<std::string> value = unescape_value(entry.raw_value);
      if (!value) return Error{prefix + value.error().message};
      Status st = apply_value(*spec, *value, config);
      if (!st) return Error{prefix + st.error().message};
      origins[spec] = where;
    }
  }
  return ok_status();
}

// ESTUARY_<SECTION>_<KEY>. Variables whose next word is not a section belong to someone else
// (ESTUARY_SOURCE_ROOT, ESTUARY_BUILD_ROOT for the tests); a known section with an unknown key
// is a typo and an error.
Status apply_environment(const Environment& env, Config& config, Origins& origins) {
  for (const auto& [name, value] : env) {
    if (std::string_view(name).substr(0, kEnvPrefix.size()) != kEnvPrefix) continue;
    std::string_view rest = std::string_view(name).substr(kEnvPrefix.size());
    for (const char* section : schema_sections()) {
      std::string section_prefix = upper(section) + "_";
      if (rest.substr(0, section_prefix.size()) != section_prefix) continue;
      std::string_view key = rest.substr(section_prefix.size());
      std::string where = "environment " + name + ": ";
      const KeySpec* spec = nullptr;
      for (const KeySpec& candidate : schema_keys()) {
        if (std::string_view(candidate.section) == section && upper(candidate.key) == key) spec = &candidate;
      }
      if (!spec) {
        return Error{where + "unknown key \"" + std::string(key) + "\" in section [" + section + "]"};
      }
      // Environment values are taken literally: no key-file escapes.
      Status st = apply_value(*spec, value, config);
      if (!st) return Error{where + st.error().message};
      origins[spec] = where;
      break;
    }
  }
  return ok_status();
}

// [hooks:APP] / [security:APP]: each app gets the defaults with its group's keys applied.
Status apply_app_groups(const std::string& path, const std::vector<ScannedGroup>& groups, Config& config) {
  for (const ScannedGroup& group : groups) {
    std::string base, app;
    split_app_group(group.name, &base, &app);
    Config scratch;
    scratch.hooks = config.hooks;
    scratch.security = config.security;
    for (const ScannedEntry& entry : group.entries) {
      std::string where = location(path, entry.line);
      const KeySpec* spec = find_key(base, entry.key);
      if (!spec) return Error{where + "[" + group.name + "] unknown key \"" + entry.key + "\""};
      std::string prefix = where + "[" + group.name + "] " + entry.key + ": ";
      Result<std::string> value = unescape_value(entry.raw_value);
      if (!value) return Error{prefix + value.error().message};
      Status st = apply_value(*spec, *value, scratch);
      if (!st) return Error{prefix + st.error().message};
    }
    if (base == "hooks")
      config.app_hooks[app] = scratch.hooks;
    else
      config.app_security[app] = scratch.security;
  }
  return ok_status();
}

Status check_cross_keys(const Config& config, const Origins& origins) {
  if ((config.api.auth == "basic" && (config.api.username.empty() || config.api.password.empty())) ||
      (config.api.auth == "bearer" && config.api.token.empty())) {
    auto it = origins.find(find_key("api", "auth"));
    std::string where = it != origins.end() ? it->second : "";
    return Error{where + "[api] auth = " + config.api.auth +
                 (config.api.auth == "basic" ? " needs username and password" : " needs token")};
  }
  if (config.outputs.restart_backoff_max_ms < config.outputs.restart_backoff_ms) {
    const KeySpec* max_key = find_key("outputs", "restart_backoff_max_ms");
    const KeySpec* min_key = find_key("outputs", "restart_backoff_ms");
    auto it = origins.find(max_key);
    if (it == origins.end()) it = origins.find(min_key);
    std::string where = it != origins.end() ? it->second : "";
    return Error{where + "[outputs] restart_backoff_max_ms (" + std::to_string(config.outputs.restart_backoff_max_ms) +
                 ") is less than restart_backoff_ms (" + std::to_string(config.outputs.restart_backoff_ms) + ")"};
  }
  return ok_status();
}

}  // namespace

const HooksSection& Config::hooks_for(const std::string& app) const {
  auto it = app_hooks.find(app);
  return it == app_hooks.end() ? hooks : it->second;
}

const SecuritySection& Config::security_for(const std::string& app) const {
  auto it = app_security.find(app);
  return it == app_security.end() ? security : it->second;
}

const PipelineSpec* Config::find_output(const std::string& output, const std::string& app_stream) const {
  for (const PipelineSpec& spec : pipelines) {
    if (spec.output == output && spec.matches(app_stream)) return &spec;
  }
  return nullptr;
}

Environment current_environment() {
  Environment env;
  gchar** environ = g_get_environ();
  for (gchar** entry = environ; entry && *entry; ++entry) {
    std::string_view text(*entry);
    size_t eq = text.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  g_strfreev(environ);
  return env;
}

Result<Config> load(const std::string& config_path, const std::string& pipelines_dir, const Environment& env) {
  Config config;
  Origins origins;
  std::vector<ScannedGroup> app_groups;
  if (!config_path.empty()) {
    Status st = apply_file(config_path, config, origins, &app_groups);
    if (!st) return st.error();
    config.source_file = config_path;
  }
  Status st = apply_environment(env, config, origins);
  if (!st) return st.error();
  st = apply_app_groups(config_path, app_groups, config);
  if (!st) return st.error();
  st = check_cross_keys(config, origins);
  if (!st) return st.error();
  if (!pipelines_dir.empty()) {
    Result<std::vector<PipelineSpec>> pipelines = load_pipelines_dir(pipelines_dir);
    if (!pipelines) return pipelines.error();
    config.pipelines = std::move(*pipelines);
    config.pipelines_dir = pipelines_dir;
  }
  return config;
}

}  // namespace estuary::config
