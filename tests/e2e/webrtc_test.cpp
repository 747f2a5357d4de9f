// Owns: end-to-end tests of WebRTC (issue #6): WHIP publish from a webrtcbin client → RTMP and HTTP-FLV
// with H.264 + AAC from the start; hostile WHIP/WHEP offers answered 4xx (or served) with the server
// still serving WHEP and RTMP afterwards; sessions ended by DELETE, by a vanished client (timeout) and
// by an API kick, leaving no client and no memory behind. Real binary, real clients (the webrtcbin
// client in tools/rtcclient, ffmpeg, ffprobe) on 127.0.0.1.
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.h"
#include "rtc_client.h"

using namespace estuary::e2e;
using namespace estuary::rtcclient;
using namespace std::chrono_literals;

namespace {

std::map<std::string, std::string> rtc_env(const std::map<std::string, std::string>& extra = {}) {
  // A port range of our own, so parallel servers on this host do not collide.
  const int base = 40000 + (getpid() % 200) * 100;
  std::map<std::string, std::string> env = {{"ESTUARY_RTC_INTERFACES", "127.0.0.1"},
                                            {"ESTUARY_RTC_PORT_MIN", std::to_string(base)},
                                            {"ESTUARY_RTC_PORT_MAX", std::to_string(base + 99)},
                                            {"ESTUARY_OUTPUTS_LINGER_MS", "500"}};
  for (const auto& [k, v] : extra) env[k] = v;
  return env;
}

std::string api_base(const Server& s) { return "http://127.0.0.1:" + std::to_string(s.api_port()); }
std::string whip_url(const Server& s, const std::string& stream) {
  return api_base(s) + "/rtc/v1/whip/?app=live&stream=" + stream;
}
std::string whep_url(const Server& s, const std::string& stream) {
  return api_base(s) + "/rtc/v1/whep/?app=live&stream=" + stream;
}

template <typename F>
bool eventually(F cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return cond();
}

int count_type(const Server& s, const std::string& type) {
  std::vector<std::pair<std::string, std::string>> clients;
  if (api_clients(s, &clients) < 0) return -1;
  int n = 0;
  for (auto& [id, t] : clients)
    if (t == type) ++n;
  return n;
}

std::string first_id_of(const Server& s, const std::string& type) {
  std::vector<std::pair<std::string, std::string>> clients;
  api_clients(s, &clients);
  for (auto& [id, t] : clients)
    if (t == type) return id;
  return "";
}

long rss_kb(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

struct PacketTimes {
  double first_video = -1, first_audio = -1;
  int video = 0, audio = 0;
};
// Packet times of the first seconds a player gets from url (ffprobe).
PacketTimes probe_packets(const std::string& url, int seconds) {
  auto r = run({"ffprobe", "-v", "error", "-rw_timeout", "5000000", "-read_intervals", "%+" + std::to_string(seconds),
                "-show_entries", "packet=codec_type,pts_time", "-of", "csv=p=0", url},
               20);
  PacketTimes t;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    auto comma = line.find(',');
    if (comma == std::string::npos) continue;
    std::string type = line.substr(0, comma);
    double pts = -1;
    try {
      pts = std::stod(line.substr(comma + 1));
    } catch (...) {
      continue;
    }
    if (type == "video") {
      if (t.first_video < 0) t.first_video = pts;
      ++t.video;
    } else if (type == "audio") {
      if (t.first_audio < 0) t.first_audio = pts;
      ++t.audio;
    }
  }
  return t;
}

void expect_h264_aac(const std::string& url, const std::string& what) {
  auto streams = probe_streams(url);
  bool h264 = false, aac = false;
  for (const auto& s : streams) {
    h264 = h264 || (s.codec_type == "video" && s.codec_name == "h264");
    aac = aac || (s.codec_type == "audio" && s.codec_name == "aac");
  }
  EXPECT_TRUE(h264) << what << ": no H.264";
  EXPECT_TRUE(aac) << what << ": no AAC";
  PacketTimes t = probe_packets(url, 2);
  EXPECT_GT(t.video, 10) << what;
  EXPECT_GT(t.audio, 10) << what << ": audio missing in the first seconds";
  ASSERT_GE(t.first_audio, 0) << what;
  EXPECT_LT(std::abs(t.first_audio - t.first_video), 0.5) << what << ": audio does not start with the video";
}

// A WHEP viewer that must receive decoded video, audio, and start on a keyframe.
void expect_whep_media(const Server& s, const std::string& stream, const std::string& what) {
  ViewerOptions vo;
  WhepViewer viewer(vo);
  ASSERT_EQ(viewer.negotiate(whep_url(s, stream)), 201) << what << ": " << viewer.error();
  EXPECT_EQ(viewer.last_http().content_type, "application/sdp");
  ASSERT_TRUE(viewer.wait_connected(10000)) << what;
  EXPECT_TRUE(eventually([&]() { return viewer.video_frames() >= 20 && viewer.audio_buffers() >= 20; }, 8000ms))
      << what << ": frames " << viewer.video_frames() << " audio " << viewer.audio_buffers();
  EXPECT_EQ(viewer.first_unit_keyframe(), 1) << what << ": the first video unit is not a keyframe";
  viewer.close(true);
}

class WebRtc : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { gst_init(nullptr, nullptr); }
};

// WHIP (H.264 + Opus from webrtcbin) → RTMP and HTTP-FLV players get H.264 + AAC, audio from the start;
// the publisher gets keyframe requests (its own encoder only makes one at the start).
TEST_F(WebRtc, WhipPublishReachesRtmpAndFlvWithAudio) {
  Server server(rtc_env({{"ESTUARY_RTC_PLI_INTERVAL_MS", "1000"}}));
  ASSERT_TRUE(server.start());
  PublisherOptions po;
  WhipPublisher pub(po);
  ASSERT_EQ(pub.negotiate(whip_url(server, "cam")), 201) << pub.error() << "\n" << server.log();
  EXPECT_EQ(pub.last_http().content_type, "application/sdp");
  EXPECT_NE(pub.last_http().location.find("/rtc/v1/session/"), std::string::npos);
  ASSERT_TRUE(pub.wait_connected(10000)) << server.log();
  ASSERT_TRUE(wait_for_stream(server, "live/cam", 10000)) << server.log();
  EXPECT_EQ(count_type(server, "rtc-publish"), 1);
  expect_h264_aac(server.rtmp_url("/live/cam"), "rtmp");
  expect_h264_aac("http://127.0.0.1:" + std::to_string(server.http_port()) + "/live/cam.flv", "http-flv");
  // Keyframes on request: the encoder's key-int is 1000 frames, so more than one came from PLI.
  EXPECT_TRUE(eventually([&]() { return pub.keyframes() >= 3; }, 5000ms)) << "keyframes " << pub.keyframes();
  // The RTMP rules: a second publisher of the live stream is refused.
  WhipPublisher second(po);
  EXPECT_EQ(second.negotiate(whip_url(server, "cam")), 409) << second.last_http().body;
  pub.close(true);
  EXPECT_TRUE(eventually([&]() { return api_clients(server) == 0 && api_stream_count(server) == 0; }, 5000ms));
}

// Hostile offers: each answered 4xx or served; afterwards WHEP and RTMP still work.
TEST_F(WebRtc, HostileOffersAreRefusedAndServerKeepsServing) {
  Server server(rtc_env());
  ASSERT_TRUE(server.start());
  Process publisher = start_publisher(server.rtmp_url("/live/h"), 320, 240, server.dir() + "/ffmpeg.log", 40);
  ASSERT_TRUE(wait_for_stream(server, "live/h", 15000)) << server.log();

  const std::string head = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n";
  const std::string transport =
      "c=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijklmn\r\n"
      "a=fingerprint:sha-256 11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:"
      "DD:EE:FF:00\r\na=setup:actpass\r\na=mid:0\r\na=rtcp-mux\r\n";
  std::string thousand = head;
  for (int i = 0; i < 1000; ++i) thousand += "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n";
  const std::string vp8 = head + "m=video 9 UDP/TLS/RTP/SAVPF 96 98\r\n" + transport +
                          "a=recvonly\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:98 VP9/90000\r\n";
  const std::string vp8_pub =
      head + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n" + transport + "a=sendonly\r\na=rtpmap:96 VP8/90000\r\n";
  struct Case {
    std::string name, url, body;
    int status;
  };
  const std::vector<Case> cases = {
      {"empty", whep_url(server, "h"), "", 400},
      {"garbage", whep_url(server, "h"), "GET / HTTP/1.1\r\n\r\n\x01\x02\x03 garbage", 400},
      {"vp8-only whep", whep_url(server, "h"), vp8, 422},
      {"vp8-only whip", whip_url(server, "vp8"), vp8_pub, 422},
      {"thousand m-lines", whep_url(server, "h"), thousand, 400},
      {"huge", whep_url(server, "h"), head + std::string(300000, 'a'), 413},
      {"unknown stream", whep_url(server, "nope"), vp8, 404},
      {"bad name", api_base(server) + "/rtc/v1/whep/?app=live&stream=a%20b", vp8, 400},
  };
  for (const auto& c : cases) {
    HttpResult r = http_post(c.url, c.body, "application/sdp");
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    EXPECT_FALSE(r.body.empty()) << c.name << ": no reason given";
  }
  EXPECT_EQ(http_post(whep_url(server, "h"), vp8, "text/plain").status, 415);
  // CORS preflight for browsers.
  EXPECT_EQ(http_send("OPTIONS", whep_url(server, "h")), 204);

  // An audio-only offer against the audio+video stream is served: audio only.
  {
    ViewerOptions vo;
    vo.video = false;
    WhepViewer audio_only(vo);
    ASSERT_EQ(audio_only.negotiate(whep_url(server, "h")), 201) << audio_only.error();
    ASSERT_TRUE(audio_only.wait_connected(10000));
    EXPECT_TRUE(eventually([&]() { return audio_only.audio_buffers() >= 20; }, 8000ms));
    EXPECT_EQ(audio_only.video_units(), 0u);
    audio_only.close(true);
  }
  // A different H.264 profile (High, no level-asymmetry) than the stream's: served with the offered label.
  {
    ViewerOptions vo;
    vo.profile_level_id = "640c1f";
    vo.level_asymmetry = false;
    vo.video_pt = 112;
    WhepViewer other(vo);
    ASSERT_EQ(other.negotiate(whep_url(server, "h") + "&eip=203.0.113.9"), 201) << other.error();
    EXPECT_NE(other.last_http().body.find("profile-level-id=640c1f"), std::string::npos) << other.last_http().body;
    // SRS's ?eip= adds the public address as a candidate; the loopback one still connects.
    EXPECT_NE(other.last_http().body.find(" 203.0.113.9 "), std::string::npos) << other.last_http().body;
    ASSERT_TRUE(other.wait_connected(10000));
    EXPECT_TRUE(eventually([&]() { return other.video_frames() >= 10; }, 8000ms));
    other.close(true);
  }
  // A stream with B-frames is refused to WebRTC viewers with a reason (WebRTC cannot carry them).
  {
    Process bframes({"ffmpeg",
                     "-hide_banner",
                     "-nostats",
                     "-loglevel",
                     "error",
                     "-re",
                     "-f",
                     "lavfi",
                     "-i",
                     "testsrc2=size=320x240:rate=25:duration=20",
                     "-f",
                     "lavfi",
                     "-i",
                     "sine=frequency=440:sample_rate=44100:duration=20",
                     "-c:v",
                     "libx264",
                     "-preset",
                     "veryfast",
                     "-bf",
                     "2",
                     "-g",
                     "25",
                     "-pix_fmt",
                     "yuv420p",
                     "-c:a",
                     "aac",
                     "-f",
                     "flv",
                     server.rtmp_url("/live/bf")},
                    server.dir() + "/ffmpeg-bf.log");
    ASSERT_TRUE(wait_for_stream(server, "live/bf", 15000));
    WhepViewer v{ViewerOptions{}};
    EXPECT_EQ(v.negotiate(whep_url(server, "bf")), 422);
    EXPECT_NE(v.last_http().body.find("B-frames"), std::string::npos) << v.last_http().body;
  }
  ASSERT_TRUE(server.process().running()) << server.log();
  expect_whep_media(server, "h", "after hostile offers");
  auto streams = probe_streams(server.rtmp_url("/live/h"));
  EXPECT_EQ(streams.size(), 2u) << "RTMP after hostile offers";
  EXPECT_TRUE(eventually([&]() { return count_type(server, "rtc-play") == 0; }, 5000ms));
}

// ?token= (or WHIP's bearer token) reaches on_publish/on_play through admission; a refusal is 403.
TEST_F(WebRtc, HooksSeeTokensAndRefusalIs403) {
  const int hook_port = free_tcp_port();
  const std::string dir = make_temp_dir();
  {
    std::ofstream f(dir + "/hook.py");
    f << "import json, sys\n"
         "from http.server import HTTPServer, BaseHTTPRequestHandler\n"
         "class H(BaseHTTPRequestHandler):\n"
         "    def log_message(self, *a): pass\n"
         "    def do_POST(self):\n"
         "        body = json.loads(self.rfile.read(int(self.headers.get('Content-Length', '0'))))\n"
         "        ok = 'token=good' in body.get('param', '')\n"
         "        data = b'0' if ok else b'denied'\n"
         "        self.send_response(200 if ok else 403)\n"
         "        self.send_header('Content-Length', str(len(data)))\n"
         "        self.end_headers()\n"
         "        self.wfile.write(data)\n"
         "HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n";
  }
  Process hooks({"python3", dir + "/hook.py", std::to_string(hook_port)}, dir + "/hook.log");
  const std::string url = "http://127.0.0.1:" + std::to_string(hook_port) + "/auth";
  ASSERT_TRUE(eventually([&]() { return http_send("POST", url, "{}", "application/json") != 0; }, 5000ms));
  // The NAT address from an environment variable ([rtc] candidate = $VAR).
  Server server(rtc_env({{"ESTUARY_HOOKS_ON_PUBLISH", url},
                         {"ESTUARY_HOOKS_ON_PLAY", url},
                         {"ESTUARY_RTC_CANDIDATE", "$PUBLIC_IP"},
                         {"PUBLIC_IP", "198.51.100.4"}}));
  ASSERT_TRUE(server.start());
  {
    WhipPublisher bad{PublisherOptions{}};
    EXPECT_EQ(bad.negotiate(whip_url(server, "t") + "&token=bad"), 403) << bad.last_http().body;
  }
  WhipPublisher good{PublisherOptions{}};
  ASSERT_EQ(good.negotiate(api_base(server) + "/whip/live/t", "good"), 201) << good.error();  // bearer token
  EXPECT_NE(good.last_http().body.find(" 198.51.100.4 "), std::string::npos) << good.last_http().body;
  ASSERT_TRUE(good.wait_connected(10000));
  ASSERT_TRUE(wait_for_stream(server, "live/t", 10000));
  {
    WhepViewer bad{ViewerOptions{}};
    EXPECT_EQ(bad.negotiate(api_base(server) + "/whep/live/t?token=bad"), 403) << bad.last_http().body;
  }
  WhepViewer viewer{ViewerOptions{}};
  ASSERT_EQ(viewer.negotiate(api_base(server) + "/whep/live/t?token=good"), 201) << viewer.error();
  ASSERT_TRUE(viewer.wait_connected(10000));
  EXPECT_TRUE(eventually([&]() { return viewer.video_frames() >= 5 && viewer.audio_buffers() >= 5; }, 8000ms));
  EXPECT_EQ(count_type(server, "rtc-play"), 1);
  viewer.close(true);
  good.close(true);
}

// DELETE, a client that vanishes, and an API kick all free the session; 50 sessions leave no memory.
TEST_F(WebRtc, SessionsEndByDeleteTimeoutAndKickWithoutLeaks) {
  Server server(rtc_env({{"ESTUARY_RTC_SESSION_TIMEOUT_MS", "3000"}}));
  ASSERT_TRUE(server.start());
  Process publisher = start_publisher(server.rtmp_url("/live/s"), 320, 240, server.dir() + "/ffmpeg.log", 180);
  ASSERT_TRUE(wait_for_stream(server, "live/s", 15000)) << server.log();

  std::string replayed_offer;
  // DELETE
  {
    WhepViewer v{ViewerOptions{}};
    ASSERT_EQ(v.negotiate(whep_url(server, "s")), 201) << v.error();
    ASSERT_TRUE(v.wait_connected(10000));
    EXPECT_EQ(count_type(server, "rtc-play"), 1);
    // Trickle ICE on the session (PATCH, RFC 8840 fragment).
    const std::string& loc = v.last_http().location;
    const std::string& offer = v.offer();
    const size_t mid_at = offer.find("a=mid:");
    ASSERT_NE(mid_at, std::string::npos);
    const std::string mid = offer.substr(mid_at + 6, offer.find_first_of("\r\n", mid_at) - mid_at - 6);
    const std::string cand = "a=candidate:1 1 UDP 2015363327 127.0.0.1 9 typ host\r\n";
    const std::string frag = "a=mid:" + mid + "\r\n" + cand;
    EXPECT_EQ(http_send("PATCH", loc, frag, "application/trickle-ice-sdpfrag"), 204);
    EXPECT_EQ(http_send("PATCH", loc, "a=mid:nope\r\n" + cand, "application/trickle-ice-sdpfrag"), 422);
    EXPECT_EQ(http_send("PATCH", loc, "a=candidate:junk\r\n", "application/trickle-ice-sdpfrag"), 400);
    EXPECT_EQ(http_send("PATCH", loc, frag, "text/plain"), 415);
    EXPECT_EQ(http_send("DELETE", loc + "x"), 404);  // the session URL's secret must match
    EXPECT_EQ(http_send("DELETE", v.last_http().location), 200);
    EXPECT_EQ(count_type(server, "rtc-play"), 0);
    EXPECT_EQ(http_send("DELETE", v.last_http().location), 404);  // gone
    replayed_offer = v.offer();
    v.close(false);
  }
  // Vanished: a WHIP publisher stops sending without DELETE → closed after the session timeout.
  {
    WhipPublisher p{PublisherOptions{}};
    ASSERT_EQ(p.negotiate(whip_url(server, "gone")), 201) << p.error();
    ASSERT_TRUE(p.wait_connected(10000));
    ASSERT_TRUE(wait_for_stream(server, "live/gone", 10000));
    p.close(false);
    EXPECT_TRUE(eventually([&]() { return count_type(server, "rtc-publish") == 0; }, 8000ms));
    EXPECT_NE(server.log().find("vanished without DELETE"), std::string::npos);
  }
  // A client that takes its answer and never connects (a replayed offer: nobody answers ICE) is
  // dropped after the timeout too.
  {
    HttpResult r = http_post(whep_url(server, "s"), replayed_offer, "application/sdp");
    EXPECT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(count_type(server, "rtc-play"), 1);
    EXPECT_TRUE(eventually([&]() { return count_type(server, "rtc-play") == 0; }, 8000ms));
    EXPECT_NE(server.log().find("not connected (ICE/DTLS) within"), std::string::npos);
  }
  // Kick through the API.
  {
    WhepViewer v{ViewerOptions{}};
    ASSERT_EQ(v.negotiate(whep_url(server, "s")), 201) << v.error();
    ASSERT_TRUE(v.wait_connected(10000));
    const std::string id = first_id_of(server, "rtc-play");
    ASSERT_FALSE(id.empty());
    std::string body;
    EXPECT_EQ(http_request("DELETE", api_base(server) + "/api/v1/clients/" + id, &body), 200) << body;
    EXPECT_EQ(count_type(server, "rtc-play"), 0);
    EXPECT_EQ(http_send("DELETE", v.last_http().location), 404);
    v.close(false);
  }
  // 50 sessions: memory returns near the level after the first few.
  auto one_session = [&]() {
    ViewerOptions vo;
    vo.decode = false;
    WhepViewer v(vo);
    if (v.negotiate(whep_url(server, "s")) != 201) return false;
    bool ok = v.wait_connected(10000) && eventually([&]() { return v.video_units() > 0; }, 5000ms);
    v.close(true);
    return ok;
  };
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(one_session());
  std::this_thread::sleep_for(1000ms);
  const long baseline = rss_kb(server.process().pid());
  int ok = 0;
  for (int i = 0; i < 50; ++i) ok += one_session() ? 1 : 0;
  EXPECT_EQ(ok, 50);
  EXPECT_TRUE(eventually([&]() { return count_type(server, "rtc-play") == 0; }, 5000ms));
  std::this_thread::sleep_for(1500ms);  // the shared feed lingers, then stops
  const long after = rss_kb(server.process().pid());
  EXPECT_LT(after - baseline, 20 * 1024) << "RSS " << baseline << " kB -> " << after << " kB";
  std::printf("[ RSS ] after 5 sessions %ld kB, after 50 more %ld kB\n", baseline, after);
  EXPECT_EQ(count_type(server, "fmle-publish"), 1);
  EXPECT_TRUE(server.process().running());
}

}  // namespace
