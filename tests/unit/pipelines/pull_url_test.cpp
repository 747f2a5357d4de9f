// Owns: tests of pulled-source URL interpretation: the reader chosen per scheme and the redaction
// of credentials for the API and logs.
#include <gtest/gtest.h>

#include "pipelines/pull_url.h"

namespace estuary::pipelines {
namespace {

TEST(PullUrl, ReaderPerScheme) {
  struct Case {
    const char* url;
    PullKind kind;
    const char* element;
  };
  for (const Case& c :
       {Case{"rtsp://cam/s1", PullKind::rtsp, "rtspsrc"}, Case{"srt://h:9000", PullKind::srt, "tsdemux"},
        Case{"rtmp://h/live/x", PullKind::rtmp, "flvdemux"},
        Case{"https://h/live/x.m3u8?t=1", PullKind::hls, "hlsdemux"},
        Case{"http://h/live/x.flv", PullKind::http, "flvdemux"}, Case{"file:///srv/a.mp4", PullKind::file, "qtdemux"},
        Case{"file:///srv/a.mkv", PullKind::file, "matroskademux"},
        Case{"file:///srv/a.bin", PullKind::file, "parsebin"}}) {
    auto plan = plan_reader(c.url, {});
    ASSERT_TRUE(plan.ok()) << c.url;
    EXPECT_EQ(plan->kind, c.kind) << c.url;
    EXPECT_NE(plan->launch.find(c.element), std::string::npos) << plan->launch;
    EXPECT_EQ(plan->launch.find("://"), std::string::npos) << "URLs never enter launch syntax: " << plan->launch;
    EXPECT_EQ(plan->rtp_pads, c.kind == PullKind::rtsp);
    EXPECT_EQ(plan->live, c.kind != PullKind::file);
  }
  EXPECT_EQ(plan_reader("file:///srv/a.mp4", {})->url_value, "/srv/a.mp4");
  EXPECT_FALSE(plan_reader("gopher://h/x", {}).ok());
}

TEST(PullUrl, RtspTransport) {
  PullOptions tcp;
  tcp.rtsp_transport = "tcp";
  EXPECT_NE(plan_reader("rtsp://h/x", tcp)->launch.find("protocols=tcp"), std::string::npos);
  EXPECT_NE(plan_reader("rtsp://h/x", {})->launch.find("protocols=udp+tcp"), std::string::npos);
}

TEST(PullUrl, RedactsPasswordsAndSecretParameters) {
  EXPECT_EQ(redact_url("rtsp://user:secret@10.0.0.5:554/cam"), "rtsp://user:***@10.0.0.5:554/cam");
  EXPECT_EQ(redact_url("srt://h:9000?streamid=x&passphrase=abc&latency=200"),
            "srt://h:9000?streamid=x&passphrase=***&latency=200");
  EXPECT_EQ(redact_url("rtmp://h/live/x?token=zzz"), "rtmp://h/live/x?token=***");
  EXPECT_EQ(redact_url("rtsp://h/x"), "rtsp://h/x");
}

}  // namespace
}  // namespace estuary::pipelines
