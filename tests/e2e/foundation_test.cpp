// Owns: end-to-end tests of the foundation: RTMP in, RTMP and HTTP-FLV out, the stream lifecycle,
// the API, hostile input on the RTMP port and configuration errors. Real binary, real ffmpeg.
#include <arpa/inet.h>
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include "harness.h"

using namespace estuary::e2e;
using namespace std::chrono_literals;

namespace {

const ProbeStream* find_type(const std::vector<ProbeStream>& streams, const std::string& type) {
  for (const auto& s : streams)
    if (s.codec_type == type) return &s;
  return nullptr;
}

void expect_h264_aac(const std::vector<ProbeStream>& streams, int width, int height, const std::string& what) {
  const ProbeStream* v = find_type(streams, "video");
  const ProbeStream* a = find_type(streams, "audio");
  ASSERT_NE(v, nullptr) << what << ": no video stream";
  ASSERT_NE(a, nullptr) << what << ": no audio stream";
  EXPECT_EQ(v->codec_name, "h264") << what;
  EXPECT_EQ(v->width, width) << what;
  EXPECT_EQ(v->height, height) << what;
  EXPECT_EQ(a->codec_name, "aac") << what;
  EXPECT_EQ(a->sample_rate, 44100) << what;
  EXPECT_EQ(streams.size(), 2u) << what << ": unexpected extra streams";
}

class Foundation : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server.start()) << server.log(); }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "---- server log ----\n%s\n", server.log().c_str());
  }
  std::string pub_log(const std::string& name) { return server.dir() + "/" + name + ".log"; }
  Server server;
};

TEST_F(Foundation, RtmpAndHttpFlvPlayH264AndAac) {
  Process pub = start_publisher(server.rtmp_url("live/test"), 640, 360, pub_log("pub"));
  ASSERT_TRUE(wait_for_stream(server, "live/test", 10000));
  expect_h264_aac(probe_streams(server.rtmp_url("live/test")), 640, 360, "rtmp");
  expect_h264_aac(probe_streams(server.flv_url("live/test")), 640, 360, "http-flv");
  // The API describes the stream with SRS field names.
  std::string body;
  ASSERT_EQ(http_request("GET", "http://127.0.0.1:" + std::to_string(server.api_port()) + "/api/v1/streams", &body),
            200);
  JsonNode* root = parse_json(body);
  ASSERT_NE(root, nullptr);
  JsonObject* s = json_array_get_object_element(json_object_get_array_member(json_node_get_object(root), "streams"), 0);
  JsonObject* video = json_object_get_object_member(s, "video");
  ASSERT_NE(video, nullptr);
  EXPECT_STREQ(json_object_get_string_member(video, "codec"), "H264");
  EXPECT_EQ(json_object_get_int_member(video, "width"), 640);
  EXPECT_EQ(json_object_get_int_member(video, "height"), 360);
  JsonObject* audio = json_object_get_object_member(s, "audio");
  ASSERT_NE(audio, nullptr);
  EXPECT_STREQ(json_object_get_string_member(audio, "codec"), "AAC");
  EXPECT_GT(json_object_get_int_member(s, "recv_bytes"), 0);
  json_node_unref(root);
}

TEST_F(Foundation, LateJoinerFirstFrameIsKeyframe) {
  // GOP of 2 s: joining 3.3 s in lands mid-GOP, so only the GOP cache can give a keyframe start.
  Process pub = start_publisher(server.rtmp_url("live/late"), 320, 240, pub_log("pub"), 60, 50);
  ASSERT_TRUE(wait_for_stream(server, "live/late", 10000));
  std::this_thread::sleep_for(3300ms);
  EXPECT_EQ(first_video_frame_is_key(server.flv_url("live/late")), 1);
  std::this_thread::sleep_for(700ms);
  EXPECT_EQ(first_video_frame_is_key(server.rtmp_url("live/late")), 1);
}

TEST_F(Foundation, SingleTrackStreamsPlay) {
  Process video_only({"ffmpeg",    "-hide_banner", "-loglevel",
                      "error",     "-re",          "-f",
                      "lavfi",     "-i",           "testsrc2=size=320x240:rate=25:duration=60",
                      "-c:v",      "libx264",      "-preset",
                      "ultrafast", "-g",           "25",
                      "-pix_fmt",  "yuv420p",      "-an",
                      "-f",        "flv",          server.rtmp_url("live/vonly")},
                     pub_log("vonly"));
  Process audio_only({"ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
                      "sine=frequency=440:sample_rate=44100:duration=60", "-c:a", "aac", "-vn", "-f", "flv",
                      server.rtmp_url("live/aonly")},
                     pub_log("aonly"));
  ASSERT_TRUE(wait_for_stream(server, "live/vonly", 10000));
  ASSERT_TRUE(wait_for_stream(server, "live/aonly", 10000));
  auto v = probe_streams(server.flv_url("live/vonly"));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].codec_name, "h264");
  EXPECT_EQ(v[0].width, 320);
  auto a = probe_streams(server.rtmp_url("live/aonly"));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].codec_name, "aac");
  // Every output gets only the branches of the tracks present (a muxer would wait for the other).
  auto ts = probe_streams("http://127.0.0.1:" + std::to_string(server.http_port()) + "/live/vonly.ts");
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].codec_name, "h264");
  auto ats = probe_streams("http://127.0.0.1:" + std::to_string(server.http_port()) + "/live/aonly.ts");
  ASSERT_EQ(ats.size(), 1u);
  EXPECT_EQ(ats[0].codec_name, "aac");
  std::this_thread::sleep_for(3s);  // the first HLS segment needs a target duration of media
  auto hls = probe_streams("http://127.0.0.1:" + std::to_string(server.http_port()) + "/live/vonly.m3u8");
  ASSERT_EQ(hls.size(), 1u);
  EXPECT_EQ(hls[0].codec_name, "h264");
}

TEST_F(Foundation, TwoStreamsStaySeparate) {
  Process a = start_publisher(server.rtmp_url("live/a"), 640, 360, pub_log("a"));
  Process b = start_publisher(server.rtmp_url("live/b"), 320, 240, pub_log("b"));
  ASSERT_TRUE(wait_for_stream(server, "live/a", 10000));
  ASSERT_TRUE(wait_for_stream(server, "live/b", 10000));
  expect_h264_aac(probe_streams(server.flv_url("live/a")), 640, 360, "a over http-flv");
  expect_h264_aac(probe_streams(server.flv_url("live/b")), 320, 240, "b over http-flv");
  expect_h264_aac(probe_streams(server.rtmp_url("live/b")), 320, 240, "b over rtmp");
  EXPECT_EQ(api_stream_count(server), 2);
}

TEST_F(Foundation, PublisherLeavesThenReturns) {
  {
    Process pub = start_publisher(server.rtmp_url("live/cycle"), 320, 240, pub_log("pub1"));
    ASSERT_TRUE(wait_for_stream(server, "live/cycle", 10000));
    Process flv_player(
        {"ffmpeg", "-hide_banner", "-loglevel", "error", "-i", server.flv_url("live/cycle"), "-f", "null", "-"},
        pub_log("flvplayer"));
    Process rtmp_player(
        {"ffmpeg", "-hide_banner", "-loglevel", "error", "-i", server.rtmp_url("live/cycle"), "-f", "null", "-"},
        pub_log("rtmpplayer"));
    std::this_thread::sleep_for(2s);
    ASSERT_TRUE(flv_player.running());
    ASSERT_TRUE(rtmp_player.running());
    pub.signal(SIGINT);  // ffmpeg closes its RTMP session
    EXPECT_NE(pub.wait(5000), -1);
    // Players see the end of the stream and exit on their own.
    EXPECT_NE(flv_player.wait(10000), -1) << "HTTP-FLV player did not end";
    EXPECT_NE(rtmp_player.wait(10000), -1) << "RTMP player did not end";
  }
  bool gone = false;
  for (int i = 0; i < 50 && !gone; ++i) {
    gone = api_stream_count(server) == 0 && api_clients(server) == 0;
    if (!gone) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(gone) << "stream or clients still listed after the publisher left";
  Process pub2 = start_publisher(server.rtmp_url("live/cycle"), 640, 360, pub_log("pub2"));
  ASSERT_TRUE(wait_for_stream(server, "live/cycle", 10000));
  expect_h264_aac(probe_streams(server.flv_url("live/cycle")), 640, 360, "after republish");
}

TEST_F(Foundation, GarbageOnRtmpPortClosesOnlyThatConnection) {
  Process pub = start_publisher(server.rtmp_url("live/steady"), 320, 240, pub_log("pub"));
  ASSERT_TRUE(wait_for_stream(server, "live/steady", 10000));
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(uint16_t(server.rtmp_port()));
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::mt19937 rng(42);
  std::vector<uint8_t> junk(2048);
  for (auto& b : junk) b = uint8_t(rng());
  junk[0] = 0x03;  // a valid version byte, so the garbage reaches the handshake and chunk parser
  ASSERT_EQ(send(fd, junk.data(), junk.size(), MSG_NOSIGNAL), ssize_t(junk.size()));
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[8192];
  ssize_t n = 0;
  bool closed = false;
  for (int i = 0; i < 100; ++i) {
    n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      closed = n == 0 || errno == ECONNRESET;
      break;
    }
  }
  close(fd);
  EXPECT_TRUE(closed) << "server did not close the garbage connection";
  EXPECT_TRUE(pub.running());
  expect_h264_aac(probe_streams(server.flv_url("live/steady")), 320, 240, "stream after garbage");
  // Fully random first byte (not an RTMP version) is refused as well.
  auto r =
      run({"sh", "-c", "head -c 2048 /dev/urandom > /dev/tcp/127.0.0.1/" + std::to_string(server.rtmp_port())}, 10);
  (void)r;
  EXPECT_TRUE(pub.running());
  expect_h264_aac(probe_streams(server.rtmp_url("live/steady")), 320, 240, "rtmp after garbage");
}

TEST_F(Foundation, ApiDeleteKicksAPlayer) {
  Process pub = start_publisher(server.rtmp_url("live/kick"), 320, 240, pub_log("pub"));
  ASSERT_TRUE(wait_for_stream(server, "live/kick", 10000));
  Process player({"ffmpeg", "-hide_banner", "-loglevel", "error", "-i", server.flv_url("live/kick"), "-f", "null", "-"},
                 pub_log("player"));
  std::string player_id;
  for (int i = 0; i < 50 && player_id.empty(); ++i) {
    std::vector<std::pair<std::string, std::string>> clients;
    api_clients(server, &clients);
    for (auto& [id, type] : clients)
      if (type == "flv-play") player_id = id;
    if (player_id.empty()) std::this_thread::sleep_for(100ms);
  }
  ASSERT_FALSE(player_id.empty());
  std::string body;
  EXPECT_EQ(
      http_request("DELETE", "http://127.0.0.1:" + std::to_string(server.api_port()) + "/api/v1/clients/" + player_id,
                   &body),
      200)
      << body;
  EXPECT_NE(player.wait(10000), -1) << "kicked player still running";
  std::vector<std::pair<std::string, std::string>> after;
  for (int i = 0; i < 30; ++i) {
    after.clear();
    api_clients(server, &after);
    if (after.size() == 1) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].second, "fmle-publish");
  EXPECT_TRUE(pub.running()) << "kicking a player must not touch the publisher";
}

TEST_F(Foundation, SecondPublisherRefusedDeadOneReplaced) {
  Process a = start_publisher(server.rtmp_url("live/busy"), 320, 240, pub_log("a"));
  ASSERT_TRUE(wait_for_stream(server, "live/busy", 10000));
  Process b = start_publisher(server.rtmp_url("live/busy"), 640, 360, pub_log("b"));
  EXPECT_NE(b.wait(10000), -1) << "second live publisher was not refused";
  EXPECT_NE(b.wait(0), 0);
  EXPECT_TRUE(a.running());
  expect_h264_aac(probe_streams(server.flv_url("live/busy")), 320, 240, "original publisher kept");
  // A stalled encoder (as after a network drop) is replaced by its reconnect within 2 s.
  a.signal(SIGSTOP);
  std::this_thread::sleep_for(1200ms);
  auto start = std::chrono::steady_clock::now();
  Process c = start_publisher(server.rtmp_url("live/busy"), 640, 360, pub_log("c"));
  bool replaced = false;
  while (!replaced && std::chrono::steady_clock::now() - start < 10s) {
    std::string body;
    http_request("GET", "http://127.0.0.1:" + std::to_string(server.api_port()) + "/api/v1/streams", &body);
    replaced = body.find("\"width\":640") != std::string::npos || body.find("\"width\" : 640") != std::string::npos;
    if (!replaced) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(replaced);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms) << "reconnect took too long";
  expect_h264_aac(probe_streams(server.flv_url("live/busy")), 640, 360, "reconnected publisher");
}

TEST(FoundationConfig, BadConfigRejectedWithLineNumber) {
  std::string dir = make_temp_dir();
  std::string path = dir + "/bad.conf";
  std::ofstream(path) << "[rtmp]\nport=1935\nchunk_size=banana\n";
  auto r = run({build_root() + "/src/server/estuary", "--config", path, "--check-config"}, 20);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("bad.conf:3"), std::string::npos) << r.err;
  // Starting for real is refused the same way.
  auto r2 = run({"env", "ESTUARY_RTMP_PORT=" + std::to_string(free_tcp_port()), build_root() + "/src/server/estuary",
                 "--config", path},
                20);
  EXPECT_NE(r2.exit_code, 0);
  EXPECT_NE(r2.err.find("bad.conf:3"), std::string::npos) << r2.err;
}

TEST(FoundationConfig, SighupRejectsBadConfigAndKeepsStreams) {
  std::string dir = make_temp_dir();
  std::string path = dir + "/estuary.conf";
  std::ofstream(path) << "[server]\nlog_level=info\n";
  Server server({}, {"--config", path});
  ASSERT_TRUE(server.start()) << server.log();
  Process pub = start_publisher(server.rtmp_url("live/hup"), 320, 240, server.dir() + "/pub.log");
  ASSERT_TRUE(wait_for_stream(server, "live/hup", 10000));
  std::ofstream(path) << "[server]\nlog_level=info\nunknown_key=1\n";
  server.process().signal(SIGHUP);
  std::this_thread::sleep_for(1s);
  EXPECT_NE(server.log().find("estuary.conf:3"), std::string::npos) << server.log();
  EXPECT_TRUE(server.process().running());
  expect_h264_aac(probe_streams(server.flv_url("live/hup")), 320, 240, "after rejected reload");
  std::ofstream(path) << "[server]\nlog_level=debug\n";
  server.process().signal(SIGHUP);
  std::this_thread::sleep_for(1s);
  EXPECT_NE(server.log().find("config-reload"), std::string::npos);
  expect_h264_aac(probe_streams(server.flv_url("live/hup")), 320, 240, "after good reload");
}

TEST(FoundationOutputs, FailedOutputRestartsWithBackoffWithoutTouchingIngest) {
  std::string dir = make_temp_dir();
  g_mkdir_with_parents((dir + "/pipelines.d").c_str(), 0755);
  std::ofstream(dir + "/estuary.conf") << "[outputs]\nrestart_backoff_ms=200\nrestart_backoff_max_ms=400\n";
  // A custom pipeline that fails after 10 video buffers, every time it runs.
  std::ofstream(dir + "/pipelines.d/failing.conf")
      << "[pipeline failing]\nmatch=live/*\ntrigger=publish\n"
         "launch=estuarysrc name=src stream={name} src.video ! queue ! identity error-after=10 ! fakesink\n";
  Server server({}, {"--config", dir + "/estuary.conf"});
  ASSERT_TRUE(server.start()) << server.log();
  Process pub = start_publisher(server.rtmp_url("live/restart"), 320, 240, server.dir() + "/pub.log");
  ASSERT_TRUE(wait_for_stream(server, "live/restart", 10000));
  std::this_thread::sleep_for(4s);
  const std::string log = server.log();
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t pos = log.find(needle); pos != std::string::npos; pos = log.find(needle, pos + 1)) ++n;
    return n;
  };
  EXPECT_GE(count("event=output-failed pipeline failing"), 2u) << log;
  EXPECT_GE(count("event=output-start pipeline failing"), 3u) << log;
  EXPECT_NE(log.find("restarts in 400 ms"), std::string::npos) << "backoff should double up to its maximum";
  // The ingest and the other outputs are untouched.
  EXPECT_TRUE(pub.running());
  expect_h264_aac(probe_streams(server.flv_url("live/restart")), 320, 240, "flv while a sibling output fails");
  EXPECT_EQ(log.find("event=unpublish"), std::string::npos) << "the stream must not end";
}

// HEAD answers what a GET would before its body (status, content type) without becoming a viewer:
// no client in the API, no fan-out attachment. A denied IP gets the GET's 403, a missing stream 404.
TEST(FoundationHttp, HeadOnLiveUrlsAnswersWithoutAttachingAViewer) {
  std::string dir = make_temp_dir();
  std::ofstream(dir + "/estuary.conf") << "[security:closed]\ndeny_play = 127.0.0.0/8\n";
  Server server({}, {"--config", dir + "/estuary.conf"});
  ASSERT_TRUE(server.start()) << server.log();
  Process open_pub = start_publisher(server.rtmp_url("live/head"), 160, 120, server.dir() + "/open.log", 15);
  Process closed_pub = start_publisher(server.rtmp_url("closed/head"), 160, 120, server.dir() + "/closed.log", 15);
  ASSERT_TRUE(wait_for_stream(server, "live/head", 10000));
  ASSERT_TRUE(wait_for_stream(server, "closed/head", 10000));
  const std::string base = "http://127.0.0.1:" + std::to_string(server.http_port());
  for (const auto& [ext, type] : {std::pair<std::string, std::string>{".flv", "video/x-flv"}, {".ts", "video/mp2t"}}) {
    std::string body = "unset";
    std::map<std::string, std::string> headers;
    EXPECT_EQ(http_request("HEAD", base + "/live/head" + ext, &body, &headers), 200) << ext;
    EXPECT_EQ(headers["Content-Type"], type) << ext;
    EXPECT_TRUE(body.empty()) << ext << ": HEAD answered with a body";
    EXPECT_EQ(http_request("HEAD", base + "/closed/head" + ext, nullptr), 403) << ext;
    EXPECT_EQ(http_request("HEAD", base + "/live/missing" + ext, nullptr), 404) << ext;
  }
  // Only the two publishers are clients: no HEAD left a flv-play/ts-play record behind.
  std::vector<std::pair<std::string, std::string>> clients;
  EXPECT_EQ(api_clients(server, &clients), 2);
  for (const auto& [id, type] : clients) EXPECT_EQ(type, "fmle-publish") << id;
  // Nor was one ever registered, and the fan-out was never asked: no flv/ts output started.
  const std::string log = server.log();
  for (const char* needle : {"type=flv-play", "type=ts-play", "output-start pipeline flv", "output-start pipeline ts"})
    EXPECT_EQ(log.find(needle), std::string::npos) << needle << "\n" << log;
  // A GET still plays after the HEADs.
  auto streams = probe_streams(server.flv_url("live/head"));
  EXPECT_EQ(streams.size(), 2u);
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  signal(SIGPIPE, SIG_IGN);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
