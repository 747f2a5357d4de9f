// Owns: tests of [source NAME] and [forward NAME] groups in the server config file: accepted
// forms, defaults, and every refusal located at its file and line.
#include <gtest/gtest.h>

#include <string>

#include "server/config/config.h"
#include "temp_dir.h"

namespace estuary::config {
namespace {

using testing::TempDir;

Result<Config> load_text(const TempDir& dir, const std::string& text, std::string* path) {
  *path = dir.write("estuary.conf", text);
  return load(*path, "", {});
}

void expect_error(const std::string& text, int line, const std::string& problem) {
  TempDir dir;
  std::string path;
  auto r = load_text(dir, text, &path);
  ASSERT_FALSE(r.ok()) << "loaded without error:\n" << text;
  EXPECT_EQ(r.error().message, path + ":" + std::to_string(line) + ": " + problem);
}

TEST(SourcesConfig, SourceWithDefaultsAndAllKeys) {
  TempDir dir;
  std::string path;
  auto r = load_text(dir,
                     "[source cam1]\n"
                     "stream = cams/one\n"
                     "url = rtsp://u:p@10.0.0.5/s1\n"
                     "[source file]\n"
                     "stream = files/loop\n"
                     "url = file:///srv/clip.mp4\n"
                     "mode = demand\n"
                     "linger_ms = 2000\n"
                     "retry_min_ms = 100\n"
                     "retry_max_ms = 200\n"
                     "timeout_ms = 3000\n"
                     "rtsp_transport = tcp\n"
                     "loop = false\n",
                     &path);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->sources.size(), 2u);
  const SourceSpec& a = r->sources[0];
  EXPECT_EQ(a.name, "cam1");
  EXPECT_EQ(a.app(), "cams");
  EXPECT_EQ(a.stream_name(), "one");
  EXPECT_EQ(a.mode, SourceMode::always);
  EXPECT_EQ(a.retry_min_ms, 1000);
  EXPECT_EQ(a.line, 1);
  const SourceSpec& b = r->sources[1];
  EXPECT_EQ(b.mode, SourceMode::demand);
  EXPECT_EQ(b.linger_ms, 2000);
  EXPECT_EQ(b.retry_max_ms, 200);
  EXPECT_EQ(b.timeout_ms, 3000);
  EXPECT_EQ(b.rtsp_transport, "tcp");
  EXPECT_FALSE(b.loop);
}

TEST(SourcesConfig, ForwardRules) {
  TempDir dir;
  std::string path;
  auto r = load_text(dir,
                     "[forward backup]\n"
                     "match = live/* vip/*\n"
                     "url = rtmp://a.example/live/{stream} srt://b.example:9000?streamid=x\n"
                     "retry_min_ms = 300\n",
                     &path);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->forwards.size(), 1u);
  const ForwardSpec& f = r->forwards[0];
  EXPECT_EQ(f.urls.size(), 2u);
  EXPECT_TRUE(f.matches("live/x"));
  EXPECT_TRUE(f.matches("vip/y"));
  EXPECT_FALSE(f.matches("other/x"));
  EXPECT_EQ(f.retry_min_ms, 300);
  EXPECT_EQ(expand_stream_variables("rtmp://h/{app}/{stream}?n={name}", "live", "x"), "rtmp://h/live/x?n=live/x");
}

TEST(SourcesConfig, RefusalsNameFileAndLine) {
  expect_error("[source a]\nurl = rtsp://h/x\n", 1, "[source a] missing required key \"stream\" (app/name)");
  expect_error("[source a]\nstream = nope\nurl = rtsp://h/x\n", 2,
               "[source a] stream: value \"nope\" is not app/name (letters, digits, _ . -)");
  expect_error("[source a]\nstream = a/b\nurl = gopher://h/x\n", 3,
               "[source a] url: \"gopher://h/x\" is not a URL this server can pull (rtsp://, rtsps://, srt://, "
               "rtmp://, rtmps://, http(s)://, file:///)");
  expect_error("[source a]\nstream = a/b\n", 1, "[source a] exactly one of \"url\" or \"launch\" is required");
  expect_error("[source a]\nstream = a/b\nurl = rtsp://h/x\nmode = sometimes\n", 4,
               "[source a] mode: value \"sometimes\" is not one of always, demand");
  expect_error("[source a]\nstream = a/b\nurl = rtsp://h/x\nretry_min_ms = 0\n", 4,
               "[source a] retry_min_ms: value 0 is out of range 1..3600000");
  expect_error("[source a]\nstream = a/b\nurl = rtsp://h/x\nretry_min_ms = 500\nretry_max_ms = 100\n", 1,
               "[source a] retry_max_ms (100) is less than retry_min_ms (500)");
  expect_error("[source a]\nstream = a/b\nurl = rtsp://h/x\ncolour = blue\n", 4,
               "[source a] unknown key \"colour\" (known: stream, url, launch, mode, linger_ms, retry_min_ms, "
               "retry_max_ms, timeout_ms, rtsp_transport, loop)");
  expect_error("[forward f]\nmatch = live\nurl = rtmp://h/live/x\n", 2,
               "[forward f] match: pattern \"live\" can never match \"app/stream\" (e.g. \"live/*\")");
  expect_error("[forward f]\nurl = http://h/live/x\n", 2,
               "[forward f] url: \"http://h/live/x\" is not an rtmp://, rtmps:// or srt:// URL");
  expect_error("[forward f]\nmatch = live/*\n", 1, "[forward f] missing required key \"url\"");
}

TEST(SourcesConfig, OneSourcePerStream) {
  TempDir dir;
  std::string path;
  auto r =
      load_text(dir, "[source a]\nstream = a/b\nurl = rtsp://h/x\n[source b]\nstream = a/b\nurl = rtsp://h/y\n", &path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, path + ":5: [source b] stream: a/b is already pulled by [source a] at " + path + ":1");
}

}  // namespace
}  // namespace estuary::config
