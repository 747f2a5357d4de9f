// Owns: end-to-end tests of the RTSP output (gst-rtsp-server fed from the stream bus) and of the
// encoder placeholder path in the real binary: ffmpeg publishes H.264 + AAC over RTMP; ffprobe over
// RTSP with TCP and UDP transports sees both tracks; RTSP viewers are API clients of type
// "rtsp-play"; unknown streams are 404; /api/v1/encoders reports x264enc; a pipelines.d launch line
// using @h264enc validates.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "harness.h"

using namespace estuary::e2e;
using namespace std::chrono_literals;

namespace {

std::string rtsp_url(const Server& s, const std::string& path) {
  return "rtsp://127.0.0.1:" + std::to_string(s.rtsp_port()) + "/" + path;
}

// "codec_type,codec_name,width,height" lines from ffprobe over RTSP with the given transport.
RunResult probe_rtsp(const std::string& url, const std::string& transport) {
  return run({"ffprobe", "-v", "error", "-rtsp_transport", transport, "-show_entries",
              "stream=codec_type,codec_name,width,height", "-of", "csv=p=0", url},
             20);
}

class Rtsp : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.start()) << server_.log();
    publisher_ = start_publisher(server_.rtmp_url("live/x"), 640, 360, server_.dir() + "/ffmpeg.log", 60);
    ASSERT_TRUE(wait_for_stream(server_, "live/x", 15000)) << server_.log();
  }
  Server server_;
  Process publisher_;
};

TEST_F(Rtsp, TcpAndUdpTransportsSeeH264AndAac) {
  for (const char* transport : {"tcp", "udp"}) {
    RunResult r = probe_rtsp(rtsp_url(server_, "live/x"), transport);
    EXPECT_EQ(r.exit_code, 0) << transport << ": " << r.err << "\n" << server_.log();
    EXPECT_NE(r.out.find("h264,video,640,360"), std::string::npos) << transport << ": " << r.out;
    EXPECT_NE(r.out.find("aac,audio"), std::string::npos) << transport << ": " << r.out;
  }
}

TEST_F(Rtsp, ConcurrentViewersShareOneMediaAndAppearAsClients) {
  // Two viewers at once, one per transport, reading 4 s of packets each.
  auto reader = [this](const char* transport) {
    return Process({"ffprobe", "-v", "error", "-rtsp_transport", transport, "-read_intervals", "%+4", "-show_packets",
                    "-of", "csv=p=0", rtsp_url(server_, "live/x")},
                   server_.dir() + "/probe-" + transport + ".log");
  };
  Process tcp = reader("tcp");
  Process udp = reader("udp");
  int rtsp_clients = 0;
  for (int i = 0; i < 60 && rtsp_clients < 2; i++) {
    std::this_thread::sleep_for(100ms);
    std::vector<std::pair<std::string, std::string>> clients;
    api_clients(server_, &clients);
    rtsp_clients = 0;
    for (const auto& [id, type] : clients) rtsp_clients += type == "rtsp-play";
  }
  EXPECT_EQ(rtsp_clients, 2) << server_.log();
  EXPECT_EQ(tcp.wait(20000), 0);
  EXPECT_EQ(udp.wait(20000), 0);
  // one shared media for the stream
  std::string log = server_.log();
  size_t first = log.find("rtsp-mount");
  EXPECT_NE(first, std::string::npos);
  EXPECT_EQ(log.find("rtsp-mount", first + 1), std::string::npos) << log;
  // viewers gone: their records too
  for (int i = 0; i < 50; i++) {
    std::vector<std::pair<std::string, std::string>> clients;
    api_clients(server_, &clients);
    rtsp_clients = 0;
    for (const auto& [id, type] : clients) rtsp_clients += type == "rtsp-play";
    if (rtsp_clients == 0) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(rtsp_clients, 0);
}

TEST_F(Rtsp, UnknownStreamIs404) {
  RunResult r = probe_rtsp(rtsp_url(server_, "live/nope"), "tcp");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("404"), std::string::npos) << r.err;
}

TEST(Encoders, ApiReportsX264AndPlaceholderConfigValidates) {
  Server server;
  ASSERT_TRUE(server.start()) << server.log();
  std::string body;
  ASSERT_EQ(http_request("GET", "http://127.0.0.1:" + std::to_string(server.api_port()) + "/api/v1/encoders", &body),
            200);
  EXPECT_NE(body.find("\"code\":0"), std::string::npos) << body;
  EXPECT_NE(body.find("\"element\":\"x264enc\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"element\":\"x265enc\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"reason\":\"preference #6 of 6"), std::string::npos) << body;
  server.stop();

  std::string dir = server.dir() + "/pipelines.d";
  ASSERT_EQ(run({"mkdir", "-p", dir}, 5).exit_code, 0);
  std::ofstream(dir + "/small.conf")
      << "[pipeline small]\nmatch=live/x\ntrigger=publish\n"
         "launch=estuarysrc stream={name} name=src src.video ! queue ! h264parse ! avdec_h264 ! videoscale ! "
         "video/x-raw,width=320,height=180 ! videoconvert ! @h264enc bitrate=300 gop=25 tune=latency ! fakesink\n";
  RunResult ok = run({build_root() + "/src/server/estuary", "--pipelines", dir, "--check-config"}, 30);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  // an unknown property after the placeholder is still caught (mapped names go to x264enc)
  std::ofstream(dir + "/small.conf") << "[pipeline small]\nmatch=live/x\n"
                                        "launch=videotestsrc ! @h264enc no-such-prop=1 ! fakesink\n";
  RunResult bad = run({build_root() + "/src/server/estuary", "--pipelines", dir, "--check-config"}, 30);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("x264enc"), std::string::npos) << bad.err;
}

}  // namespace
