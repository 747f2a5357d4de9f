// Owns: end-to-end tests of hostile input: MPEG-TS whose PES headers are garbage after a valid
// PAT/PMT (the bytes that made GStreamer 1.22's tsdemux abort the whole server) arriving from an
// SRT publisher, an HTTP-TS pull and a looped file source — each is ended with a clear log line
// while the server and a healthy stream live on.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <srt/srt.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "harness.h"

using namespace estuary::e2e;
using namespace std::chrono_literals;

namespace {

std::string fixture(const std::string& name) { return source_root() + "/tests/e2e/fixtures/" + name; }

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Publishes bytes as they are (no remux) over SRT with libsrt, in live-mode messages of 7 TS
// packets, paced; true when every message was sent.
bool srt_publish_raw(const Server& s, const std::string& stream_id, const std::string& bytes) {
  SRTSOCKET sock = srt_create_socket();
  srt_setsockflag(sock, SRTO_STREAMID, stream_id.data(), int(stream_id.size()));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(uint16_t(s.srt_port()));
  bool ok = srt_connect(sock, reinterpret_cast<sockaddr*>(&a), sizeof a) != SRT_ERROR;
  for (size_t off = 0; ok && off < bytes.size(); off += 1316) {
    ok = srt_sendmsg(sock, bytes.data() + off, int(std::min<size_t>(1316, bytes.size() - off)), -1, 1) != SRT_ERROR;
    std::this_thread::sleep_for(2ms);
  }
  std::this_thread::sleep_for(500ms);
  srt_close(sock);
  return ok;
}

bool wait_for_log(const Server& s, const std::string& text, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 100) {
    if (s.log().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

class Hardening : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { srt_startup(); }
  static void TearDownTestSuite() { srt_cleanup(); }
};

}  // namespace

TEST_F(Hardening, GarbagePesHeadersOverSrtEndThatPublisherOnlyAndTheServerLivesOn) {
  Server server;
  ASSERT_TRUE(server.start()) << server.log();
  Process healthy = start_publisher(server.rtmp_url("live/healthy"), 320, 180, server.dir() + "/ffmpeg.log", 60);
  ASSERT_TRUE(wait_for_stream(server, "live/healthy", 15000)) << server.log();

  const std::string garbage = read_all(fixture("garbage-pes-headers.ts"));
  ASSERT_GT(garbage.size(), 10000u);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(srt_publish_raw(server, "#!::r=live/attack,m=publish", garbage));
  EXPECT_TRUE(wait_for_log(server, "malformed MPEG-TS", 5000)) << server.log();
  ASSERT_TRUE(server.process().running()) << server.log();
  // The attacker's stream is gone, the healthy one still plays.
  auto streams = probe_streams(server.flv_url("live/healthy"));
  bool video = false;
  for (const auto& st : streams) video = video || (st.codec_type == "video" && st.codec_name == "h264");
  EXPECT_TRUE(video) << server.log();
  EXPECT_EQ(api_stream_count(server), 1) << server.log();
}

TEST_F(Hardening, GarbagePesHeadersFromAPulledHttpTsAndALoopedFileEndThoseSourcesOnly) {
  const std::string dir = make_temp_dir();
  const std::string served = dir + "/www";
  ASSERT_EQ(run({"mkdir", "-p", served}, 5).exit_code, 0);
  ASSERT_EQ(run({"cp", fixture("garbage-pes-headers.ts"), served + "/bad.ts"}, 5).exit_code, 0);
  const int web_port = free_tcp_port();
  Process web({"python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", served, std::to_string(web_port)},
              dir + "/web.log");
  const std::string conf = dir + "/estuary.conf";
  std::ofstream(conf) << "[source web]\nstream = pull/web\nretry_min_ms = 500\nurl = http://127.0.0.1:" << web_port
                      << "/bad.ts\n"
                      << "[source file]\nstream = pull/file\nretry_min_ms = 500\nurl = file://" << served
                      << "/bad.ts\n";
  Server server({}, {"--config", conf});
  ASSERT_TRUE(server.start()) << server.log();
  Process healthy = start_publisher(server.rtmp_url("live/healthy"), 320, 180, server.dir() + "/ffmpeg.log", 60);
  ASSERT_TRUE(wait_for_stream(server, "live/healthy", 15000)) << server.log();
  EXPECT_TRUE(wait_for_log(server, "stream=pull/web client=- event=ts-guard", 15000)) << server.log();
  EXPECT_TRUE(wait_for_log(server, "stream=pull/file client=- event=ts-guard", 15000)) << server.log();
  std::this_thread::sleep_for(3s);  // the sources retry: every attempt meets the guard
  ASSERT_TRUE(server.process().running()) << server.log();
  auto streams = probe_streams(server.flv_url("live/healthy"));
  bool video = false;
  for (const auto& st : streams) video = video || (st.codec_type == "video" && st.codec_name == "h264");
  EXPECT_TRUE(video) << server.log();
}
