// Owns: end-to-end tests of the web console (/console/) and the players (/players/) in headless
// Chromium against the real server: a published stream listed within 2 s, the stream page's FLV,
// TS, HLS and WHEP players decoding frames, the kick button disconnecting an ffmpeg player, DVR
// start/stop from the page writing a file, the recordings page (list, timeline, VOD playback of FLV and MP4 recordings,
// clip download), and the console under API auth (refused without credentials, working with them). Each page is saved
// as a screenshot under $ESTUARY_BUILD_ROOT/test-artifacts/console/ and checked not to be blank.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "chromium.h"
#include "harness.h"

namespace estuary::e2e {
namespace {

using Clock = std::chrono::steady_clock;

std::string base_url(const Server& s) { return "http://127.0.0.1:" + std::to_string(s.http_port()); }

std::string console_url(const Server& s, const std::string& query, const std::string& hash) {
  return base_url(s) + "/console/?api=127.0.0.1:" + std::to_string(s.api_port()) + query + hash;
}

std::string tail(const std::string& s, size_t n = 3000) { return s.size() > n ? s.substr(s.size() - n) : s; }

std::string diagnostics(Chromium& c, Server& s) {
  return "console state: " + c.evaluate_string("JSON.stringify(window.consoleState || null)") + "\nplayer state: " +
         c.evaluate_string(
             "(() => { const f = document.getElementById('player'); const w = f && f.contentWindow; "
             "return JSON.stringify(w && (w.estuaryPlayer || w.estuaryState) || null, "
             "(k, v) => (k === 'pc' || k === 'player') ? undefined : v); })()") +
         "\nconsole:\n" + c.console() + "chromium log (tail):\n" + tail(c.log(), 1500) + "\nserver log (tail):\n" +
         tail(s.log());
}

std::string artifact_dir() {
  std::string dir = build_root() + "/test-artifacts/console";
  g_mkdir_with_parents(dir.c_str(), 0755);
  return dir;
}

// Luma range of a PNG (ffprobe's signalstats): a blank page is one flat colour.
int luma_range(const std::string& png) {
  auto r = run({"ffprobe", "-v", "error", "-f", "lavfi", "movie=" + png + ",signalstats", "-show_entries",
                "frame_tags=lavfi.signalstats.YMIN,lavfi.signalstats.YMAX", "-of", "csv=p=0"},
               20);
  int ymin = -1, ymax = -1;
  if (std::sscanf(r.out.c_str(), "%d,%d", &ymin, &ymax) != 2) return -1;
  return ymax - ymin;
}

// Saves the page as an artifact and checks that it shows something.
void expect_screenshot(Chromium& c, const std::string& name) {
  const std::string path = artifact_dir() + "/" + name + ".png";
  ASSERT_TRUE(c.screenshot(path)) << c.error();
  EXPECT_GT(luma_range(path), 64) << path << " looks blank";
}

// Frames the stream page's player frame has shown since this was first evaluated for its current
// <video> (requestVideoFrameCallback), or -1 while there is no video yet.
const char* kFramesShown = R"((() => {
  const f = document.getElementById('player');
  const d = f && f.contentDocument;
  const v = d && d.querySelector('video');
  if (!v) return -1;
  if (!v.__frames) {
    v.__frames = {n: 0};
    const cb = () => { v.__frames.n++; v.requestVideoFrameCallback(cb); };
    v.requestVideoFrameCallback(cb);
  }
  const q = v.getVideoPlaybackQuality();
  return Math.min(v.__frames.n, q.totalVideoFrames);
})())";

std::string stream_id(Chromium& c, const std::string& app_stream) {
  return c.evaluate_string("(() => { const r = document.querySelector('tr[data-stream=\"" + app_stream +
                           "\"]'); return r ? r.dataset.id : ''; })()");
}

std::map<std::string, std::string> rtc_env(std::map<std::string, std::string> env = {}) {
  const int base = 33000 + (getpid() % 100) * 100;
  env["ESTUARY_RTC_INTERFACES"] = "127.0.0.1";
  env["ESTUARY_RTC_PORT_MIN"] = std::to_string(base);
  env["ESTUARY_RTC_PORT_MAX"] = std::to_string(base + 99);
  return env;
}

TEST(Console, PagesAndLibrariesAreServed) {
  Server server;
  ASSERT_TRUE(server.start()) << server.log();
  std::string body;
  std::map<std::string, std::string> headers;
  ASSERT_EQ(http_request("GET", base_url(server) + "/console/", &body, &headers), 200);
  EXPECT_NE(body.find("console.js"), std::string::npos);
  for (const char* path :
       {"/console/console.js", "/console/api.js", "/console/stream.js", "/console/views.js", "/players/player.js",
        "/vendor/mpegts.js", "/vendor/hls.min.js", "/vendor/dash.all.min.js", "/vendor/uPlot.iife.min.js"}) {
    headers.clear();
    ASSERT_EQ(http_request("GET", base_url(server) + path, &body, &headers), 200) << path;
    EXPECT_EQ(headers["Content-Type"], "text/javascript; charset=utf-8") << path;
    EXPECT_GT(body.size(), 500u) << path;
  }
  ASSERT_EQ(http_request("GET", base_url(server) + "/vendor/LICENSE-hls.js.txt", &body), 200);
}

TEST(Console, ListsPublishedStreamWithin2sAndPlayersDecodeFrames) {
  Server server(rtc_env());
  ASSERT_TRUE(server.start()) << server.log();
  Chromium c;
  ASSERT_TRUE(c.start(console_url(server, "", "#/"))) << c.error() << "\n" << c.log();
  ASSERT_TRUE(c.wait_true("!!window.consoleState && consoleState.refreshes > 0", 10000)) << diagnostics(c, server);
  ASSERT_TRUE(c.wait_true("!!document.getElementById('ov-version')", 5000)) << diagnostics(c, server);
  expect_screenshot(c, "overview");
  ASSERT_TRUE(c.evaluate_bool("(location.hash = '#/streams', true)"));

  // From the publish on, watch the API and the page side by side: the page (polling once a second)
  // must list the stream within 2 s of the API.
  Process pub = start_publisher(server.rtmp_url("live/con"), 640, 360, server.dir() + "/pub.log", 90, 25);
  const std::string row = "!!document.querySelector('tr[data-stream=\"live/con\"]')";
  Clock::time_point api_seen{}, page_seen{};
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  while (Clock::now() < deadline && (api_seen == Clock::time_point{} || page_seen == Clock::time_point{})) {
    if (api_seen == Clock::time_point{} && wait_for_stream(server, "live/con", 1)) api_seen = Clock::now();
    if (page_seen == Clock::time_point{} && c.evaluate_bool(row)) page_seen = Clock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_NE(api_seen, Clock::time_point{}) << server.log();
  ASSERT_NE(page_seen, Clock::time_point{}) << diagnostics(c, server);
  const double lag_ms = std::chrono::duration<double, std::milli>(page_seen - api_seen).count();
  std::printf("console listed the stream %.0f ms after the API did\n", lag_ms);
  EXPECT_LE(lag_ms, 2000) << diagnostics(c, server);
  expect_screenshot(c, "streams");
  const std::string id = stream_id(c, "live/con");
  ASSERT_FALSE(id.empty());

  // The stream page: charts fill from the history, every protocol's URL is listed.
  ASSERT_TRUE(c.evaluate_bool("(location.hash = '#/streams/" + id + "', true)"));
  ASSERT_TRUE(c.wait_true("(window.consoleState.historySamples || 0) >= 3", 8000)) << diagnostics(c, server);
  // The server's own ports (the test's are not the defaults), from GET /api/v1/listen.
  const std::string rtmp_url = ":" + std::to_string(server.rtmp_port()) + "/live/con";
  const std::string srt_url = ":" + std::to_string(server.srt_port()) + "?streamid=";
  const std::string rtsp_url = ":" + std::to_string(server.rtsp_port()) + "/live/con";
  for (const std::string& proto :
       {std::string("rtmp://"), std::string(".flv"), std::string(".ts"), std::string(".m3u8"),
        std::string("/rtc/v1/whep/"), std::string("srt://"), std::string("rtsp://"), rtmp_url, srt_url, rtsp_url})
    EXPECT_TRUE(c.evaluate_bool(std::string("[...document.querySelectorAll('ul.urls code')].some(e => "
                                            "e.textContent.includes('") +
                                proto + "'))"))
        << proto;
  expect_screenshot(c, "stream");

  // Each player on the page decodes frames.
  for (const char* kind : {"flv", "ts", "hls", "dash", "whep"}) {
    SCOPED_TRACE(kind);
    const auto t0 = Clock::now();
    ASSERT_TRUE(c.evaluate_bool(std::string("(document.querySelector('button.play-") + kind + "').click(), true)"));
    ASSERT_TRUE(c.wait_true(std::string("(() => { const f = document.getElementById('player'); "
                                        "return f.contentWindow.location.href.includes('") +
                                (std::string(kind) == "whep" ? "whep.html" : std::string("kind=") + kind) +
                                "') && f.contentDocument.readyState === 'complete'; })()",
                            5000))
        << diagnostics(c, server);
    const bool decoded = c.wait_true(std::string(kFramesShown) + " >= 25", 30000);
    EXPECT_TRUE(decoded) << diagnostics(c, server);
    std::printf("%s player: %.0f frames shown, first 25 after %.1f s\n", kind, c.evaluate_number(kFramesShown),
                std::chrono::duration<double>(Clock::now() - t0).count());
    c.evaluate_bool("(document.getElementById('player').scrollIntoView(), true)");
    expect_screenshot(c, std::string("player-") + kind);
  }
  // The WHEP viewer still plays: the stream page's clients table shows its link from its RTCP (shared
  // engine): RTT from receiver reports, loss, NACKs, resends, PLI/FIR.
  const std::string link =
      "(() => { const r = document.querySelector('tr[data-type=\"rtc-play\"]'); "
      "return r ? r.children[8].textContent : ''; })()";
  EXPECT_TRUE(c.wait_true(
      link + ".includes('rtt ') && !" + link + ".includes('rtt –') && " + link + ".includes('nacks ')", 10000))
      << c.evaluate_string(link) << diagnostics(c, server);
  std::printf("console WHEP link: %s\n", c.evaluate_string(link).c_str());
}

TEST(Console, KickButtonDisconnectsFfmpegPlayer) {
  Server server;
  ASSERT_TRUE(server.start()) << server.log();
  Process pub = start_publisher(server.rtmp_url("live/kick"), 320, 240, server.dir() + "/pub.log", 60, 25);
  ASSERT_TRUE(wait_for_stream(server, "live/kick", 10000)) << server.log();
  Process player({"ffmpeg", "-hide_banner", "-loglevel", "error", "-i", server.flv_url("live/kick"), "-f", "null", "-"},
                 server.dir() + "/player.log");
  std::string player_id;
  ASSERT_TRUE(wait_until(
      [&] {
        std::vector<std::pair<std::string, std::string>> clients;
        api_clients(server, &clients);
        for (auto& [cid, type] : clients)
          if (type == "flv-play") player_id = cid;
        return !player_id.empty();
      },
      10000))
      << server.log();

  Chromium c;
  ASSERT_TRUE(c.start(console_url(server, "", "#/clients"))) << c.error();
  const std::string button = "document.querySelector('button.kick[data-id=\"" + player_id + "\"]')";
  ASSERT_TRUE(c.wait_true("!!" + button, 5000)) << diagnostics(c, server);
  expect_screenshot(c, "clients");
  ASSERT_TRUE(c.evaluate_bool("(" + button + ".click(), true)"));
  EXPECT_TRUE(wait_until([&] { return !player.running(); }, 10000)) << "ffmpeg still playing\n"
                                                                    << diagnostics(c, server);
  EXPECT_TRUE(c.wait_true("!document.querySelector('tr[data-id=\"" + player_id + "\"]')", 5000))
      << diagnostics(c, server);
  EXPECT_TRUE(pub.running()) << "the publisher must stay";
  // The remaining pages render (and are kept as artifacts too).
  for (const char* page : {"sources", "forwards", "encoders"}) {
    ASSERT_TRUE(c.evaluate_bool(std::string("(location.hash = '#/") + page + "', true)"));
    EXPECT_TRUE(c.wait_true(std::string("consoleState.view === '") + page +
                                "' && !!document.querySelector('#view h2') && "
                                "!!document.querySelector('#view table, #view p.empty')",
                            5000))
        << page << "\n"
        << diagnostics(c, server);
    expect_screenshot(c, page);
  }
  EXPECT_TRUE(
      c.evaluate_bool("[...document.querySelectorAll('#view td')].some(e => e.textContent.includes('x264enc'))"))
      << "the encoders page lists the chosen H.264 encoder";
  // A standalone server has no cluster registry: the nodes page says so.
  ASSERT_TRUE(c.evaluate_bool("(location.hash = '#/nodes', true)"));
  EXPECT_TRUE(
      c.wait_true("consoleState.view === 'nodes' && [...document.querySelectorAll('#view p.empty')].some("
                  "e => e.textContent.includes('without a cluster registry'))",
                  5000))
      << diagnostics(c, server);
  expect_screenshot(c, "nodes");
}

TEST(Console, DvrStartStopFromStreamPageWritesFile) {
  const std::string rec = make_temp_dir();
  Server server({{"ESTUARY_DVR_ENABLED", "false"},
                 {"ESTUARY_DVR_FORMAT", "flv"},
                 {"ESTUARY_DVR_PLAN", "session"},
                 {"ESTUARY_DVR_PATH", rec + "/[app]/[stream]-[timestamp]"}});
  ASSERT_TRUE(server.start()) << server.log();
  Process pub = start_publisher(server.rtmp_url("live/rec"), 320, 240, server.dir() + "/pub.log", 60, 25);
  ASSERT_TRUE(wait_for_stream(server, "live/rec", 10000)) << server.log();
  Chromium c;
  ASSERT_TRUE(c.start(console_url(server, "", "#/streams"))) << c.error();
  ASSERT_TRUE(c.wait_true("!!document.querySelector('tr[data-stream=\"live/rec\"]')", 5000)) << diagnostics(c, server);
  const std::string id = stream_id(c, "live/rec");
  ASSERT_TRUE(c.evaluate_bool("(location.hash = '#/streams/" + id + "', true)"));
  ASSERT_TRUE(
      c.wait_true("!!document.getElementById('dvr-start') && !document.getElementById('dvr-start').disabled", 5000))
      << diagnostics(c, server);
  ASSERT_TRUE(c.evaluate_bool("(document.getElementById('dvr-start').click(), true)"));
  ASSERT_TRUE(c.wait_true("document.getElementById('dvr-state').textContent.startsWith('recording')", 5000))
      << diagnostics(c, server);
  std::this_thread::sleep_for(std::chrono::seconds(4));
  expect_screenshot(c, "stream-recording");
  ASSERT_TRUE(c.evaluate_bool("(document.getElementById('dvr-stop').click(), true)"));
  ASSERT_TRUE(c.wait_true("document.getElementById('dvr-state').textContent === 'not recording'", 5000))
      << diagnostics(c, server);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  GDir* d = g_dir_open((rec + "/live").c_str(), 0, nullptr);
  ASSERT_NE(d, nullptr) << "no recording directory";
  std::vector<std::string> files;
  while (const char* n = g_dir_read_name(d)) files.push_back(rec + "/live/" + n);
  g_dir_close(d);
  ASSERT_EQ(files.size(), 1u);
  auto streams = probe_streams(files[0]);
  EXPECT_EQ(streams.size(), 2u) << files[0];
  auto r = run({"ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", files[0]}, 20);
  EXPECT_GT(std::atof(r.out.c_str()), 2.5) << files[0];
}

// The recordings page over recordings of `format`: listed, the range played over HLS VOD in the
// player frame (hls.js), a clip of the whole range downloaded as an MP4.
void recordings_page_lists_plays_and_clips(const std::string& format) {
  const std::string rec = make_temp_dir();
  Server server({{"ESTUARY_DVR_ENABLED", "true"},
                 {"ESTUARY_DVR_FORMAT", format},
                 {"ESTUARY_DVR_PLAN", "segment"},
                 {"ESTUARY_DVR_SEGMENT_S", "2"},
                 {"ESTUARY_DVR_PATH", rec + "/[app]/[stream]-[timestamp]"}});
  ASSERT_TRUE(server.start()) << server.log();
  {
    Process pub = start_publisher(server.rtmp_url("live/vod"), 320, 240, server.dir() + "/pub.log", 9, 25);
    ASSERT_TRUE(wait_for_stream(server, "live/vod", 10000)) << server.log();
    pub.wait(20000);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  Chromium c;
  ASSERT_TRUE(c.start(console_url(server, "", "#/recordings"))) << c.error();
  ASSERT_TRUE(c.wait_true("!!document.getElementById('rec-stream')", 5000)) << diagnostics(c, server);
  ASSERT_TRUE(
      c.evaluate_bool("(() => { document.getElementById('rec-stream').value = 'live/vod'; "
                      "document.querySelector('form.filters').requestSubmit(); return true; })()"));
  ASSERT_TRUE(c.wait_true("document.querySelectorAll('#rec-list tr[data-id]').length >= 3", 8000))
      << diagnostics(c, server);
  EXPECT_TRUE(c.evaluate_bool("document.querySelectorAll('#rec-timeline .block').length >= 3"));
  // The range plays over HLS VOD in the player frame.
  ASSERT_TRUE(c.evaluate_bool("(document.getElementById('rec-play').click(), true)"));
  EXPECT_TRUE(c.wait_true(std::string(kFramesShown) + " >= 25", 30000)) << diagnostics(c, server);
  c.evaluate_bool("(document.getElementById('rec-timeline').scrollIntoView(), true)");
  expect_screenshot(c, "recordings-" + format);
  // A clip of the whole range downloads as an MP4.
  ASSERT_TRUE(c.evaluate_bool("(document.getElementById('rec-clip').click(), true)"));
  EXPECT_TRUE(
      c.wait_true("!!consoleState.lastDownload && consoleState.lastDownload.size > 10000 && "
                  "consoleState.lastDownload.type === 'video/mp4'",
                  30000))
      << c.evaluate_string("document.getElementById('rec-status').textContent") << "\n"
      << diagnostics(c, server);
}

// FLV, the default DVR format: the page's HLS VOD plays its MPEG-TS remux.
TEST(Console, RecordingsPageListsPlaysAndClips) { recordings_page_lists_plays_and_clips("flv"); }

// MP4: the page's HLS VOD is the fMP4 playlist (EXT-X-MAP and byte ranges of the files).
TEST(Console, Mp4RecordingsPagePlaysFmp4Vod) { recordings_page_lists_plays_and_clips("mp4"); }

TEST(Console, ApiAuthRefusesWithoutCredentialsAndWorksWithThem) {
  Server server({{"ESTUARY_API_AUTH", "basic"}, {"ESTUARY_API_USERNAME", "admin"}, {"ESTUARY_API_PASSWORD", "s3cret"}});
  server.start(300);  // start() polls the API without credentials: it cannot see 200
  std::string body;
  ASSERT_TRUE(wait_until(
      [&] {
        return http_request("GET", "http://127.0.0.1:" + std::to_string(server.api_port()) + "/api/v1/streams",
                            &body) == 401;
      },
      10000))
      << server.log();
  Process pub = start_publisher(server.rtmp_url("live/auth"), 320, 240, server.dir() + "/pub.log", 60, 25);
  Chromium c;
  ASSERT_TRUE(c.start(console_url(server, "", "#/streams"))) << c.error();
  ASSERT_TRUE(c.wait_true("window.consoleState && consoleState.view === 'login'", 8000)) << diagnostics(c, server);
  EXPECT_FALSE(c.evaluate_bool("!!document.querySelector('table')"));
  expect_screenshot(c, "login");
  // Wrong credentials stay refused.
  ASSERT_TRUE(c.evaluate_bool(
      "(() => { const f = document.getElementById('login'); f.user.value = 'admin'; f.password.value = 'nope'; "
      "f.requestSubmit(); return true; })()"));
  ASSERT_TRUE(c.wait_true("consoleState.view === 'login' && consoleState.error.includes('401')", 5000))
      << diagnostics(c, server);
  ASSERT_TRUE(c.evaluate_bool(
      "(() => { const f = document.getElementById('login'); f.user.value = 'admin'; f.password.value = 's3cret'; "
      "f.requestSubmit(); return true; })()"));
  EXPECT_TRUE(c.wait_true("!!document.querySelector('tr[data-stream=\"live/auth\"]')", 15000))
      << diagnostics(c, server);
  EXPECT_EQ(c.evaluate_string("consoleState.view"), "streams");
}

}  // namespace
}  // namespace estuary::e2e
