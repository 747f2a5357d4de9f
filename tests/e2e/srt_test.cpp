// Owns: end-to-end tests of the SRT server: real ffmpeg/ffprobe over SRT (libsrt) against the real
// binary on 127.0.0.1. Two publishers on one port, H.265, passphrases, refused stream ids and busy
// streams (with the live stream undisturbed), takeover of a dead publisher, link statistics in the
// API and /metrics, and 5 % packet loss through a UDP relay in the test. An Opus publish also plays
// over WHEP (the webrtcbin client of tools/rtcclient) and is recorded by the DVR.
#include <arpa/inet.h>
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <srt/access_control.h>
#include <srt/srt.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include "harness.h"
#include "rtc_client.h"

using namespace estuary::e2e;
using namespace std::chrono_literals;

namespace {

std::string srt_url(const Server& s, const std::string& stream_id, const std::string& extra = "") {
  return "srt://127.0.0.1:" + std::to_string(s.srt_port()) + "?streamid=" + stream_id + extra;
}
std::string publish_id(const std::string& path) { return "#!::r=" + path + ",m=publish"; }
std::string request_id(const std::string& path) { return "#!::r=" + path + ",m=request"; }

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string api(const Server& s, const std::string& path) {
  std::string body;
  http_request("GET", "http://127.0.0.1:" + std::to_string(s.api_port()) + path, &body);
  return body;
}

struct ClientInfo {
  std::string id, type, url;
  bool has_srt = false;
  double rtt_ms = -1;
  int64_t pkt_recv = 0, pkt_sent = 0, pkt_lost = 0, pkt_retrans = 0, pkt_dropped = 0;
};

std::vector<ClientInfo> clients(const Server& s) {
  std::vector<ClientInfo> out;
  JsonNode* root = parse_json(api(s, "/api/v1/clients?count=100"));
  if (!root) return out;
  JsonArray* arr = json_object_get_array_member(json_node_get_object(root), "clients");
  for (guint i = 0; arr && i < json_array_get_length(arr); ++i) {
    JsonObject* c = json_array_get_object_element(arr, i);
    ClientInfo ci;
    ci.id = json_object_get_string_member_with_default(c, "id", "");
    ci.type = json_object_get_string_member_with_default(c, "type", "");
    ci.url = json_object_get_string_member_with_default(c, "url", "");
    if (json_object_has_member(c, "srt")) {
      JsonObject* srt = json_object_get_object_member(c, "srt");
      ci.has_srt = true;
      ci.rtt_ms = json_object_get_double_member_with_default(srt, "rtt_ms", -1);
      ci.pkt_recv = json_object_get_int_member_with_default(srt, "pkt_recv", -1);
      ci.pkt_sent = json_object_get_int_member_with_default(srt, "pkt_sent", -1);
      ci.pkt_lost = json_object_get_int_member_with_default(srt, "pkt_lost", -1);
      ci.pkt_retrans = json_object_get_int_member_with_default(srt, "pkt_retrans", -1);
      ci.pkt_dropped = json_object_get_int_member_with_default(srt, "pkt_dropped", -1);
    }
    out.push_back(ci);
  }
  json_node_unref(root);
  return out;
}

const ClientInfo* find_client(const std::vector<ClientInfo>& cs, const std::string& type, const std::string& url) {
  for (const auto& c : cs)
    if (c.type == type && c.url == url) return &c;
  return nullptr;
}

// Connects to the server as an SRT caller with libsrt itself and returns the reject reason the
// listener gave (SRT_REJ_* or an SRT_REJX_* code), or 0 when the connection was accepted.
int srt_reject_reason(const Server& s, const std::string& stream_id, const std::string& passphrase = "") {
  SRTSOCKET sock = srt_create_socket();
  srt_setsockflag(sock, SRTO_STREAMID, stream_id.data(), int(stream_id.size()));
  if (!passphrase.empty()) srt_setsockflag(sock, SRTO_PASSPHRASE, passphrase.data(), int(passphrase.size()));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(uint16_t(s.srt_port()));
  const int r = srt_connect(sock, reinterpret_cast<sockaddr*>(&a), sizeof a);
  const int reason = r == SRT_ERROR ? srt_getrejectreason(sock) : 0;
  srt_close(sock);
  return reason;
}

// Video size, video codec and whether AAC audio is there, as ffprobe sees url.
struct Seen {
  std::string video_codec;
  int width = 0, height = 0;
  bool aac = false;
};
Seen probe(const std::string& url) {
  Seen s;
  for (const auto& st : probe_streams(url, 20)) {
    if (st.codec_type == "video") {
      s.video_codec = st.codec_name;
      s.width = st.width;
      s.height = st.height;
    }
    if (st.codec_type == "audio" && st.codec_name == "aac") s.aac = true;
  }
  return s;
}

// Frames ffprobe decoded per codec ("h264" -> 50) in the first seconds of url.
std::map<std::string, int> decoded_frames(const std::string& url, int seconds) {
  std::map<std::string, int> out;
  RunResult r =
      run({"ffprobe", "-v", "error", "-rw_timeout", "5000000", "-read_intervals", "%+" + std::to_string(seconds),
           "-count_frames", "-show_entries", "stream=codec_name,nb_read_frames", "-of", "json", url},
          seconds + 15);
  JsonNode* root = parse_json(r.out);
  if (!root) return out;
  JsonArray* arr = json_object_get_array_member(json_node_get_object(root), "streams");
  for (guint i = 0; arr && i < json_array_get_length(arr); ++i) {
    JsonObject* st = json_array_get_object_element(arr, i);
    out[json_object_get_string_member_with_default(st, "codec_name", "")] =
        std::atoi(json_object_get_string_member_with_default(st, "nb_read_frames", "0"));
  }
  json_node_unref(root);
  return out;
}

class Srt : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    srt_startup();
    gst_init(nullptr, nullptr);  // for the WHEP client
  }
  static void TearDownTestSuite() { srt_cleanup(); }
  void start_server(std::map<std::string, std::string> env = {}, std::vector<std::string> args = {}) {
    server = std::make_unique<Server>(std::move(env), std::move(args));
    ASSERT_TRUE(server->start()) << server->log();
  }
  void TearDown() override {
    if (HasFailure() && server) std::fprintf(stderr, "---- server log ----\n%s\n", server->log().c_str());
  }
  std::string log_path(const std::string& name) { return server->dir() + "/" + name + ".log"; }
  std::unique_ptr<Server> server;
};

TEST_F(Srt, TwoPublishersOnePortEachPlaysItsOwnContentEverywhere) {
  start_server();
  Process a = start_srt_publisher(srt_url(*server, publish_id("live/a")), 320, 240, log_path("pub-a"), 90);
  Process b = start_srt_publisher(srt_url(*server, publish_id("live/b")), 256, 144, log_path("pub-b"), 90);
  ASSERT_TRUE(wait_for_stream(*server, "live/a", 10000)) << read_file(log_path("pub-a"));
  ASSERT_TRUE(wait_for_stream(*server, "live/b", 10000)) << read_file(log_path("pub-b"));

  const std::pair<std::string, std::pair<int, int>> streams[] = {{"live/a", {320, 240}}, {"live/b", {256, 144}}};
  for (const auto& [path, size] : streams) {
    SCOPED_TRACE(path);
    const std::string urls[] = {srt_url(*server, request_id(path)), server->flv_url(path), server->rtmp_url(path)};
    for (const auto& url : urls) {
      SCOPED_TRACE(url);
      Seen s = probe(url);
      EXPECT_EQ(s.video_codec, "h264");
      EXPECT_EQ(s.width, size.first);
      EXPECT_EQ(s.height, size.second);
      EXPECT_TRUE(s.aac);
    }
  }
  // A late SRT joiner starts on a keyframe.
  EXPECT_EQ(first_video_frame_is_key(srt_url(*server, request_id("live/a")), 20), 1);

  // Both publishers show up with libsrt's link statistics.
  auto cs = clients(*server);
  for (const char* url : {"/live/a", "/live/b"}) {
    const ClientInfo* c = find_client(cs, "srt-publish", url);
    ASSERT_NE(c, nullptr) << url;
    EXPECT_TRUE(c->has_srt);
    EXPECT_GE(c->rtt_ms, 0);
    EXPECT_GT(c->pkt_recv, 100) << url;
  }
  // A player is listed as srt-play while it plays, with its own statistics.
  Process player({"ffmpeg", "-nostdin", "-loglevel", "error", "-i", srt_url(*server, request_id("live/b")), "-c",
                  "copy", "-f", "null", "-"},
                 log_path("player"));
  ASSERT_TRUE(wait_until(
      [&] {
        auto now = clients(*server);
        const ClientInfo* p = find_client(now, "srt-play", "/live/b");
        return p && p->has_srt && p->pkt_sent > 50;
      },
      8000));
  std::string metrics = api(*server, "/metrics");
  EXPECT_NE(metrics.find("estuary_srt_rtt_seconds{"), std::string::npos);
  EXPECT_NE(metrics.find("type=\"srt-play\""), std::string::npos);
  EXPECT_NE(metrics.find("estuary_srt_packets_retransmitted_total{"), std::string::npos);
  // DELETE on the client kicks it: the SRT connection ends and the player gives up.
  std::string player_id;
  for (const auto& c : clients(*server))
    if (c.type == "srt-play") player_id = c.id;
  std::string body;
  EXPECT_EQ(
      http_request("DELETE", "http://127.0.0.1:" + std::to_string(server->api_port()) + "/api/v1/clients/" + player_id,
                   &body),
      200)
      << body;
  EXPECT_TRUE(wait_until([&] { return find_client(clients(*server), "srt-play", "/live/b") == nullptr; }, 8000));
  EXPECT_NE(player.wait(8000), -1) << "the kicked player is still running";

  // The publisher leaves: its stream ends cleanly.
  a.kill_now();
  EXPECT_TRUE(wait_until([&] { return !wait_for_stream(*server, "live/a", 1); }, 8000));
  EXPECT_TRUE(wait_for_stream(*server, "live/b", 1000));
}

TEST_F(Srt, HevcPlaysOverSrtHttpTsAndHls) {
  start_server({{"ESTUARY_HLS_VARIANT", "ts"}});  // MPEG-TS HLS (CMAF: e2e_cmaf)
  Process pub = start_srt_publisher(srt_url(*server, publish_id("live/h")), 320, 240, log_path("pub-h"), 30, "libx265");
  ASSERT_TRUE(wait_for_stream(*server, "live/h", 15000)) << read_file(log_path("pub-h"));
  const std::string http = "http://127.0.0.1:" + std::to_string(server->http_port()) + "/live/h";
  for (const std::string& url : {srt_url(*server, request_id("live/h")), http + ".ts"}) {
    SCOPED_TRACE(url);
    Seen s = probe(url);
    EXPECT_EQ(s.video_codec, "hevc");
    EXPECT_EQ(s.width, 320);
    EXPECT_TRUE(s.aac);
  }
  // HLS: the first segment exists once a keyframe interval (1 s) past the target duration.
  ASSERT_TRUE(wait_until(
      [&] {
        std::string body;
        return http_request("GET", http + ".m3u8", &body) == 200 && body.find(".ts") != std::string::npos;
      },
      15000));
  EXPECT_EQ(probe(http + ".m3u8").video_codec, "hevc");
}

// Opus over SRT: MPEG-TS outputs (HTTP-TS, SRT play, HLS) pass it through; FLV cannot carry Opus,
// so the shared FLV mux re-encodes it to AAC for HTTP-FLV and RTMP viewers, and the DVR records AAC.
// WHEP viewers get the Opus as it is (no AAC decode in the WebRTC feed).
TEST_F(Srt, OpusPassesThroughTsSrtAndHlsAndIsAacInFlv) {
  const std::string rec = make_temp_dir();
  const int rtc_base = 20000 + (getpid() % 100) * 100;  // below the ephemeral ports, apart from e2e_webrtc's
  start_server({{"ESTUARY_HLS_VARIANT", "ts"},          // Opus in MPEG-TS HLS
                {"ESTUARY_DVR_ENABLED", "true"},
                {"ESTUARY_DVR_PATH", rec + "/[app]/[stream]"},
                {"ESTUARY_RTC_INTERFACES", "127.0.0.1"},
                {"ESTUARY_RTC_PORT_MIN", std::to_string(rtc_base)},
                {"ESTUARY_RTC_PORT_MAX", std::to_string(rtc_base + 99)}});
  Process pub = start_srt_publisher(srt_url(*server, publish_id("live/op")), 256, 144, log_path("pub-op"), 25,
                                    "libx264", "libopus");
  ASSERT_TRUE(wait_for_stream(*server, "live/op", 10000)) << read_file(log_path("pub-op"));
  {
    estuary::rtcclient::WhepViewer viewer(estuary::rtcclient::ViewerOptions{});
    ASSERT_EQ(
        viewer.negotiate("http://127.0.0.1:" + std::to_string(server->api_port()) + "/rtc/v1/whep/?app=live&stream=op"),
        201)
        << viewer.error() << viewer.last_http().body;
    ASSERT_TRUE(viewer.wait_connected(10000));
    EXPECT_TRUE(wait_until([&] { return viewer.video_frames() >= 20 && viewer.audio_buffers() >= 20; }, 8000))
        << "WHEP: video " << viewer.video_frames() << " audio " << viewer.audio_buffers();
    viewer.close(true);
    EXPECT_NE(server->log().find("event=rtc-feed started: estuarysrc name=src stream=live/op"), std::string::npos);
    EXPECT_EQ(server->log().find("avdec_aac"), std::string::npos) << "the WebRTC feed decoded the Opus source";
  }
  const std::string http = "http://127.0.0.1:" + std::to_string(server->http_port()) + "/live/op";
  for (const std::string& url : {http + ".ts", srt_url(*server, request_id("live/op"))}) {
    SCOPED_TRACE(url);
    auto frames = decoded_frames(url, 2);
    EXPECT_GT(frames["h264"], 20);
    EXPECT_GT(frames["opus"], 50);  // 20 ms frames
    EXPECT_EQ(frames.count("aac"), 0u);
  }
  auto flv = decoded_frames(server->flv_url("live/op"), 2);
  EXPECT_GT(flv["h264"], 20);
  EXPECT_GT(flv["aac"], 40);  // 1024-sample frames at 48 kHz
  EXPECT_NE(server->log().find("event=output-audio pipeline flv: Opus audio re-encoded to AAC"), std::string::npos);
  // HLS segments carry the Opus track too (1.22 needs a fresh muxer per segment for it).
  ASSERT_TRUE(wait_until(
      [&] {
        std::string body;
        // two segments: the second was cut by a muxer that was reset
        return http_request("GET", http + ".m3u8", &body) == 200 && body.find(".ts") != body.rfind(".ts");
      },
      10000));
  auto hls = decoded_frames(http + ".m3u8", 2);
  EXPECT_GT(hls["h264"], 20);
  EXPECT_GT(hls["opus"], 50);
  EXPECT_EQ(server->log().find("Stream type change"), std::string::npos);
  // The DVR's FLV file (still being written) has the video and the Opus re-encoded to AAC.
  auto dvr = decoded_frames(rec + "/live/op.flv", 2);
  EXPECT_GT(dvr["h264"], 20) << rec;
  EXPECT_GT(dvr["aac"], 40);
}

TEST_F(Srt, PassphrasePerAppWrongIsRejectedRightIsAccepted) {
  const std::string dir = make_temp_dir();
  std::ofstream(dir + "/estuary.conf") << "[srt:secure]\npassphrase = correct-horse-battery\npbkeylen = 32\n";
  start_server({}, {"--config", dir + "/estuary.conf"});
  Process wrong = start_srt_publisher(srt_url(*server, publish_id("secure/x"), "&passphrase=wrong-horse-battery"), 160,
                                      120, log_path("pub-wrong"), 10);
  Process none = start_srt_publisher(srt_url(*server, publish_id("secure/y")), 160, 120, log_path("pub-none"), 10);
  EXPECT_NE(wrong.wait(8000), -1) << "publisher with a wrong passphrase still running";
  EXPECT_NE(none.wait(8000), -1) << "publisher without a passphrase still running";
  EXPECT_NE(wrong.wait(0), 0);
  EXPECT_FALSE(wait_for_stream(*server, "secure/x", 200));
  EXPECT_FALSE(wait_for_stream(*server, "secure/y", 200));
  // The reasons the caller gets: a wrong passphrase, and none where the app requires one.
  EXPECT_EQ(srt_reject_reason(*server, publish_id("secure/z"), "wrong-horse-battery"), SRT_REJ_BADSECRET);
  EXPECT_EQ(srt_reject_reason(*server, publish_id("secure/z")), SRT_REJ_UNSECURE);

  Process right =
      start_srt_publisher(srt_url(*server, publish_id("secure/x"), "&passphrase=correct-horse-battery&pbkeylen=32"),
                          160, 120, log_path("pub-right"), 30);
  ASSERT_TRUE(wait_for_stream(*server, "secure/x", 10000)) << read_file(log_path("pub-right"));
  // Players of that app need it too; other apps have no passphrase.
  EXPECT_EQ(probe(srt_url(*server, request_id("secure/x"), "&passphrase=correct-horse-battery")).width, 160);
  EXPECT_EQ(probe(srt_url(*server, request_id("secure/x"))).width, 0);
  Process open_pub = start_srt_publisher(srt_url(*server, publish_id("live/open")), 160, 120, log_path("pub-open"), 30);
  EXPECT_TRUE(wait_for_stream(*server, "live/open", 10000)) << read_file(log_path("pub-open"));
}

TEST_F(Srt, MalformedStreamIdAndBusyStreamAreRejectedLiveStreamUndisturbed) {
  start_server();
  Process pub = start_srt_publisher(srt_url(*server, publish_id("live/a")), 320, 240, log_path("pub-a"), 40);
  ASSERT_TRUE(wait_for_stream(*server, "live/a", 10000)) << read_file(log_path("pub-a"));
  std::string publisher_id;
  for (const auto& c : clients(*server))
    if (c.type == "srt-publish") publisher_id = c.id;
  ASSERT_FALSE(publisher_id.empty());

  Process bad_id = start_srt_publisher(srt_url(*server, "#!::m=publish,r=live"), 160, 120, log_path("bad-id"), 10);
  Process bad_mode =
      start_srt_publisher(srt_url(*server, "#!::r=live/a,m=bidirectional"), 160, 120, log_path("bad-mode"), 10);
  Process busy = start_srt_publisher(srt_url(*server, publish_id("live/a")), 160, 120, log_path("busy"), 10);
  for (Process* p : {&bad_id, &bad_mode, &busy}) {
    EXPECT_NE(p->wait(8000), -1) << "a refused publisher is still running";
    EXPECT_NE(p->wait(0), 0);
  }
  // Refused during the handshake, each with its SRT reject reason (as a caller sees it).
  EXPECT_EQ(srt_reject_reason(*server, "#!::m=publish,r=live"), SRT_REJX_BAD_REQUEST);
  EXPECT_EQ(srt_reject_reason(*server, "#!::r=live/a,m=bidirectional"), SRT_REJX_BAD_MODE);
  EXPECT_EQ(srt_reject_reason(*server, ""), SRT_REJX_BAD_REQUEST);
  EXPECT_EQ(srt_reject_reason(*server, publish_id("live/a")), SRT_REJX_CONFLICT);
  const std::string log = server->log();
  EXPECT_NE(log.find("code=1400"), std::string::npos) << "malformed stream id";
  EXPECT_NE(log.find("code=1409"), std::string::npos) << "busy stream";

  // The live stream and its publisher were not touched.
  EXPECT_TRUE(pub.running());
  auto cs = clients(*server);
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].id, publisher_id);
  Seen s = probe(srt_url(*server, request_id("live/a")));
  EXPECT_EQ(s.width, 320);
  EXPECT_TRUE(s.aac);
}

TEST_F(Srt, ReconnectingEncoderTakesOverADeadPublisherWithinTwoSeconds) {
  start_server();
  Process old_pub = start_srt_publisher(srt_url(*server, publish_id("live/t")), 320, 240, log_path("old"), 40);
  ASSERT_TRUE(wait_for_stream(*server, "live/t", 10000)) << read_file(log_path("old"));
  const auto before = clients(*server);
  const ClientInfo* first = find_client(before, "srt-publish", "/live/t");
  ASSERT_NE(first, nullptr);
  const std::string old_id = first->id;
  old_pub.signal(SIGSTOP);              // the encoder hangs: the SRT link is still up, no data comes
  std::this_thread::sleep_for(1200ms);  // past [rtmp] takeover_idle_ms (1000)
  const auto started = std::chrono::steady_clock::now();
  Process new_pub = start_srt_publisher(srt_url(*server, publish_id("live/t")), 256, 144, log_path("new"), 40);
  ASSERT_TRUE(wait_until(
      [&] {
        auto cs = clients(*server);
        const ClientInfo* p = find_client(cs, "srt-publish", "/live/t");
        return p && p->id != old_id && cs.size() == 1 && wait_for_stream(*server, "live/t", 1);
      },
      4000));
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LT(took, 2500ms) << "takeover took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                          << " ms (ffmpeg start-up included)";
  std::printf("takeover: new publisher live %lld ms after its ffmpeg started\n",
              (long long)std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
  EXPECT_EQ(probe(srt_url(*server, request_id("live/t"))).width, 256);
  old_pub.signal(SIGCONT);
}

TEST_F(Srt, VanishedPublisherEndsItsStreamWithinThePeerIdleTimeout) {
  start_server({{"ESTUARY_SRT_PEER_IDLE_TIMEOUT_MS", "2000"}});
  Process pub = start_srt_publisher(srt_url(*server, publish_id("live/v")), 160, 120, log_path("pub-v"), 30);
  ASSERT_TRUE(wait_for_stream(*server, "live/v", 10000)) << read_file(log_path("pub-v"));
  pub.signal(SIGSTOP);  // gone without a goodbye: no data, no keep-alives
  const auto stopped = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until([&] { return api_stream_count(*server) == 0 && api_clients(*server) == 0; }, 6000));
  const auto took = std::chrono::steady_clock::now() - stopped;
  EXPECT_GE(took, 1500ms);
  EXPECT_LT(took, 3500ms) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  EXPECT_NE(server->log().find("event=unpublish"), std::string::npos);
  std::printf("vanished publisher: stream ended %lld ms after it stopped (peer_idle_timeout_ms=2000)\n",
              (long long)std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
  pub.signal(SIGCONT);
}

// Forwards UDP between one SRT caller and the server, dropping `loss` of the packets in each
// direction at random. Bounded: one datagram in flight per direction, no queue.
class LossyRelay {
 public:
  LossyRelay(int server_port, double loss) : loss_(loss) {
    front_ = socket(AF_INET, SOCK_DGRAM, 0);
    back_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(front_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(front_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    server_.sin_family = AF_INET;
    server_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    server_.sin_port = htons(uint16_t(server_port));
    thread_ = std::thread([this] { run(); });
  }
  ~LossyRelay() {
    stop_ = true;
    thread_.join();
    close(front_);
    close(back_);
  }
  int port() const { return port_; }
  uint64_t forwarded() const { return forwarded_; }
  uint64_t dropped() const { return dropped_; }

 private:
  void run() {
    std::mt19937 rng(12345);
    std::uniform_real_distribution<double> u(0, 1);
    sockaddr_in client{};
    bool have_client = false;
    char buf[2048];
    while (!stop_) {
      pollfd fds[2] = {{front_, POLLIN, 0}, {back_, POLLIN, 0}};
      if (poll(fds, 2, 50) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        sockaddr_in from{};
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(front_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
        if (n > 0) {
          client = from;
          have_client = true;
          if (u(rng) < loss_) {
            ++dropped_;
          } else {
            sendto(back_, buf, size_t(n), 0, reinterpret_cast<sockaddr*>(&server_), sizeof server_);
            ++forwarded_;
          }
        }
      }
      if (fds[1].revents & POLLIN) {
        ssize_t n = recv(back_, buf, sizeof buf, 0);
        if (n > 0 && have_client) {
          if (u(rng) < loss_) {
            ++dropped_;
          } else {
            sendto(front_, buf, size_t(n), 0, reinterpret_cast<sockaddr*>(&client), sizeof client);
            ++forwarded_;
          }
        }
      }
    }
  }
  double loss_;
  int front_ = -1, back_ = -1, port_ = 0;
  sockaddr_in server_{};
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> forwarded_{0}, dropped_{0};
};

TEST_F(Srt, FivePercentLossIsRecoveredWithinTheLatencyWindow) {
  start_server({{"ESTUARY_SRT_LATENCY_MS", "500"}});
  LossyRelay relay(server->srt_port(), 0.05);
  const std::string via_relay =
      "srt://127.0.0.1:" + std::to_string(relay.port()) + "?latency=500000&streamid=" + publish_id("live/loss");
  Process pub = start_srt_publisher(via_relay, 320, 240, log_path("pub-loss"), 20);
  ASSERT_TRUE(wait_for_stream(*server, "live/loss", 10000)) << read_file(log_path("pub-loss"));
  // A player decodes everything for 15 s; ffmpeg reports every broken frame at level error.
  RunResult play = run({"ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-loglevel", "error", "-i",
                        srt_url(*server, request_id("live/loss")), "-t", "15", "-f", "null", "-"},
                       30);
  auto cs = clients(*server);
  const ClientInfo* p = find_client(cs, "srt-publish", "/live/loss");
  ASSERT_NE(p, nullptr);
  EXPECT_GT(relay.dropped(), 50u) << "the relay dropped too little to test anything";
  EXPECT_GT(p->pkt_lost, 20) << "libsrt saw no loss";
  EXPECT_GT(p->pkt_retrans, 20) << "nothing was retransmitted";
  EXPECT_EQ(play.exit_code, 0) << play.err;
  // Packets libsrt gave up on (too late to play) are all the loss a player may see: none when it
  // recovered everything, else a few broken-frame lines per packet at most.
  size_t error_lines = 0;
  for (size_t pos = 0; (pos = play.err.find('\n', pos)) != std::string::npos; ++pos) ++error_lines;
  if (p->pkt_dropped == 0) {
    EXPECT_EQ(play.err, "") << "decode errors although SRT recovered every packet";
  } else {
    EXPECT_LE(error_lines, size_t(10 * p->pkt_dropped)) << play.err;
  }
  std::printf("player: %zu decode error lines\n", error_lines);
  std::printf("relay dropped %llu of %llu packets; server: lost %lld retransmitted %lld dropped %lld\n",
              (unsigned long long)relay.dropped(), (unsigned long long)(relay.dropped() + relay.forwarded()),
              (long long)p->pkt_lost, (long long)p->pkt_retrans, (long long)p->pkt_dropped);
}

}  // namespace
