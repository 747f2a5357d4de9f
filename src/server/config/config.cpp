// Owns: config::load — built-in defaults, then the server config file, then ESTUARY_* environment
// overrides, then cross-key checks, then users' plugins ([pipelines] plugins_dir), then pipelines.d.
// Pure apart from the plugins: it reads only its arguments and the files they name, and keeps no
// state, so a SIGHUP reload can build a new Config and keep the old one when this returns an error
// (a plugin, once loaded into the process registry, stays loaded).
#include "server/config/config.h"

#include <glib.h>

#include <map>
#include <utility>

#include "common/log.h"
#include "pipelines/encoder_select.h"
#include "pipelines/user_plugins.h"
#include "server/config/key_file_scanner.h"
#include "server/config/pipelines_dir.h"
#include "server/config/schema.h"
#include "server/config/tls_files.h"

namespace estuary::config {
namespace {

constexpr std::string_view kEnvPrefix = "ESTUARY_";

SectionsHook& sections_hook() {
  static SectionsHook fn;
  return fn;
}

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
        return Error{
            location(path, group.line) + "unknown group [" + group.name +
            "] (per-app groups are [hooks:APP], [security:APP], [srt:APP] and [dvr:APP] with a valid app name)"};
      app_groups->push_back(group);  // applied over the final defaults, after the environment
      continue;
    }
    if (is_source_or_forward_group(group.name)) {  // [source NAME], [forward NAME]
      Status st = group.name.rfind("source", 0) == 0 ? parse_source_group(path, group, &config.sources)
                                                     : parse_forward_group(path, group, &config.forwards);
      if (!st) return st.error();
      continue;
    }
    if (!is_schema_section(group.name)) {
      std::string known;
      for (const char* s : schema_sections()) known += std::string(known.empty() ? "" : " ") + "[" + s + "]";
      return Error{location(path, group.line) + "unknown group [" + group.name + "] (known: " + known +
                   " [source NAME] [forward NAME])"};
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

// libsrt accepts a passphrase of 10..79 characters (or none) and AES-128/192/256 keys only.
Status check_srt_encryption(const SrtSection& srt) {
  const size_t n = srt.passphrase.size();
  if (n != 0 && (n < 10 || n > 79))
    return Error{"passphrase must be 10..79 characters (it has " + std::to_string(n) + ")"};
  if (srt.pbkeylen != 16 && srt.pbkeylen != 24 && srt.pbkeylen != 32)
    return Error{"pbkeylen must be 16, 24 or 32 (it is " + std::to_string(srt.pbkeylen) + ")"};
  return ok_status();
}

// [hooks:APP] / [security:APP] / [srt:APP] / [dvr:APP]: each app gets the defaults with its group's keys applied.
Status apply_app_groups(const std::string& path, const std::vector<ScannedGroup>& groups, Config& config) {
  for (const ScannedGroup& group : groups) {
    std::string base, app;
    split_app_group(group.name, &base, &app);
    Config scratch;
    scratch.hooks = config.hooks;
    scratch.security = config.security;
    scratch.srt = config.srt;
    scratch.dvr = config.dvr;
    for (const ScannedEntry& entry : group.entries) {
      std::string where = location(path, entry.line);
      const KeySpec* spec = find_key(base, entry.key);
      if (!spec) return Error{where + "[" + group.name + "] unknown key \"" + entry.key + "\""};
      std::string prefix = where + "[" + group.name + "] " + entry.key + ": ";
      // The SRT listener is one socket for every app: only the encryption is chosen per caller.
      if (base == "srt" && entry.key != "passphrase" && entry.key != "pbkeylen")
        return Error{prefix + "cannot be set per app (only passphrase and pbkeylen)"};
      // Recording itself is one [dvr] for every app: only how long an app's files are kept differs.
      if (base == "dvr" && entry.key != "max_age_s" && entry.key != "max_mb")
        return Error{prefix + "cannot be set per app (only max_age_s and max_mb)"};
      Result<std::string> value = unescape_value(entry.raw_value);
      if (!value) return Error{prefix + value.error().message};
      Status st = apply_value(*spec, *value, scratch);
      if (!st) return Error{prefix + st.error().message};
      if (base == "srt") {  // the other key is checked where it was set
        st = check_srt_encryption(scratch.srt);
        if (!st && st.error().message.rfind(entry.key, 0) == 0) return Error{prefix + st.error().message};
      }
    }
    if (base == "hooks")
      config.app_hooks[app] = scratch.hooks;
    else if (base == "srt")
      config.app_srt[app] = scratch.srt;
    else if (base == "dvr")
      config.app_dvr[app] = scratch.dvr;
    else
      config.app_security[app] = scratch.security;
  }
  return ok_status();
}

// A configured certificate must load and be strong: refusing to start beats serving a broken or
// weak TLS endpoint (and a SIGHUP with a bad one keeps the running configuration).
Status check_tls(const Config& config, const Origins& origins) {
  const KeySpec* cert_key = find_key("tls", "cert_file");
  const KeySpec* key_key = find_key("tls", "key_file");
  auto where = [&origins](const KeySpec* k) {
    auto it = origins.find(k);
    return it != origins.end() ? it->second : std::string();
  };
  if (config.tls.cert_file.empty()) {
    if (!config.tls.key_file.empty()) return Error{where(key_key) + "[tls] key_file is set but cert_file is not"};
    return ok_status();
  }
  auto loaded = load_tls_certificate(config.tls.cert_file, config.tls.key_file);
  if (loaded) return ok_status();
  // Point at the key_file line when the key is the problem and the user named it.
  const bool key_problem = loaded.error().message.rfind("private key", 0) == 0 && !config.tls.key_file.empty();
  return Error{where(key_problem ? key_key : cert_key) + "[tls] " + loaded.error().message};
}

// [rtc]: the port range must be a range, interfaces IP literals, the candidate an IP, a host name
// or $VARIABLE (resolved when the server starts).
Status check_rtc(const Config& config, const Origins& origins) {
  auto where = [&origins](const char* key) {
    auto it = origins.find(find_key("rtc", key));
    return it != origins.end() ? it->second : std::string();
  };
  const RtcSection& rtc = config.rtc;
  if (rtc.port_max < rtc.port_min)
    return Error{where("port_max") + "[rtc] port_max (" + std::to_string(rtc.port_max) + ") is less than port_min (" +
                 std::to_string(rtc.port_min) + ")"};
  gchar** parts = g_strsplit_set(rtc.interfaces.c_str(), " \t", -1);
  std::string bad;
  for (gchar** p = parts; *p && bad.empty(); ++p)
    if (**p && !g_hostname_is_ip_address(*p)) bad = *p;
  g_strfreev(parts);
  if (!bad.empty()) return Error{where("interfaces") + "[rtc] interfaces: \"" + bad + "\" is not an IP address"};
  const std::string& c = rtc.candidate;
  bool ok = c.empty() || g_hostname_is_ip_address(c.c_str());
  if (!ok && c[0] == '$') {
    ok = c.size() > 1;
    for (char ch : c.substr(1)) ok = ok && (g_ascii_isalnum(ch) || ch == '_');
  } else if (!ok) {
    ok = c.size() <= 253;
    for (char ch : c) ok = ok && (g_ascii_isalnum(ch) || ch == '-' || ch == '.');
  }
  if (!ok)
    return Error{where("candidate") + "[rtc] candidate: \"" + c + "\" is not an IP address, host name or $VARIABLE"};
  return ok_status();
}

// [cluster]: URLs well formed, TTL above the heartbeat, an edge knows where to pull from.
Status check_cluster(const Config& config, const Origins& origins) {
  const ClusterSection& c = config.cluster;
  auto where = [&](const char* key) {
    auto it = origins.find(find_key("cluster", key));
    return (it != origins.end() ? it->second : std::string()) + "[cluster] " + key + ": ";
  };
  if (c.ttl_ms <= c.heartbeat_ms)
    return Error{where("ttl_ms") + std::to_string(c.ttl_ms) + " must be more than heartbeat_ms (" +
                 std::to_string(c.heartbeat_ms) + ")"};
  if (!c.registry.empty()) {
    const std::string& r = c.registry;
    const size_t host_at = 8;  // after "redis://"
    const size_t colon = r.find(':', host_at);
    bool ok = r.rfind("redis://", 0) == 0 && r.size() > host_at && colon != std::string::npos && colon > host_at;
    if (ok) {
      const size_t slash = r.find('/', colon);
      const std::string port = r.substr(colon + 1, slash == std::string::npos ? std::string::npos : slash - colon - 1);
      const std::string db = slash == std::string::npos ? "0" : r.substr(slash + 1);
      ok = !port.empty() && port.size() <= 5 && !db.empty() && db.size() <= 2;
      for (char ch : port + db) ok = ok && g_ascii_isdigit(ch);
      ok = ok && std::atoi(port.c_str()) >= 1 && std::atoi(port.c_str()) <= 65535;
    }
    if (!ok) return Error{where("registry") + "\"" + r + "\" is not redis://HOST:PORT[/DB]"};
  }
  gchar** list = g_strsplit_set(c.origins.c_str(), " \t", -1);
  std::string bad;
  for (gchar** p = list; *p; ++p) {
    const std::string u = *p;
    if (u.empty()) continue;
    if ((u.rfind("rtmp://", 0) != 0 && u.rfind("srt://", 0) != 0) || u.find(':', 6) == std::string::npos) bad = u;
  }
  g_strfreev(list);
  if (!bad.empty()) return Error{where("origins") + "\"" + bad + "\" is not rtmp://HOST:PORT or srt://HOST:PORT"};
  if (c.mode == "edge" && c.registry.empty() && c.origins.find_first_not_of(" \t") == std::string::npos)
    return Error{where("mode") + "edge needs a registry or an origins list"};
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
  if (Status srt = check_srt_encryption(config.srt); !srt) {
    const bool passphrase = srt.error().message.rfind("passphrase", 0) == 0;
    auto it = origins.find(find_key("srt", passphrase ? "passphrase" : "pbkeylen"));
    return Error{(it != origins.end() ? it->second : std::string()) + "[srt] " + srt.error().message};
  }
  if (std::string problem = pipelines::check_device(config.encoders.device); !problem.empty()) {
    auto it = origins.find(find_key("encoders", "device"));
    return Error{(it != origins.end() ? it->second : std::string()) + "[encoders] " + problem};
  }
  Status tls = check_tls(config, origins);
  if (!tls) return tls;
  Status rtc = check_rtc(config, origins);
  if (!rtc) return rtc;
  return check_cluster(config, origins);
}

}  // namespace

const HooksSection& Config::hooks_for(const std::string& app) const {
  auto it = app_hooks.find(app);
  return it == app_hooks.end() ? hooks : it->second;
}

bool Config::hls_always(const std::string& app) const {
  return hls.always || !hooks_for(app).on_hls.empty() || !hls.directory.empty();
}

const SrtSection& Config::srt_for(const std::string& app) const {
  auto it = app_srt.find(app);
  return it == app_srt.end() ? srt : it->second;
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

void set_sections_hook(SectionsHook fn) { sections_hook() = std::move(fn); }

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
  // Users' plugins before pipelines.d: its launch lines may use their elements.
  if (!config.pipelines_section.plugins_dir.empty()) {
    auto loaded = pipelines::load_plugin_dirs(pipelines::split_plugin_dirs(config.pipelines_section.plugins_dir));
    if (!loaded) {
      auto it = origins.find(find_key("pipelines", "plugins_dir"));
      return Error{(it != origins.end() ? it->second : std::string()) + "[pipelines] " + loaded.error().message,
                   loaded.error().reason, "config"};
    }
    for (const auto& plugin : *loaded)
      log_info("", "", "plugin-load", "plugin " + plugin.name + " from " + plugin.file);
  }
  if (sections_hook()) {
    st = sections_hook()(config);
    if (!st) return st.error();
  }
  if (!pipelines_dir.empty()) {
    Result<std::vector<PipelineSpec>> pipelines = load_pipelines_dir(pipelines_dir);
    if (!pipelines) return pipelines.error();
    config.pipelines = std::move(*pipelines);
    config.pipelines_dir = pipelines_dir;
  }
  return config;
}

}  // namespace estuary::config
