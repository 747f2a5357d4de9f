// Owns: end-to-end tests of the browser pages (/players/) and of WebRTC in a real browser: the
// static pages as served, headless Chromium playing an RTMP-published stream over WHEP, and
// publishing its fake camera and microphone over WHIP to a stream that plays over HTTP-FLV, and at a high
// bitrate with and without the engine's transport-cc feedback.
#include <glib.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "chromium.h"
#include "harness.h"

namespace estuary::e2e {
namespace {

using Clock = std::chrono::steady_clock;

std::string base_url(const Server& s) { return "http://127.0.0.1:" + std::to_string(s.http_port()); }

std::string page_url(const Server& s, const std::string& page, const std::string& stream,
                     const std::string& extra = "") {
  return base_url(s) + "/players/" + page + "?app=live&stream=" + stream +
         "&api=127.0.0.1:" + std::to_string(s.api_port()) + extra;
}

std::string tail(const std::string& s, size_t n = 3000) { return s.size() > n ? s.substr(s.size() - n) : s; }

// What a failed browser test prints: the page's state, its console, the browser's and server's logs.
std::string diagnostics(Chromium& c, Server& s) {
  std::string state =
      c.evaluate_string("JSON.stringify(window.estuaryState || null, (k, v) => k === 'pc' ? undefined : v)");
  return "page state: " + state + "\nconsole:\n" + c.console() + "chromium log (tail):\n" + tail(c.log(), 1500) +
         "\nserver log (tail):\n" + tail(s.log());
}

bool has_client_type(const Server& s, const std::string& type) {
  std::vector<std::pair<std::string, std::string>> clients;
  if (api_clients(s, &clients) < 0) return false;
  for (auto& [id, t] : clients)
    if (t == type) return true;
  return false;
}

// ---- the pages as served (no browser) --------------------------------------------------------

TEST(PlayerPages, ServedWithContentTypesAndNothingElse) {
  Server server;
  ASSERT_TRUE(server.start()) << server.log();
  std::string body;
  std::map<std::string, std::string> headers;
  ASSERT_EQ(http_request("GET", base_url(server) + "/players/whep.html", &body, &headers), 200);
  EXPECT_EQ(headers["Content-Type"], "text/html; charset=utf-8");
  EXPECT_NE(body.find("estuary-rtc.js"), std::string::npos);
  headers.clear();
  ASSERT_EQ(http_request("GET", base_url(server) + "/players/whip.html", &body, &headers), 200);
  EXPECT_NE(body.find("setCodecPreferences"), std::string::npos);
  headers.clear();
  ASSERT_EQ(http_request("GET", base_url(server) + "/players/estuary-rtc.js", &body, &headers), 200);
  EXPECT_EQ(headers["Content-Type"], "text/javascript; charset=utf-8");
  EXPECT_NE(body.find("/rtc/v1/"), std::string::npos);
  // The index, with and without the trailing slash (a redirect, followed by the client).
  ASSERT_EQ(http_request("GET", base_url(server) + "/players/", &body), 200);
  EXPECT_NE(body.find("whep.html"), std::string::npos);
  ASSERT_EQ(http_request("GET", base_url(server) + "/players", &body), 200);
  EXPECT_NE(body.find("whep.html"), std::string::npos);

  // Only files that were loaded can be named: traversal and unknown paths are 404, other methods 405.
  // (libsoup itself answers 400 to some encoded forms.)
  for (const char* path : {"/players/../conf/estuary.conf", "/players/%2e%2e/%2e%2e/etc/passwd",
                           "/players/..%2f..%2fREADME.md", "/players/nope.html", "/www/players/whep.html",
                           "/players/whep.html/", "//etc/passwd", "/players/whep.html%00.flv"}) {
    int status = http_request("GET", base_url(server) + path, &body);
    EXPECT_TRUE(status == 404 || status == 400) << path << " answered " << status;
  }
  EXPECT_EQ(http_request("POST", base_url(server) + "/players/whep.html", &body), 405);
  EXPECT_EQ(http_request("HEAD", base_url(server) + "/players/whip.html", &body), 200);
}

TEST(PlayerPages, ConfiguredDirectoryServesOnlyPlainFiles) {
  std::string dir = make_temp_dir();
  ASSERT_TRUE(g_file_set_contents((dir + "/index.html").c_str(), "<p>mine</p>", -1, nullptr));
  ASSERT_EQ(g_mkdir_with_parents((dir + "/sub").c_str(), 0700), 0);
  ASSERT_TRUE(g_file_set_contents((dir + "/sub/a.css").c_str(), "p{}", -1, nullptr));
  ASSERT_TRUE(g_file_set_contents((dir + "/.hidden.html").c_str(), "x", -1, nullptr));
  ASSERT_TRUE(g_file_set_contents((dir + "/data.bin").c_str(), "x", -1, nullptr));
  ASSERT_EQ(symlink("/etc/hostname", (dir + "/link.txt").c_str()), 0);
  Server server(std::map<std::string, std::string>{{"ESTUARY_HTTP_WWW_DIR", dir}});
  ASSERT_TRUE(server.start()) << server.log();
  std::string body;
  std::map<std::string, std::string> headers;
  ASSERT_EQ(http_request("GET", base_url(server) + "/", &body), 200);
  EXPECT_EQ(body, "<p>mine</p>");
  ASSERT_EQ(http_request("GET", base_url(server) + "/sub/a.css", &body, &headers), 200);
  EXPECT_EQ(headers["Content-Type"], "text/css; charset=utf-8");
  for (const char* path : {"/.hidden.html", "/data.bin", "/link.txt", "/players/whep.html"})
    EXPECT_EQ(http_request("GET", base_url(server) + path, &body), 404) << path;
  server.stop();
  run({"rm", "-rf", dir}, 10);

  // A www_dir that is not a directory is a configuration error: the server does not start.
  Server bad(std::map<std::string, std::string>{{"ESTUARY_HTTP_WWW_DIR", "/nonexistent/www"}});
  EXPECT_FALSE(bad.start(5000));
  EXPECT_NE(bad.log().find("WWW_DIR: value \"/nonexistent/www\" is not an existing directory"), std::string::npos)
      << bad.log();
}

// ---- headless Chromium --------------------------------------------------------------------------

TEST(Browser, DevToolsDrivesServedPage) {
  Server server;
  ASSERT_TRUE(server.start()) << server.log();
  Chromium chromium;
  ASSERT_TRUE(chromium.start(page_url(server, "whep.html", "nothing"))) << chromium.error() << "\n" << chromium.log();
  ASSERT_TRUE(chromium.wait_true("document.readyState === 'complete' && !!window.estuaryState", 10000))
      << chromium.error() << "\n"
      << diagnostics(chromium, server);
  EXPECT_EQ(chromium.evaluate_string("estuaryState.kind"), "whep");
  EXPECT_EQ(chromium.evaluate_string("estuaryState.api"), "http://127.0.0.1:" + std::to_string(server.api_port()));
  EXPECT_EQ(chromium.evaluate_number("1 + 2"), 3);
  EXPECT_EQ(chromium.evaluate_string("Promise.resolve('awaited')"), "awaited");
  // A stream that does not exist ends in "failed" with the server's answer, not in a hang.
  EXPECT_TRUE(chromium.wait_true("estuaryState.state === 'failed' && estuaryState.error.includes('404')", 10000))
      << diagnostics(chromium, server);
}

// A UDP port range of this process's own (WebRTC sessions), so parallel servers do not collide.
std::map<std::string, std::string> rtc_env() {
  const int base = 30000 + (getpid() % 100) * 100;
  return {{"ESTUARY_RTC_INTERFACES", "127.0.0.1"},
          {"ESTUARY_RTC_PORT_MIN", std::to_string(base)},
          {"ESTUARY_RTC_PORT_MAX", std::to_string(base + 99)}};
}

// The page's RTCPeerConnection.getStats(), reduced to what the tests check, per kind (video, audio)
// and direction (inbound-rtp for WHEP, outbound-rtp for WHIP).
std::string stats_expression(const std::string& type) {
  return R"((async () => {
    const out = {};
    if (!window.estuaryState || !estuaryState.pc) return out;
    const report = await estuaryState.pc.getStats();
    report.forEach((r) => {
      if (r.type !== ')" +
         type + R"(') return;
      const codec = report.get(r.codecId);
      out[r.kind] = {codec: codec ? codec.mimeType : '', framesDecoded: r.framesDecoded || 0,
                     framesEncoded: r.framesEncoded || 0, width: r.frameWidth || 0,
                     samples: r.totalSamplesReceived || 0, concealed: r.concealedSamples || 0,
                     bytes: r.bytesReceived || r.bytesSent || 0};
    });
    return out;
  })())";
}

// MIME types compare case-insensitively (the SDP may say OPUS or opus).
std::string lower(std::string s) {
  for (char& c : s) c = char(g_ascii_tolower(c));
  return s;
}

struct TrackStats {
  std::string codec;
  double frames_decoded = 0, frames_encoded = 0, width = 0, samples = 0, concealed = 0, bytes = 0;
};

bool read_stats(Chromium& c, const std::string& type, TrackStats* video, TrackStats* audio) {
  JsonNode* root = c.evaluate(stats_expression(type));
  if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
    if (root) json_node_unref(root);
    return false;
  }
  JsonObject* obj = json_node_get_object(root);
  for (auto [kind, out] : {std::pair{"video", video}, std::pair{"audio", audio}}) {
    JsonNode* n = json_object_get_member(obj, kind);
    if (!n || !JSON_NODE_HOLDS_OBJECT(n)) continue;
    JsonObject* k = json_node_get_object(n);
    out->codec = json_object_get_string_member_with_default(k, "codec", "");
    out->frames_decoded = json_object_get_double_member_with_default(k, "framesDecoded", 0);
    out->frames_encoded = json_object_get_double_member_with_default(k, "framesEncoded", 0);
    out->width = json_object_get_double_member_with_default(k, "width", 0);
    out->samples = json_object_get_double_member_with_default(k, "samples", 0);
    out->concealed = json_object_get_double_member_with_default(k, "concealed", 0);
    out->bytes = json_object_get_double_member_with_default(k, "bytes", 0);
  }
  json_node_unref(root);
  return true;
}

// Thresholds of the WHEP test: within 5 s of "connected", 1.6 s of 25 fps video decoded and 1 s of
// 48 kHz audio received that the jitter buffer did not have to conceal.
constexpr int kWhepWindowMs = 5000;
constexpr double kMinFramesDecoded = 40;
constexpr double kMinRealAudioSamples = 48000;

// Chromium plays live/<stream> (published over RTMP by the caller) through the WHEP page: video and
// audio decode, keep decoding, and the page's Stop ends the session. check_answer looks at the
// answer the page got, before Stop.
void play_whep_in_chromium(Server& server, const std::string& stream,
                           const std::function<void(const std::string& answer)>& check_answer = {},
                           const std::function<void(Chromium&)>& check_page = {}) {
  Chromium chromium;
  ASSERT_TRUE(chromium.start(page_url(server, "whep.html", stream))) << chromium.error() << "\n" << chromium.log();
  ASSERT_TRUE(chromium.wait_true("!!window.estuaryState && estuaryState.state === 'connected'", 15000))
      << diagnostics(chromium, server);
  EXPECT_TRUE(has_client_type(server, "rtc-play"));

  TrackStats video, audio;
  auto deadline = Clock::now() + std::chrono::milliseconds(kWhepWindowMs);
  bool enough = false;
  while (!enough && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    video = audio = TrackStats{};
    ASSERT_TRUE(read_stats(chromium, "inbound-rtp", &video, &audio)) << chromium.error();
    enough = video.frames_decoded >= kMinFramesDecoded && audio.samples - audio.concealed >= kMinRealAudioSamples;
  }
  EXPECT_TRUE(enough) << "after " << kWhepWindowMs << " ms: " << video.frames_decoded << " video frames decoded ("
                      << video.codec << "), " << audio.samples << " audio samples of which " << audio.concealed
                      << " concealed (" << audio.codec << ")\n"
                      << diagnostics(chromium, server);
  std::printf("WHEP: %.0f ms after connected: %.0f video frames decoded, %.0f audio samples (%.0f concealed)\n",
              kWhepWindowMs - std::chrono::duration<double, std::milli>(deadline - Clock::now()).count(),
              video.frames_decoded, audio.samples, audio.concealed);
  EXPECT_EQ(lower(video.codec), "video/h264");
  EXPECT_EQ(lower(audio.codec), "audio/opus");
  EXPECT_EQ(video.width, 320);

  // Not just the GOP cache's burst: a second later the live stream is still being decoded.
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  TrackStats video2, audio2;
  ASSERT_TRUE(read_stats(chromium, "inbound-rtp", &video2, &audio2)) << chromium.error();
  EXPECT_GE(video2.frames_decoded - video.frames_decoded, 15) << diagnostics(chromium, server);
  EXPECT_GE((audio2.samples - audio2.concealed) - (audio.samples - audio.concealed), 24000)
      << diagnostics(chromium, server);

  if (check_answer) check_answer(chromium.evaluate_string("estuaryState.pc.remoteDescription.sdp"));
  if (check_page) check_page(chromium);

  // The page's Stop: DELETE on the session's Location ends it on the server.
  EXPECT_TRUE(chromium.evaluate_bool("estuaryStop().then(() => estuaryState.resource.length > 0)"))
      << diagnostics(chromium, server);
  EXPECT_TRUE(wait_until([&] { return api_clients(server) >= 0 && !has_client_type(server, "rtc-play"); }, 5000))
      << server.log();
}

TEST(Browser, WhepPlaysRtmpPublishedStream) {
  auto env = rtc_env();
  env["ESTUARY_RTC_ENGINE"] = "webrtcbin";  // still selectable: a webrtcbin pipeline per viewer
  Server server(env);
  ASSERT_TRUE(server.start()) << server.log();
  Process publisher = start_publisher(server.rtmp_url("live/whep1"), 320, 240, server.dir() + "/ffmpeg.log", 30, 25);
  ASSERT_TRUE(wait_for_stream(server, "live/whep1", 10000)) << server.log();
  play_whep_in_chromium(server, "whep1");
}

// The shared engine ([rtc] engine = shared, the default): the same playback over the one UDP port, whose
// every candidate in the answer is that port; ICE-lite, DTLS-SRTP and RTP from the once-per-stream payloader.
TEST(Browser, WhepSharedEnginePlaysOverOneUdpPort) {
  auto env = rtc_env();
  const int port = 30000 + (getpid() % 100) * 100 + 99;  // the top of this process's range
  env["ESTUARY_RTC_PORT"] = std::to_string(port);
  env["ESTUARY_RTC_PORT_MAX"] = std::to_string(port - 1);
  Server server(env);
  ASSERT_TRUE(server.start()) << server.log();
  Process publisher = start_publisher(server.rtmp_url("live/whep2"), 320, 240, server.dir() + "/ffmpeg.log", 30, 25);
  ASSERT_TRUE(wait_for_stream(server, "live/whep2", 10000)) << server.log();
  play_whep_in_chromium(server, "whep2", [&](const std::string& answer) {
    EXPECT_NE(answer.find("a=ice-lite"), std::string::npos) << answer;
    int candidates = 0;
    for (size_t at = answer.find("a=candidate:"); at != std::string::npos; at = answer.find("a=candidate:", at + 1)) {
      const std::string line = answer.substr(at, answer.find('\r', at) - at);
      EXPECT_NE(line.find(" " + std::to_string(port) + " typ host"), std::string::npos) << line;
      ++candidates;
    }
    EXPECT_GT(candidates, 0) << answer;
  });
  EXPECT_NE(server.log().find("shared WebRTC engine on UDP port " + std::to_string(port)), std::string::npos);
}

// The page's selected ICE candidate pair: "<local protocol> <remote protocol> <remote port>".
std::string selected_pair(Chromium& c) {
  return c.evaluate_string(R"((async () => {
    const r = await estuaryState.pc.getStats();
    let out = '';
    r.forEach((s) => {
      if (s.type !== 'transport' || !s.selectedCandidatePairId) return;
      const p = r.get(s.selectedCandidatePairId);
      const l = r.get(p.localCandidateId), rem = r.get(p.remoteCandidateId);
      out = `${l.protocol} ${rem.protocol} ${rem.port}`;
    });
    return out;
  })())");
}

// ICE-TCP (RFC 6544, RFC 4571 framing) on [rtc] tcp_port, with UDP refused by config ([rtc] port = 0:
// the engine opens no UDP socket and answers with passive TCP candidates only): Chromium plays
// through the one TCP port, and its selected candidate pair is TCP.
TEST(Browser, WhepOverIceTcpWhenUdpIsRefused) {
  auto env = rtc_env();
  const int tcp_port = free_tcp_port();
  env["ESTUARY_RTC_TCP_PORT"] = std::to_string(tcp_port);
  env["ESTUARY_RTC_PORT"] = "0";
  Server server(env);
  ASSERT_TRUE(server.start()) << server.log();
  Process publisher = start_publisher(server.rtmp_url("live/whep3"), 320, 240, server.dir() + "/ffmpeg.log", 30, 25);
  ASSERT_TRUE(wait_for_stream(server, "live/whep3", 10000)) << server.log();
  play_whep_in_chromium(
      server, "whep3",
      [&](const std::string& answer) {
        EXPECT_NE(answer.find(" tcp "), std::string::npos) << answer;
        EXPECT_EQ(answer.find(" udp "), std::string::npos) << answer;
        EXPECT_NE(answer.find(" 127.0.0.1 " + std::to_string(tcp_port) + " typ host tcptype passive"),
                  std::string::npos)
            << answer;
      },
      [&](Chromium& c) {
        // The selected candidate pair is TCP, to the server's TCP port.
        EXPECT_EQ(selected_pair(c), "tcp tcp " + std::to_string(tcp_port)) << diagnostics(c, server);
      });
  EXPECT_NE(server.log().find("ICE-TCP on TCP port " + std::to_string(tcp_port)), std::string::npos);
}

// The local UDP ports of the server process's sockets (its fds matched to /proc/net/udp by inode).
std::set<int> udp_ports_of(pid_t pid) {
  std::set<std::string> inodes;
  const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  if (GDir* dir = g_dir_open(fd_dir.c_str(), 0, nullptr)) {
    while (const char* name = g_dir_read_name(dir)) {
      gchar* target = g_file_read_link((fd_dir + "/" + name).c_str(), nullptr);
      if (target && g_str_has_prefix(target, "socket:[")) inodes.insert(std::string(target + 8, strlen(target) - 9));
      g_free(target);
    }
    g_dir_close(dir);
  }
  std::set<int> ports;
  for (const char* table : {"/proc/net/udp", "/proc/net/udp6"}) {
    gchar* text = nullptr;
    if (!g_file_get_contents(table, &text, nullptr, nullptr)) continue;
    gchar** lines = g_strsplit(text, "\n", -1);
    for (gchar** l = lines; *l; ++l) {
      // sl local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode
      gchar** f = g_strsplit_set(g_strstrip(*l), " ", -1);
      std::vector<std::string> fields;
      for (gchar** x = f; *x; ++x)
        if (**x) fields.emplace_back(*x);
      g_strfreev(f);
      if (fields.size() < 10 || !inodes.count(fields[9])) continue;
      const size_t colon = fields[1].rfind(':');
      if (colon != std::string::npos) ports.insert(int(std::stoul(fields[1].substr(colon + 1), nullptr, 16)));
    }
    g_strfreev(lines);
    g_free(text);
  }
  return ports;
}

// Chromium publishes its fake camera and microphone over whip.html; the stream plays as H.264 + AAC
// over HTTP-FLV, and the page's Stop (DELETE) ends the publish. check(answer) runs while it publishes.
void publish_whip_in_chromium(Server& server, const std::string& stream,
                              const std::function<void(const std::string& answer, Chromium& c)>& check) {
  Chromium chromium;
  ASSERT_TRUE(chromium.start(page_url(server, "whip.html", stream, "&width=320&height=240")))
      << chromium.error() << "\n"
      << chromium.log();
  ASSERT_TRUE(chromium.wait_true("!!window.estuaryState && estuaryState.state === 'connected'", 15000))
      << diagnostics(chromium, server);
  ASSERT_TRUE(wait_for_stream(server, "live/" + stream, 10000)) << diagnostics(chromium, server);
  EXPECT_TRUE(has_client_type(server, "rtc-publish"));

  // The page's preference, as offered: the video m-line's first payload type is H.264
  // packetization-mode 1, Constrained Baseline (the server would pick H.264 from further down too).
  std::string first = chromium.evaluate_string(R"((() => {
    const sdp = estuaryState.pc.localDescription.sdp;
    const pt = /^m=video \d+ \S+ (\d+)/m.exec(sdp)[1];
    const rtpmap = new RegExp('^a=rtpmap:' + pt + ' (\\S+)', 'm').exec(sdp)[1];
    const fmtp = new RegExp('^a=fmtp:' + pt + ' (.*)$', 'm').exec(sdp);
    return rtpmap + ' ' + (fmtp ? fmtp[1].trim() : '');
  })())");
  EXPECT_EQ(first.rfind("H264/90000 ", 0), 0u) << first << " " << chromium.error();
  EXPECT_NE(first.find("packetization-mode=1"), std::string::npos) << first;
  EXPECT_NE(first.find("profile-level-id=42e01f"), std::string::npos) << first;

  TrackStats video, audio;
  ASSERT_TRUE(read_stats(chromium, "outbound-rtp", &video, &audio)) << chromium.error();
  EXPECT_EQ(lower(video.codec), "video/h264") << "setCodecPreferences did not make H.264 the sent codec";
  EXPECT_EQ(lower(audio.codec), "audio/opus");

  auto streams = probe_streams(server.flv_url("live/" + stream), 15);
  bool h264 = false, aac = false;
  for (auto& st : streams) {
    if (st.codec_type == "video" && st.codec_name == "h264" && st.width > 0) h264 = true;
    if (st.codec_type == "audio" && st.codec_name == "aac" && st.sample_rate > 0) aac = true;
  }
  EXPECT_TRUE(h264 && aac) << streams.size() << " streams over HTTP-FLV\n" << diagnostics(chromium, server);
  if (check) check(chromium.evaluate_string("estuaryState.pc.remoteDescription.sdp"), chromium);

  // Stop on the page: DELETE ends the publish.
  EXPECT_TRUE(chromium.evaluate_bool("estuaryStop().then(() => estuaryState.resource.length > 0)"))
      << diagnostics(chromium, server);
  EXPECT_TRUE(wait_until([&] { return api_clients(server) >= 0 && !has_client_type(server, "rtc-publish"); }, 5000))
      << server.log();
}

// WHIP through the shared engine (the default): the answer is ICE-lite with every candidate on the one
// UDP port, the publisher's SRTP is unprotected there and its RTP feeds an ingest pipeline; the server
// has no other UDP port of the WebRTC range open (no libnice agent).
TEST(Browser, WhipFromFakeCameraPlaysOverHttpFlv) {
  auto env = rtc_env();
  const int base = 30000 + (getpid() % 100) * 100;
  const int port = base + 99;  // the top of this process's range; libnice would take the rest
  env["ESTUARY_RTC_PORT"] = std::to_string(port);
  env["ESTUARY_RTC_PORT_MAX"] = std::to_string(port - 1);
  Server server(env);
  ASSERT_TRUE(server.start()) << server.log();
  publish_whip_in_chromium(server, "whip1", [&](const std::string& answer, Chromium& c) {
    EXPECT_NE(answer.find("a=ice-lite"), std::string::npos) << answer;
    EXPECT_NE(answer.find("a=recvonly"), std::string::npos) << answer;
    EXPECT_NE(answer.find(" " + std::to_string(port) + " typ host"), std::string::npos) << answer;
    const std::set<int> udp = udp_ports_of(server.process().pid());
    EXPECT_EQ(udp.count(port), 1u);
    for (int p : udp) EXPECT_FALSE(p >= base && p < port) << "a libnice port is open: " << p;
    // The engine's RTCP reached the browser: a PLI (sent at the first video packet and every
    // pli_interval_ms) and receiver reports that answer its sender reports (an RTT from LSR/DLSR).
    const char* feedback = R"((async () => {
      const r = await estuaryState.pc.getStats();
      let pli = 0, rtt = -1;
      r.forEach((s) => {
        if (s.type === 'outbound-rtp' && s.kind === 'video') pli = s.pliCount || 0;
        if (s.type === 'remote-inbound-rtp' && s.kind === 'video' && s.roundTripTime !== undefined) rtt = s.roundTripTime;
      });
      return pli > 0 && rtt >= 0;
    })())";
    EXPECT_TRUE(wait_until([&] { return c.evaluate_bool(feedback); }, 8000))
        << c.evaluate_string(R"((async () => JSON.stringify([...(await estuaryState.pc.getStats()).values()].filter(
               (s) => s.type === 'outbound-rtp' || s.type === 'remote-inbound-rtp')))())");
  });
}

// WHIP over ICE-TCP (RFC 6544 passive candidate, RFC 4571 framing) with UDP refused by config ([rtc] port = 0:
// the engine opens no UDP socket, the answer has passive TCP candidates only): Chromium publishes through the one
// TCP port, its selected pair is TCP, the server has no UDP socket of the WebRTC range or the engine, and the stream
// plays as H.264 + AAC over HTTP-FLV (publish_whip_in_chromium), with the engine's RTCP (PLI) reaching the browser
// over the TCP connection.
TEST(Browser, WhipOverIceTcpWhenUdpIsRefused) {
  auto env = rtc_env();
  const int base = 30000 + (getpid() % 100) * 100;
  const int tcp_port = free_tcp_port();
  env["ESTUARY_RTC_TCP_PORT"] = std::to_string(tcp_port);
  env["ESTUARY_RTC_PORT"] = "0";
  Server server(env);
  ASSERT_TRUE(server.start()) << server.log();
  EXPECT_NE(server.log().find("ICE-TCP on TCP port " + std::to_string(tcp_port)), std::string::npos) << server.log();
  publish_whip_in_chromium(server, "whip3", [&](const std::string& answer, Chromium& c) {
    EXPECT_NE(answer.find("a=ice-lite"), std::string::npos) << answer;
    EXPECT_NE(answer.find("a=recvonly"), std::string::npos) << answer;
    EXPECT_EQ(answer.find(" udp "), std::string::npos) << answer;
    EXPECT_NE(answer.find(" 127.0.0.1 " + std::to_string(tcp_port) + " typ host tcptype passive"), std::string::npos)
        << answer;
    EXPECT_EQ(selected_pair(c), "tcp tcp " + std::to_string(tcp_port)) << diagnostics(c, server);
    for (int p : udp_ports_of(server.process().pid()))
      EXPECT_FALSE(p >= base && p <= base + 99) << "a UDP port of the WebRTC range is open: " << p;
    const char* pli = R"((async () => {
      let n = 0;
      (await estuaryState.pc.getStats()).forEach((s) => {
        if (s.type === 'outbound-rtp' && s.kind === 'video') n = s.pliCount || 0;
      });
      return n > 0;
    })())";
    EXPECT_TRUE(wait_until([&] { return c.evaluate_bool(pli); }, 8000)) << diagnostics(c, server);
  });
}

// Transport-wide congestion control for WHIP ([rtc] twcc): Chromium publishes a 1280x720 canvas of random blocks
// (its fake camera's pattern needs few bits) with maxBitrate 2.5 Mb/s for kTwccWindowMs, once with twcc = false (no
// transport-cc in the answer, no feedback) and once with the default (the answer echoes the offer's extmap id and
// transport-cc; the engine sends feedback every 50 ms). With feedback Chromium's bandwidth estimate, its outbound-rtp
// targetBitrate, must rise well above where it stays without (its start value); both figures and the sent rates are
// printed.
constexpr int kTwccWindowMs = 15000;

struct SendRate {
  double target_bps = 0;  // outbound-rtp targetBitrate at the end
  double sent_bps = 0;    // bytesSent rate over the last third of the window
};

SendRate publish_at_high_bitrate(bool twcc, const std::string& stream, std::string* answer) {
  auto env = rtc_env();
  env["ESTUARY_RTC_PORT"] = std::to_string(30000 + (getpid() % 100) * 100 + 99);
  env["ESTUARY_RTC_TWCC"] = twcc ? "true" : "false";
  Server server(env);
  SendRate out;
  EXPECT_TRUE(server.start()) << server.log();
  Chromium chromium;
  EXPECT_TRUE(chromium.start(page_url(server, "whip.html", stream, "&width=1280&height=720&fps=30")))
      << chromium.error();
  if (!chromium.wait_true("!!window.estuaryState && estuaryState.state === 'connected'", 15000)) {
    ADD_FAILURE() << diagnostics(chromium, server);
    return out;
  }
  *answer = chromium.evaluate_string("estuaryState.pc.remoteDescription.sdp");
  EXPECT_TRUE(chromium.evaluate_bool(R"((async () => {
    const s = estuaryState.pc.getSenders().find((x) => x.track && x.track.kind === 'video');
    // Content that needs bits: a 1280x720 canvas redrawn with random blocks 30 times a second.
    const c = document.createElement('canvas');
    c.width = 1280;
    c.height = 720;
    const g = c.getContext('2d');
    setInterval(() => {
      for (let i = 0; i < 300; ++i) {
        g.fillStyle = '#' + Math.floor(Math.random() * 0xffffff).toString(16).padStart(6, '0');
        g.fillRect(Math.random() * 1280, Math.random() * 720, 40, 40);
      }
    }, 33);
    await s.replaceTrack(c.captureStream(30).getVideoTracks()[0]);
    const p = s.getParameters();
    p.encodings[0].maxBitrate = 2500000;
    await s.setParameters(p);
    return true;
  })())"))
      << chromium.error();
  const char* sample = R"((async () => {
    let v = null;
    (await estuaryState.pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') v = s;
    });
    return v ? JSON.stringify([v.targetBitrate || 0, v.bytesSent || 0, v.frameWidth || 0]) : '[0,0,0]';
  })())";
  auto read = [&](double* target, double* bytes) {
    const std::string j = chromium.evaluate_string(sample);
    double w = 0;
    if (std::sscanf(j.c_str(), "[%lf,%lf,%lf]", target, bytes, &w) != 3) *target = *bytes = 0;
  };
  const auto start = Clock::now();
  double target = 0, bytes = 0, bytes_mark = 0;
  bool marked = false;
  while (Clock::now() - start < std::chrono::milliseconds(kTwccWindowMs)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    read(&target, &bytes);
    if (!marked && Clock::now() - start >= std::chrono::milliseconds(kTwccWindowMs * 2 / 3)) {
      bytes_mark = bytes;
      marked = true;
    }
  }
  out.target_bps = target;
  out.sent_bps = (bytes - bytes_mark) * 8 / (kTwccWindowMs / 3000.0);
  std::printf("WHIP twcc=%s: after %d ms targetBitrate %.0f b/s, sent %.0f b/s over the last third\n",
              twcc ? "on" : "off", kTwccWindowMs, out.target_bps, out.sent_bps);
  return out;
}

TEST(Browser, WhipTransportCcFeedbackRaisesChromiumsBitrate) {
  std::string answer_off, answer_on;
  const SendRate off = publish_at_high_bitrate(false, "twcc-off", &answer_off);
  const SendRate on = publish_at_high_bitrate(true, "twcc-on", &answer_on);
  EXPECT_EQ(answer_off.find("transport-cc"), std::string::npos) << answer_off;
  EXPECT_NE(answer_on.find("transport-cc"), std::string::npos) << answer_on;
  EXPECT_NE(answer_on.find("a=extmap:"), std::string::npos) << answer_on;
  EXPECT_GT(on.target_bps, 1500000) << "with feedback";
  EXPECT_GT(on.target_bps, 1.5 * off.target_bps) << "off " << off.target_bps << ", on " << on.target_bps;
  EXPECT_GT(on.sent_bps, 1.5 * off.sent_bps) << "off " << off.sent_bps << ", on " << on.sent_bps;
}

// [rtc] whip_engine = webrtcbin: the publisher gets its own webrtcbin and libnice port from the range.
TEST(Browser, WhipOverWebrtcbinStillSelectable) {
  auto env = rtc_env();
  env["ESTUARY_RTC_WHIP_ENGINE"] = "webrtcbin";
  const int base = 30000 + (getpid() % 100) * 100;
  Server server(env);
  ASSERT_TRUE(server.start()) << server.log();
  publish_whip_in_chromium(server, "whip2", [&](const std::string& answer, Chromium&) {
    EXPECT_EQ(answer.find("a=ice-lite"), std::string::npos) << answer;
    bool in_range = false;
    for (int p : udp_ports_of(server.process().pid())) in_range = in_range || (p >= base && p <= base + 99);
    EXPECT_TRUE(in_range) << "no libnice port of the range is open";
  });
}

}  // namespace
}  // namespace estuary::e2e
