// Owns: unit tests of the hook accept rule and body, IP/CIDR rules, per-app [hooks:APP] and
// [security:APP] config groups, and Prometheus label escaping and exposition.
#include <gtest/gtest.h>
#include <json-glib/json-glib.h>

#include "server/api/metrics.h"
#include "server/config/config.h"
#include "server/config/ip_rules.h"
#include "server/control/hooks.h"
#include "temp_dir.h"

namespace estuary {
namespace {

TEST(HookAcceptRule, AcceptsOnlyZeroOrCodeZeroWith200Or201) {
  EXPECT_TRUE(hooks::response_accepts(200, "0"));
  EXPECT_TRUE(hooks::response_accepts(201, "0\n"));
  EXPECT_TRUE(hooks::response_accepts(200, "{\"code\":0}"));
  EXPECT_TRUE(hooks::response_accepts(200, " {\"code\": 0, \"data\": {}} "));
  std::string why;
  EXPECT_FALSE(hooks::response_accepts(200, "{\"code\":1}", &why));
  EXPECT_EQ(why, "code 1");
  EXPECT_FALSE(hooks::response_accepts(204, "0", &why));
  EXPECT_EQ(why, "HTTP status 204");
  EXPECT_FALSE(hooks::response_accepts(403, "0"));
  EXPECT_FALSE(hooks::response_accepts(500, "{\"code\":0}"));
  EXPECT_FALSE(hooks::response_accepts(200, ""));
  EXPECT_FALSE(hooks::response_accepts(200, "ok"));
  EXPECT_FALSE(hooks::response_accepts(200, "1"));
  EXPECT_FALSE(hooks::response_accepts(200, "00"));
  EXPECT_FALSE(hooks::response_accepts(200, "{}"));
  EXPECT_FALSE(hooks::response_accepts(200, "{\"code\":\"0\"}"));
  EXPECT_FALSE(hooks::response_accepts(200, "{\"code\":0.5}"));
  EXPECT_FALSE(hooks::response_accepts(200, "[0]"));
}

TEST(HookBody, HasSrsFieldsAndParamWithQuestionMark) {
  hooks::HookFields f;
  f.client_id = "c1";
  f.ip = "127.0.0.1";
  f.app = "live";
  f.stream = "s";
  f.param = hooks::param_from_query("token=a\"b");
  f.tc_url = "rtmp://h/live";
  f.stream_url = "/live/s";
  f.extra_numbers["duration"] = 2.5;
  f.extra_numbers["seq_no"] = 7;
  std::string body = hooks::hook_body("on_publish", "vid-x", "svc", f);
  JsonParser* p = json_parser_new();
  ASSERT_TRUE(json_parser_load_from_data(p, body.c_str(), -1, nullptr)) << body;
  JsonObject* o = json_node_get_object(json_parser_get_root(p));
  EXPECT_STREQ(json_object_get_string_member(o, "action"), "on_publish");
  EXPECT_STREQ(json_object_get_string_member(o, "server_id"), "vid-x");
  EXPECT_STREQ(json_object_get_string_member(o, "service_id"), "svc");
  EXPECT_STREQ(json_object_get_string_member(o, "param"), "?token=a\"b");
  EXPECT_STREQ(json_object_get_string_member(o, "tcUrl"), "rtmp://h/live");
  EXPECT_STREQ(json_object_get_string_member(o, "vhost"), "__defaultVhost__");
  EXPECT_STREQ(json_object_get_string_member(o, "stream_id"), "");
  EXPECT_DOUBLE_EQ(json_object_get_double_member(o, "duration"), 2.5);
  EXPECT_EQ(json_object_get_int_member(o, "seq_no"), 7);
  g_object_unref(p);
  EXPECT_EQ(hooks::param_from_query(""), "");
  EXPECT_EQ(hooks::param_from_query("?a=1"), "?a=1");
  EXPECT_EQ(hooks::split_urls(" http://a/x  http://b/y\t"), (std::vector<std::string>{"http://a/x", "http://b/y"}));
}

TEST(IpRules, CidrAndLiterals) {
  auto r = config::IpRules::parse("10.0.0.0/8 192.168.1.7, ::1");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->matches("10.1.2.3"));
  EXPECT_TRUE(r->matches("192.168.1.7"));
  EXPECT_FALSE(r->matches("192.168.1.8"));
  EXPECT_TRUE(r->matches("::1"));
  EXPECT_TRUE(r->matches("::ffff:10.9.9.9"));  // IPv4-mapped peer
  EXPECT_FALSE(r->matches("11.0.0.1"));
  EXPECT_FALSE(r->matches("not-an-ip"));
  EXPECT_TRUE(config::IpRules::parse("")->empty());
  EXPECT_TRUE(config::IpRules::parse("all")->matches("203.0.113.5"));
  EXPECT_FALSE(config::IpRules::parse("10.0.0.0/33").ok());
  EXPECT_FALSE(config::IpRules::parse("localhost").ok());
}

TEST(IpRules, DenyWinsAllowListRestricts) {
  EXPECT_TRUE(config::ip_allowed("1.2.3.4", "", ""));
  EXPECT_FALSE(config::ip_allowed("127.0.0.1", "", "127.0.0.1"));
  EXPECT_FALSE(config::ip_allowed("127.0.0.1", "all", "127.0.0.0/8"));
  EXPECT_TRUE(config::ip_allowed("10.0.0.5", "10.0.0.0/8", ""));
  EXPECT_FALSE(config::ip_allowed("11.0.0.5", "10.0.0.0/8", ""));
  EXPECT_FALSE(config::ip_allowed("10.0.0.5", "10.0.0.0/8", "all"));
  EXPECT_FALSE(config::ip_allowed("10.0.0.5", "garbage", ""));  // bad rules never open access
}

TEST(PerAppConfig, AppGroupsOverrideDefaultsWithLineNumbers) {
  config::testing::TempDir dir;
  std::string path = dir.write("e.conf",
                               "[security:live]\n"
                               "deny_publish = 10.0.0.0/8\n"
                               "[hooks]\n"
                               "timeout_ms = 1500\n"
                               "on_play = http://127.0.0.1:1/p\n"
                               "[hooks:live]\n"
                               "on_publish = http://127.0.0.1:1/a https://x.example/b\n");
  auto c = config::load(path, "", {});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->hooks_for("live").on_publish, "http://127.0.0.1:1/a https://x.example/b");
  EXPECT_EQ(c->hooks_for("live").timeout_ms, 1500);  // [hooks] applies even when it comes later in the file
  EXPECT_EQ(c->hooks_for("live").on_play, "http://127.0.0.1:1/p");
  EXPECT_EQ(c->hooks_for("other").on_publish, "");
  EXPECT_EQ(c->security_for("live").deny_publish, "10.0.0.0/8");
  EXPECT_EQ(c->security_for("other").deny_publish, "");

  path = dir.write("bad1.conf", "[hooks:live]\n\non_publish = ftp://x/y\n");
  auto bad = config::load(path, "", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find(":3:"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("not an http"), std::string::npos) << bad.error().message;

  path = dir.write("bad2.conf", "[security]\nallow_play = 10.0.0.0/99\n");
  bad = config::load(path, "", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find(":2:"), std::string::npos) << bad.error().message;

  path = dir.write("dvr.conf", "[dvr]\nmax_age_s = 600\n[dvr:cams]\nmax_age_s = 86400\nmax_mb = 512\n");
  auto dvr = config::load(path, "", {});
  ASSERT_TRUE(dvr.ok()) << dvr.error().message;
  EXPECT_EQ(dvr->dvr.max_age_s, 600);
  ASSERT_EQ(dvr->app_dvr.count("cams"), 1u);
  EXPECT_EQ(dvr->app_dvr.at("cams").max_age_s, 86400);
  EXPECT_EQ(dvr->app_dvr.at("cams").max_mb, 512);
  path = dir.write("bad-dvr.conf", "[dvr:cams]\nformat = ts\n");
  bad = config::load(path, "", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("only max_age_s and max_mb"), std::string::npos) << bad.error().message;

  path = dir.write("bad3.conf", "[rtmp:live]\nport = 1\n");
  EXPECT_FALSE(config::load(path, "", {}).ok());
  path = dir.write("bad4.conf", "[api]\nauth = bearer\n");
  bad = config::load(path, "", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("needs token"), std::string::npos) << bad.error().message;
}

TEST(Prometheus, LabelEscapingAndExposition) {
  EXPECT_EQ(server::prometheus_escape_label("plain"), "plain");
  EXPECT_EQ(server::prometheus_escape_label("a\"b"), "a\\\"b");
  EXPECT_EQ(server::prometheus_escape_label("a\\b"), "a\\\\b");
  EXPECT_EQ(server::prometheus_escape_label("a\nb"), "a\\nb");
  server::PrometheusWriter w;
  w.add("x_total", "counter", "Help with \\ and\nnewline.", {{"app", "l\"v"}}, 3);
  w.add("y", "gauge", "Y.", {}, 0.5);
  w.add("x_total", "counter", "ignored", {{"app", "b"}}, 4);
  EXPECT_EQ(w.text(),
            "# HELP x_total Help with \\\\ and\\nnewline.\n# TYPE x_total counter\nx_total{app=\"l\\\"v\"} 3\n"
            "x_total{app=\"b\"} 4\n# HELP y Y.\n# TYPE y gauge\ny 0.5\n");
  EXPECT_EQ(server::protocol_of_client_type("fmle-publish"), "rtmp");
  EXPECT_EQ(server::protocol_of_client_type("flv-play"), "flv");
  EXPECT_EQ(server::protocol_of_client_type("rtc-play"), "webrtc");
}

}  // namespace
}  // namespace estuary
