// Owns: unit tests of the [rtc] config section: defaults, environment overrides, and the file:line
// errors of its checks (port range, interfaces, candidate).
#include <glib.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "server/config/config.h"

namespace estuary::config {
namespace {

// Writes text to a fresh file and loads it.
Result<Config> load_text(const std::string& text, const Environment& env = {}) {
  gchar* dir = g_dir_make_tmp("rtc-config-XXXXXX", nullptr);
  std::string path = std::string(dir) + "/estuary.conf";
  std::ofstream(path) << text;
  g_free(dir);
  return load(path, "", env);
}

TEST(RtcConfig, Defaults) {
  auto r = load("", "", {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->rtc.enabled);
  EXPECT_EQ(r->rtc.port_min, 8000);
  EXPECT_EQ(r->rtc.port_max, 8999);
  EXPECT_EQ(r->rtc.session_timeout_ms, 10000);
  EXPECT_EQ(r->rtc.pli_interval_ms, 2000);
  EXPECT_TRUE(r->rtc.candidate.empty());
  EXPECT_EQ(r->rtc.engine, "shared");
  EXPECT_EQ(r->rtc.port, 8000);
}

TEST(RtcConfig, EngineChoiceAndPortAreValidated) {
  auto r = load_text("[rtc]\nengine = shared\nport = 18000\n", {{"ESTUARY_RTC_PORT", "18001"}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->rtc.engine, "shared");
  EXPECT_EQ(r->rtc.port, 18001);
  auto bad = load_text("[rtc]\nengine = libnice\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("estuary.conf:2: [rtc] engine"), std::string::npos) << bad.error().message;
  auto port = load("", "", {{"ESTUARY_RTC_PORT", "70000"}});
  ASSERT_FALSE(port);
  EXPECT_NE(port.error().message.find("environment ESTUARY_RTC_PORT"), std::string::npos) << port.error().message;
}

TEST(RtcConfig, FileAndEnvironment) {
  auto r = load_text("[rtc]\ncandidate = 203.0.113.1\ninterfaces = 127.0.0.1 ::1\nport_min = 20000\nport_max = 20099\n",
                     {{"ESTUARY_RTC_ICE_TCP", "true"}, {"ESTUARY_RTC_CANDIDATE", "$MY_PUBLIC_IP"}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->rtc.candidate, "$MY_PUBLIC_IP");
  EXPECT_EQ(r->rtc.interfaces, "127.0.0.1 ::1");
  EXPECT_EQ(r->rtc.port_min, 20000);
  EXPECT_TRUE(r->rtc.ice_tcp);
  auto named = load_text("[rtc]\ncandidate = media.example.com\n");
  ASSERT_TRUE(named) << named.error().message;
}

TEST(RtcConfig, ErrorsNameFileLineAndProblem) {
  auto range = load_text("[rtc]\nport_min = 9000\nport_max = 8000\n");
  ASSERT_FALSE(range);
  EXPECT_NE(range.error().message.find("estuary.conf:3: [rtc] port_max (8000) is less than port_min (9000)"),
            std::string::npos)
      << range.error().message;
  auto iface = load_text("[rtc]\n\ninterfaces = 127.0.0.1 eth0\n");
  ASSERT_FALSE(iface);
  EXPECT_NE(iface.error().message.find("estuary.conf:3: [rtc] interfaces: \"eth0\" is not an IP address"),
            std::string::npos)
      << iface.error().message;
  auto cand = load_text("[rtc]\ncandidate = not a host!\n");
  ASSERT_FALSE(cand);
  EXPECT_NE(cand.error().message.find("estuary.conf:2: [rtc] candidate"), std::string::npos) << cand.error().message;
  auto port = load_text("[rtc]\nport_min = 0\n");
  ASSERT_FALSE(port);
  EXPECT_NE(port.error().message.find("out of range"), std::string::npos) << port.error().message;
  auto env = load("", "", {{"ESTUARY_RTC_PORT_MAX", "10"}});
  ASSERT_FALSE(env);
  EXPECT_NE(env.error().message.find("environment ESTUARY_RTC_PORT_MAX"), std::string::npos) << env.error().message;
}

}  // namespace
}  // namespace estuary::config
