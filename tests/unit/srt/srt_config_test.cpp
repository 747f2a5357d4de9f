// Owns: tests of the [srt] configuration: defaults, [srt:APP] passphrases, and the errors (with
// file:line) for values libsrt would refuse or keys that cannot differ per app.
#include <glib.h>
#include <gtest/gtest.h>

#include <fstream>

#include "server/config/config.h"

namespace estuary::config {
namespace {

std::string write_conf(const std::string& text) {
  gchar* dir = g_dir_make_tmp("estuary-srt-XXXXXX", nullptr);
  std::string path = std::string(dir) + "/estuary.conf";
  g_free(dir);
  std::ofstream(path) << text;
  return path;
}

TEST(SrtConfig, DefaultsAreSrsLike) {
  auto r = load("", "", {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->srt.enabled);
  EXPECT_EQ(r->srt.port, 10080);
  EXPECT_EQ(r->srt.latency_ms, 120);
  EXPECT_EQ(r->srt.passphrase, "");
  EXPECT_EQ(r->srt.default_mode, "request");
  EXPECT_EQ(&r->srt_for("live"), &r->srt);
}

TEST(SrtConfig, PerAppPassphraseOverridesTheServerOne) {
  auto path = write_conf(
      "[srt]\npassphrase = server-secret-1\nlatency_ms = 300\n[srt:vip]\npassphrase = vip-secret-22\npbkeylen = 32\n"
      "[srt:open]\npassphrase =\n");
  auto r = load(path, "", {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->srt_for("live").passphrase, "server-secret-1");
  EXPECT_EQ(r->srt_for("vip").passphrase, "vip-secret-22");
  EXPECT_EQ(r->srt_for("vip").pbkeylen, 32);
  EXPECT_EQ(r->srt_for("vip").latency_ms, 300) << "the rest comes from [srt]";
  EXPECT_EQ(r->srt_for("open").passphrase, "");
}

TEST(SrtConfig, EnvironmentOverrides) {
  auto r = load("", "", {{"ESTUARY_SRT_PORT", "19000"}, {"ESTUARY_SRT_DEFAULT_MODE", "publish"}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->srt.port, 19000);
  EXPECT_EQ(r->srt.default_mode, "publish");
}

TEST(SrtConfig, ErrorsNameFileAndLine) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"[srt]\npassphrase = short\n", ":2: [srt] passphrase must be 10..79 characters"},
      {"[srt]\npbkeylen = 20\n", ":2: [srt] pbkeylen must be 16, 24 or 32"},
      {"[srt]\ndefault_mode = both\n", ":2: [srt] default_mode: value \"both\" is not one of publish, request"},
      {"[srt]\nport = 0\n", ":2: [srt] port: value 0 is out of range"},
      {"[srt:live]\nport = 10081\n", ":2: [srt:live] port: cannot be set per app"},
      {"[srt:live]\n\npassphrase = 123\n", ":3: [srt:live] passphrase: passphrase must be 10..79"},
  };
  for (const auto& c : cases) {
    auto path = write_conf(c.text);
    auto r = load(path, "", {});
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.error().message.find(path + c.expect), std::string::npos) << r.error().message;
  }
  auto env = load("", "", {{"ESTUARY_SRT_PASSPHRASE", "tiny"}});
  ASSERT_FALSE(env.ok());
  EXPECT_NE(env.error().message.find("environment ESTUARY_SRT_PASSPHRASE: [srt] passphrase must be"), std::string::npos)
      << env.error().message;
}

}  // namespace
}  // namespace estuary::config
