// Owns: tests of the server config file, environment overrides and the shipped conf/estuary.conf.
#include <glib.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "server/config/config.h"
#include "server/config/key_file_scanner.h"
#include "server/config/schema.h"
#include "temp_dir.h"

namespace estuary::config {
namespace {

using testing::TempDir;

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// Loads text as a config file; returns the result and the file's path through *path.
Result<Config> load_text(const TempDir& dir, const std::string& text, const Environment& env = {},
                         std::string* path = nullptr) {
  std::string file = dir.write("estuary.conf", text);
  if (path) *path = file;
  return load(file, "", env);
}

// Expects loading text to fail with exactly "<file>:<line>: <problem>".
void expect_error(const std::string& text, int line, const std::string& problem) {
  TempDir dir;
  std::string path;
  auto r = load_text(dir, text, {}, &path);
  ASSERT_FALSE(r.ok()) << "loaded without error:\n" << text;
  EXPECT_EQ(r.error().message, path + ":" + std::to_string(line) + ": " + problem);
}

void expect_sections_default(const Config& c) {
  Config d;
  EXPECT_EQ(c.server, d.server);
  EXPECT_EQ(c.rtmp, d.rtmp);
  EXPECT_EQ(c.http, d.http);
  EXPECT_EQ(c.api, d.api);
  EXPECT_EQ(c.fanout, d.fanout);
  EXPECT_EQ(c.bus, d.bus);
  EXPECT_EQ(c.outputs, d.outputs);
}

TEST(ConfigLoad, DefaultsWithoutFile) {
  auto r = load("", "", {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, Config{});
  EXPECT_EQ(r->rtmp.port, 1935);
  EXPECT_EQ(r->http.port, 8080);
  EXPECT_EQ(r->api.port, 1985);
  EXPECT_EQ(r->server.log_level, "info");
  EXPECT_EQ(r->source_file, "");
  EXPECT_TRUE(r->pipelines.empty());
  EXPECT_EQ(r->pipelines_dir, "");
}

TEST(ConfigLoad, FileValues) {
  TempDir dir;
  std::string path;
  auto r = load_text(dir,
                     "# test\n"
                     "[server]\n"
                     "log_level = debug\n"
                     "[rtmp]\n"
                     "enabled = false\n"
                     "address = 127.0.0.1\n"
                     "port = 19350\n"
                     "chunk_size=4096\n"
                     "takeover_idle_ms = 0\n"
                     "[http]\n"
                     "cors = false\n"
                     "address = ::\n"
                     "port = +8081   \n"
                     "[fanout]\n"
                     "threads = 4\n"
                     "[outputs]\n"
                     "restart_backoff_ms = 100\n"
                     "restart_backoff_max_ms = 100\n",
                     {}, &path);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->server.log_level, "debug");
  EXPECT_FALSE(r->rtmp.enabled);
  EXPECT_EQ(r->rtmp.address, "127.0.0.1");
  EXPECT_EQ(r->rtmp.port, 19350);
  EXPECT_EQ(r->rtmp.chunk_size, 4096);
  EXPECT_EQ(r->rtmp.takeover_idle_ms, 0);
  EXPECT_EQ(r->rtmp.publish_timeout_ms, 5000);  // untouched keys keep their defaults
  EXPECT_FALSE(r->http.cors);
  EXPECT_EQ(r->http.address, "::");
  EXPECT_EQ(r->http.port, 8081);
  EXPECT_EQ(r->fanout.threads, 4);
  EXPECT_EQ(r->outputs.restart_backoff_ms, 100);
  EXPECT_EQ(r->api, ApiSection{});
  EXPECT_EQ(r->source_file, path);
}

TEST(ConfigLoad, EmptyFileIsDefaults) {
  TempDir dir;
  auto r = load_text(dir, "");
  ASSERT_TRUE(r.ok()) << r.error().message;
  expect_sections_default(*r);
}

TEST(ConfigLoad, MissingFileIsAnError) {
  auto r = load("/nonexistent/estuary.conf", "", {});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(starts_with(r.error().message, "/nonexistent/estuary.conf: cannot read")) << r.error().message;
}

TEST(ConfigErrors, BadIntegerExactMessage) {
  std::string text;
  for (int i = 1; i <= 10; ++i) text += "# padding\n";
  text += "[rtmp]\nport = abc\n";  // line 12
  expect_error(text, 12, "[rtmp] port: value \"abc\" is not an integer");
}

TEST(ConfigErrors, NotIntegers) {
  expect_error("[rtmp]\nchunk_size = 12k\n", 2, "[rtmp] chunk_size: value \"12k\" is not an integer");
  expect_error("[rtmp]\nchunk_size = 0x100\n", 2, "[rtmp] chunk_size: value \"0x100\" is not an integer");
  expect_error("[rtmp]\nchunk_size = 1.5\n", 2, "[rtmp] chunk_size: value \"1.5\" is not an integer");
  expect_error("[rtmp]\nchunk_size =\n", 2, "[rtmp] chunk_size: value \"\" is not an integer");
  expect_error("[rtmp]\nchunk_size = 4096 # bytes\n", 2, "[rtmp] chunk_size: value \"4096 # bytes\" is not an integer");
}

TEST(ConfigErrors, OutOfRange) {
  expect_error("[http]\n\nport = 70000\n", 3, "[http] port: value 70000 is out of range 1..65535");
  expect_error("[api]\nport = 0\n", 2, "[api] port: value 0 is out of range 1..65535");
  expect_error("[rtmp]\nchunk_size = 127\n", 2, "[rtmp] chunk_size: value 127 is out of range 128..65536");
  expect_error("[rtmp]\npublish_timeout_ms = 0\n", 2, "[rtmp] publish_timeout_ms: value 0 is out of range 1..3600000");
  expect_error("[fanout]\nthreads = -1\n", 2, "[fanout] threads: value -1 is out of range 0..1024");
  expect_error("[rtmp]\nport = 99999999999999999999\n", 2,
               "[rtmp] port: value 99999999999999999999 is out of range 1..65535");
}

TEST(ConfigErrors, UnknownKey) {
  expect_error("[rtmp]\nport = 1935\n\n# typo below\nprot = 1936\n", 5, "[rtmp] unknown key \"prot\"");
  // A key that exists, but in another section.
  expect_error("[http]\nchunk_size = 4096\n", 2, "[http] unknown key \"chunk_size\"");
}

TEST(ConfigErrors, UnknownGroup) {
  expect_error("[rtmp]\nport = 1935\n[rtmpx]\n", 3,
               "unknown group [rtmpx] (known: [server] [rtmp] [http] [api] [rtsp] [fanout] [bus] [outputs] [play] "
               "[hooks] [security] [hls] [dvr] [tls] [rtc] [srt] [pipelines] [encoders] [cluster] [source NAME] "
               "[forward NAME])");
}

TEST(ConfigErrors, ClusterKeysAreChecked) {
  expect_error("[cluster]\nregistry = redis://host\n", 2,
               "[cluster] registry: \"redis://host\" is not redis://HOST:PORT[/DB]");
  expect_error("[cluster]\nttl_ms = 1000\n", 2, "[cluster] ttl_ms: 1000 must be more than heartbeat_ms (1000)");
  expect_error("[cluster]\norigins = rtmp://a:1935 http://b:1\n", 2,
               "[cluster] origins: \"http://b:1\" is not rtmp://HOST:PORT or srt://HOST:PORT");
  expect_error("[cluster]\nmode = edge\n", 2, "[cluster] mode: edge needs a registry or an origins list");
  expect_error("[play]\nwait_ms = -1\n", 2, "[play] wait_ms: value -1 is out of range 0..3600000");
}

// [encoders] device must name a CUDA index or a render node; [pipelines] plugins_dir must exist.
TEST(ConfigErrors, EncodersDeviceAndPluginsDir) {
  expect_error("[encoders]\nprefer = vah264enc\ndevice = gpu1\n", 3,
               "[encoders] device \"gpu1\" is neither a CUDA device index (0, 1, ...) nor a /dev/dri/renderD<N> path");
  expect_error("[pipelines]\nplugins_dir = /nonexistent/estuary-plugins\n", 2,
               "[pipelines] plugins_dir /nonexistent/estuary-plugins: not a directory");
}

TEST(ConfigErrors, TlsFiles) {
  expect_error("[tls]\nkey_file = /x.key\n", 2, "[tls] key_file is set but cert_file is not");
  TempDir dir;
  std::string path;
  auto r = load_text(dir, "[rtmp]\n[tls]\n\ncert_file = /nonexistent/cert.pem\n", {}, &path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind(path + ":4: [tls] certificate /nonexistent/cert.pem: cannot read", 0), 0u)
      << r.error().message;
  // Defaults: TLS ports are set but nothing listens without a certificate.
  Config d;
  EXPECT_TRUE(d.tls.cert_file.empty());
  EXPECT_EQ(d.api.https_port, 1990);
  EXPECT_EQ(d.http.https_port, 8088);
  EXPECT_EQ(d.rtmp.rtmps_port, 1443);
}

TEST(ConfigErrors, DuplicateKey) {
  expect_error("[rtmp]\nport = 1935\nchunk_size = 4096\nport = 1936\n", 4,
               "[rtmp] port: duplicate key (first set on line 2)");
}

TEST(ConfigErrors, DuplicateGroup) {
  expect_error("[rtmp]\nport = 1935\n[http]\n[rtmp]\n", 4, "duplicate group [rtmp] (first on line 1)");
}

TEST(ConfigErrors, SyntaxError) {
  TempDir dir;
  std::string path;
  auto r = load_text(dir, "[rtmp]\nport = 1935\nport 1936\n", {}, &path);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(starts_with(r.error().message, path + ":3: syntax error")) << r.error().message;
}

TEST(ConfigErrors, BadBooleanChoiceAddress) {
  expect_error("[http]\ncors = yes\n", 2, "[http] cors: value \"yes\" is not a boolean (true or false)");
  expect_error("[server]\nlog_level = verbose\n", 2,
               "[server] log_level: value \"verbose\" is not one of debug, info, warn, error");
  TempDir dir;
  std::string path;
  auto r = load_text(dir, "[api]\naddress = localhost\n", {}, &path);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(starts_with(r.error().message, path + ":2: [api] address: value \"localhost\" is not an IPv4 or IPv6"))
      << r.error().message;
}

TEST(ConfigErrors, BadEscape) {
  TempDir dir;
  std::string path;
  auto r = load_text(dir, "[api]\naddress = \\q\n", {}, &path);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(starts_with(r.error().message, path + ":2: [api] address: invalid escape sequence \"\\q\""))
      << r.error().message;
}

TEST(ConfigErrors, BackoffCapBelowStart) {
  expect_error("[outputs]\nrestart_backoff_ms = 2000\nrestart_backoff_max_ms = 1000\n", 3,
               "[outputs] restart_backoff_max_ms (1000) is less than restart_backoff_ms (2000)");
  // Only the start was set: the error points at it.
  expect_error("[outputs]\nrestart_backoff_ms = 20000\n", 2,
               "[outputs] restart_backoff_max_ms (10000) is less than restart_backoff_ms (20000)");
}

TEST(ConfigEnv, OverridesBeatFileValues) {
  TempDir dir;
  auto r = load_text(dir, "[rtmp]\nport = 1936\nchunk_size = 4096\n[http]\ncors = true\n",
                     {{"ESTUARY_RTMP_PORT", "19350"},
                      {"ESTUARY_HTTP_CORS", "false"},
                      {"ESTUARY_SERVER_LOG_LEVEL", "warn"},
                      {"ESTUARY_API_ADDRESS", "127.0.0.1"}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->rtmp.port, 19350);
  EXPECT_EQ(r->rtmp.chunk_size, 4096);  // from the file, not overridden
  EXPECT_FALSE(r->http.cors);
  EXPECT_EQ(r->server.log_level, "warn");
  EXPECT_EQ(r->api.address, "127.0.0.1");
}

TEST(ConfigEnv, OverridesDefaultsWithoutFile) {
  auto r = load("", "", {{"ESTUARY_FANOUT_WRITE_BATCH_MS", "5"}, {"ESTUARY_OUTPUTS_LINGER_MS", "0"}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->fanout.write_batch_ms, 5);
  EXPECT_EQ(r->outputs.linger_ms, 0);
  EXPECT_EQ(r->source_file, "");
}

TEST(ConfigEnv, InvalidValueNamesVariable) {
  auto r = load("", "", {{"ESTUARY_RTMP_PORT", "abc"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "environment ESTUARY_RTMP_PORT: value \"abc\" is not an integer");
  r = load("", "", {{"ESTUARY_HTTP_PORT", "65536"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "environment ESTUARY_HTTP_PORT: value 65536 is out of range 1..65535");
  r = load("", "", {{"ESTUARY_HTTP_CORS", "0"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "environment ESTUARY_HTTP_CORS: value \"0\" is not a boolean (true or false)");
}

TEST(ConfigEnv, UnknownKeyInKnownSectionIsAnError) {
  auto r = load("", "", {{"ESTUARY_RTMP_PROT", "1935"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "environment ESTUARY_RTMP_PROT: unknown key \"PROT\" in section [rtmp]");
}

TEST(ConfigEnv, ForeignVariablesAreIgnored) {
  auto r = load("", "",
                {{"ESTUARY_SOURCE_ROOT", "/src"},
                 {"ESTUARY_BUILD_ROOT", "/build"},
                 {"ESTUARY", "x"},
                 {"ESTUARY_", "x"},
                 {"ESTUARY_RTMPX_PORT", "x"},  // "RTMPX" is not a section
                 {"ESTUARY_RTMP", "x"},        // no key part
                 {"XESTUARY_RTMP_PORT", "x"},
                 {"HOME", "/root"}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  expect_sections_default(*r);
}

TEST(ConfigEnv, EnvironmentErrorForCrossKeyCheck) {
  auto r = load("", "", {{"ESTUARY_OUTPUTS_RESTART_BACKOFF_MAX_MS", "100"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "environment ESTUARY_OUTPUTS_RESTART_BACKOFF_MAX_MS: [outputs] restart_backoff_max_ms (100) is less than "
            "restart_backoff_ms (500)");
}

TEST(ConfigEnv, CurrentEnvironment) {
  g_setenv("ESTUARY_CONFIG_UNIT_PROBE", "a=b", TRUE);
  Environment env = current_environment();
  g_unsetenv("ESTUARY_CONFIG_UNIT_PROBE");
  ASSERT_EQ(env.count("ESTUARY_CONFIG_UNIT_PROBE"), 1u);
  EXPECT_EQ(env["ESTUARY_CONFIG_UNIT_PROBE"], "a=b");
  // The test harness sets ESTUARY_SOURCE_ROOT / ESTUARY_BUILD_ROOT; they must not break loading.
  auto r = load("", "", env);
  ASSERT_TRUE(r.ok()) << r.error().message;
}

TEST(ConfigLoad, ReloadIsPure) {
  // Loading twice from the same inputs gives equal results, and a failed load leaves nothing
  // behind that changes the next one (SIGHUP keeps the old Config on error).
  TempDir dir;
  std::string good = dir.write("good.conf", "[rtmp]\nport = 2000\n");
  std::string bad = dir.write("bad.conf", "[rtmp]\nport = x\n");
  auto first = load(good, "", {});
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(load(bad, "", {}).ok());
  auto second = load(good, "", {});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
}

std::string shipped_config_path() {
  const char* root = g_getenv("ESTUARY_SOURCE_ROOT");
  return root ? std::string(root) + "/conf/estuary.conf" : "";
}

TEST(ShippedConfig, LoadsToDefaults) {
  std::string path = shipped_config_path();
  ASSERT_FALSE(path.empty()) << "ESTUARY_SOURCE_ROOT is not set (run through meson test)";
  auto r = load(path, "", {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  expect_sections_default(*r);
  EXPECT_EQ(r->source_file, path);
}

TEST(ShippedConfig, DocumentsEveryKey) {
  std::string path = shipped_config_path();
  ASSERT_FALSE(path.empty()) << "ESTUARY_SOURCE_ROOT is not set (run through meson test)";
  auto scanned = scan_key_file_path(path);
  ASSERT_TRUE(scanned.ok()) << scanned.error().message;
  gchar* contents = nullptr;
  ASSERT_TRUE(g_file_get_contents(path.c_str(), &contents, nullptr, nullptr));
  gchar** lines = g_strsplit(contents, "\n", -1);
  g_free(contents);
  std::set<std::string> present;
  for (const auto& group : scanned->groups) {
    for (const auto& entry : group.entries) {
      present.insert(group.name + "." + entry.key);
      // Each key is documented by the comment line right above it.
      ASSERT_GE(entry.line, 2);
      EXPECT_EQ(lines[entry.line - 2][0], '#') << "no comment above " << group.name << "." << entry.key;
    }
  }
  g_strfreev(lines);
  for (const KeySpec& spec : schema_keys()) {
    std::string name = std::string(spec.section) + "." + spec.key;
    EXPECT_EQ(present.count(name), 1u) << "conf/estuary.conf does not set " << name;
  }
  EXPECT_EQ(present.size(), schema_keys().size());
}

TEST(Schema, EveryKeyRoundTripsItsDefault) {
  // format_value(default) parses back to the default: the table and config.h agree on types.
  Config defaults;
  for (const KeySpec& spec : schema_keys()) {
    Config c;
    Status st = apply_value(spec, format_value(spec, defaults), c);
    ASSERT_TRUE(st.ok()) << spec.section << "." << spec.key << ": " << st.error().message;
    EXPECT_EQ(c, defaults) << spec.section << "." << spec.key;
  }
}

}  // namespace
}  // namespace estuary::config

namespace estuary::config {
namespace {

TEST(ConfigOutputs, HlsAndDvrKeys) {
  TempDir dir;
  auto r = load_text(dir,
                     "[hls]\nenabled = false\ntarget_duration_s = 4\nplaylist_length = 6\ndispose_s = 0\n"
                     "directory = /var/hls\ndisabled_apps = test vip\n"
                     "[dvr]\nenabled = true\nmatch = live/*\nformat = mp4\nplan = segment\nsegment_s = 60\n"
                     "path = /rec/[app]/[stream]-[2006][01][02]\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->hls.enabled);
  EXPECT_EQ(r->hls.target_duration_s, 4);
  EXPECT_EQ(r->hls.playlist_length, 6);
  EXPECT_EQ(r->hls.dispose_s, 0);
  EXPECT_EQ(r->hls.directory, "/var/hls");
  EXPECT_EQ(r->hls.disabled_apps, "test vip");
  EXPECT_TRUE(r->dvr.enabled);
  EXPECT_EQ(r->dvr.match, "live/*");
  EXPECT_EQ(r->dvr.format, "mp4");
  EXPECT_EQ(r->dvr.plan, "segment");
  EXPECT_EQ(r->dvr.segment_s, 60);
  EXPECT_EQ(r->dvr.path, "/rec/[app]/[stream]-[2006][01][02]");
  Config d;
  EXPECT_TRUE(d.hls.enabled);
  EXPECT_EQ(d.hls.target_duration_s, 2);
  EXPECT_EQ(d.hls.playlist_length, 5);
  EXPECT_FALSE(d.dvr.enabled);
}

TEST(ConfigOutputs, HlsAndDvrErrors) {
  expect_error("[dvr]\nformat = avi\n", 2, "[dvr] format: value \"avi\" is not one of flv, ts, mp4");
  expect_error("[hls]\ntarget_duration_s = 0\n", 2, "[hls] target_duration_s: value 0 is out of range 1..60");
}

}  // namespace
}  // namespace estuary::config
