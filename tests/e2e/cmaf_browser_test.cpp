// Owns: end-to-end tests of the CMAF outputs in real browser players (issue #15): headless Chromium
// plays an RTMP-published stream with hls.js in low-latency mode (LL-HLS over fMP4) and with
// dash.js in low-latency mode (MPEG-DASH, audio and video in separate adaptation sets, the open
// segment sent chunked), through the /players/ page, both at once. Each must decode frames and not
// stall: the playback position advances in every two-second window of the watch, and frames are shown. The live latency
// each player reports against the wall clock (program-date-time / availabilityStartTime) is printed, its p50 and p95;
// tools/bench-player-latency.sh runs this longer (ESTUARY_PLAYER_SECONDS) for the README's latency table. No timed
// assertion beyond "no stall".
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "chromium.h"
#include "harness.h"

namespace estuary::e2e {
namespace {

int watch_seconds() {
  const char* v = g_getenv("ESTUARY_PLAYER_SECONDS");
  const int s = v ? std::atoi(v) : 20;
  return std::clamp(s, 5, 600);
}

std::string tail(const std::string& s, size_t n = 3000) { return s.size() > n ? s.substr(s.size() - n) : s; }

struct Watched {
  std::string kind;
  std::unique_ptr<Chromium> browser;
  std::vector<double> frames;     // one sample a second
  std::vector<double> positions;  // the video's currentTime, one sample a second
  std::vector<double> latencies;  // seconds, where the player knew it
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(p * double(v.size() - 1) + 0.5))];
}

std::string player_state(Chromium& c) {
  return c.evaluate_string(
      "JSON.stringify({state: window.estuaryPlayer || null, latency: window.estuaryPlayer && estuaryPlayer.latency(), "
      "player_latency: window.estuaryPlayer && estuaryPlayer.player && estuaryPlayer.player.latency, "
      "target: window.estuaryPlayer && estuaryPlayer.player && estuaryPlayer.player.targetLatency, "
      "position: document.getElementById('video').currentTime, rate: document.getElementById('video').playbackRate, "
      "buffered: (() => { const b = document.getElementById('video').buffered; "
      "return b.length ? [b.start(0), b.end(b.length - 1)] : []; })()}, "
      "(k, v) => k === 'player' ? undefined : v)");
}

TEST(CmafBrowser, HlsJsLowLatencyAndDashJsLowLatencyPlayWithoutStalling) {
  Server server;
  ASSERT_TRUE(server.start()) << server.log();
  const int seconds = watch_seconds();
  Process pub = start_publisher(server.rtmp_url("live/lat"), 640, 360, server.dir() + "/pub.log", seconds + 60, 25);
  ASSERT_TRUE(wait_for_stream(server, "live/lat", 15000)) << server.log();

  const std::string page = "http://127.0.0.1:" + std::to_string(server.http_port()) +
                           "/players/play.html?app=live"
                           "&stream=lat&kind=";
  std::vector<Watched> players;
  for (const char* kind : {"hls", "dash"}) {
    Watched w;
    w.kind = kind;
    w.browser = std::make_unique<Chromium>();
    ASSERT_TRUE(w.browser->start(page + kind)) << w.browser->error() << "\n" << w.browser->log();
    players.push_back(std::move(w));
  }
  for (auto& w : players) {
    SCOPED_TRACE(w.kind);
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(w.browser->wait_true("window.estuaryPlayer && estuaryPlayer.frames >= 25", 40000))
        << player_state(*w.browser) << "\nconsole:\n"
        << w.browser->console() << "\nserver:\n"
        << tail(server.log());
    std::printf("%s: first 25 frames after %.1f s\n", w.kind.c_str(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  for (int i = 0; i <= seconds; ++i) {
    for (auto& w : players) {
      w.frames.push_back(w.browser->evaluate_number("estuaryPlayer.frames"));
      w.positions.push_back(w.browser->evaluate_number("document.getElementById('video').currentTime"));
      const double latency = w.browser->evaluate_number(
          "(() => { const l = estuaryPlayer.latency(); "
          "return l === null ? -1 : l; })()");
      if (latency > 0) w.latencies.push_back(latency);
    }
    if (i < seconds) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  for (auto& w : players) {
    SCOPED_TRACE(w.kind);
    // A stall: the playback position stands still for two seconds. (Frames shown are counted too,
    // but a player catching up at a faster rate may drop some for a moment.)
    for (size_t i = 2; i < w.positions.size(); ++i)
      EXPECT_GT(w.positions[i], w.positions[i - 2] + 0.5)
          << "playback stood still between second " << i - 2 << " and " << i << "\n"
          << player_state(*w.browser) << "\nconsole:\n"
          << w.browser->console();
    const double shown = w.frames.back() - w.frames.front();
    EXPECT_GT(shown, 10.0 * seconds) << "fewer than 10 frames a second shown";
    EXPECT_FALSE(w.latencies.empty()) << "the player never knew its live latency: " << player_state(*w.browser);
    std::printf("%s: %.0f frames in %d s (%.1f fps), live latency p50 %.2f s, p95 %.2f s (%zu samples)\n",
                w.kind.c_str(), shown, seconds, shown / seconds, percentile(w.latencies, 0.5),
                percentile(w.latencies, 0.95), w.latencies.size());
    std::printf("%s at the end: %s\n", w.kind.c_str(), player_state(*w.browser).c_str());
  }
}

}  // namespace
}  // namespace estuary::e2e
