// Owns: end-to-end test of several audio tracks through the CMAF outputs (issue #19, item 4), with the
// default [hls] variant (LL-HLS over fMP4, and DASH): an MPEG-TS over SRT with two AAC tracks in two
// languages. ffmpeg reading the HLS master finds both languages; the DASH MPD has one audio
// adaptation set per track with its lang, and a track's init and media segments hold that track
// alone, and each representation its measured bandwidth; the master names every rendition's codecs
// and one track's LL-HLS playlist reports the other renditions; hls.js lists two audio tracks and
// plays on after switching to the second, dash.js likewise, both in headless Chromium through the
// /players/ page. A pulled RTSP source with two audio streams publishes both.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "chromium.h"
#include "harness.h"

namespace estuary::e2e {
namespace {

std::string tail(const std::string& s, size_t n = 3000) { return s.size() > n ? s.substr(s.size() - n) : s; }

double position(Chromium& c) { return c.evaluate_number("document.getElementById('video').currentTime"); }

// Playback goes on: the position advances by more than a second within timeout_ms (a track switch
// flushes the audio buffer and refills it first: longer on a loaded machine).
bool advances(Chromium& c, int timeout_ms = 5000) {
  const double from = position(c);
  return c.wait_true("document.getElementById('video').currentTime > " + std::to_string(from + 1.0), timeout_ms);
}

TEST(AudioRenditions, CmafHlsAndDashCarryBothLanguagesAndPlayersSwitch) {
  Server server(std::map<std::string, std::string>{{"ESTUARY_HLS_TARGET_DURATION_S", "1"}});
  ASSERT_TRUE(server.start()) << server.log();
  const std::string http = "http://127.0.0.1:" + std::to_string(server.http_port());
  Process pub = start_two_language_publisher(
      "srt://127.0.0.1:" + std::to_string(server.srt_port()) + "?streamid=#!::r=live/multi,m=publish",
      server.dir() + "/pub.log", 80);
  ASSERT_TRUE(wait_for_stream(server, "live/multi", 15000)) << server.log();

  // HLS (fMP4): ffmpeg reads the master and finds the video and both languages, each its own track.
  const auto streams = probe_streams(http + "/live/multi.m3u8", 20);
  EXPECT_TRUE(has_stream(streams, "video", "h264")) << tail(server.log());
  std::vector<ProbeStream> audio;
  for (const ProbeStream& s : streams)
    if (s.codec_type == "audio") audio.push_back(s);
  ASSERT_EQ(audio.size(), 2u) << tail(server.log());
  EXPECT_EQ(audio[0].language, "en");
  EXPECT_EQ(audio[0].channels, 1);
  EXPECT_EQ(audio[1].language, "fr");
  EXPECT_EQ(audio[1].channels, 2);

  // DASH: one audio adaptation set per track with its language; the French one's init and media
  // segments hold the stereo track alone.
  std::string mpd;
  ASSERT_EQ(http_request("GET", http + "/live/multi.mpd", &mpd), 200);
  EXPECT_NE(mpd.find("contentType=\"audio\" mimeType=\"audio/mp4\" lang=\"en\""), std::string::npos) << mpd;
  std::smatch fr;
  ASSERT_TRUE(std::regex_search(mpd, fr,
                                std::regex("contentType=\"audio\" mimeType=\"audio/mp4\" lang=\"fr\"[^]*?"
                                           "initialization=\"([^\"]+)\" media=\"([^\"]+)\" startNumber=\"(\\d+)\"")))
      << mpd;
  std::string init, media;
  ASSERT_EQ(http_request("GET", http + "/live/" + fr[1].str(), &init), 200);
  const std::string media_name = std::regex_replace(fr[2].str(), std::regex("\\$Number\\$"), fr[3].str());
  ASSERT_EQ(http_request("GET", http + "/live/" + media_name, &media), 200);
  const std::string file = server.dir() + "/fr.mp4";
  std::ofstream(file, std::ios::binary) << init << media;
  const auto french = probe_streams(file);
  ASSERT_EQ(french.size(), 1u) << media_name;
  EXPECT_EQ(french[0].codec_type, "audio");
  EXPECT_EQ(french[0].channels, 2);
  EXPECT_EQ(french[0].sample_rate, 48000);

  // The master's variant names the codecs of every rendition; one track's LL-HLS playlist reports
  // the master's other renditions; DASH's audio representations have their measured bandwidth.
  std::string master, french_playlist;
  ASSERT_EQ(http_request("GET", http + "/live/multi.m3u8", &master), 200);
  EXPECT_TRUE(std::regex_search(master, std::regex("CODECS=\"avc1\\.[0-9a-fA-F]{6},mp4a\\.40\\.2\",AUDIO="))) << master;
  ASSERT_EQ(http_request("GET", http + "/live/multi.m3u8?track=audio_1", &french_playlist), 200);
  EXPECT_NE(french_playlist.find("#EXT-X-RENDITION-REPORT:URI=\"multi.m3u8?track=video\",LAST-MSN="), std::string::npos)
      << french_playlist;
  EXPECT_NE(french_playlist.find("#EXT-X-RENDITION-REPORT:URI=\"multi.m3u8?track=audio_0\",LAST-MSN="),
            std::string::npos)
      << french_playlist;
  EXPECT_EQ(french_playlist.find("URI=\"multi.m3u8?track=audio_1\""), std::string::npos) << french_playlist;
  EXPECT_EQ(mpd.find("bandwidth=\"128000\""), std::string::npos) << mpd;

  // hls.js and dash.js (both at once): two audio tracks listed; after switching to the second,
  // playback goes on.
  const std::string page = http + "/players/play.html?app=live&stream=multi&kind=";
  Chromium hls, dash;
  ASSERT_TRUE(hls.start(page + "hls")) << hls.error() << "\n" << hls.log();
  ASSERT_TRUE(dash.start(page + "dash")) << dash.error() << "\n" << dash.log();
  for (Chromium* c : {&hls, &dash})
    ASSERT_TRUE(c->wait_true("window.estuaryPlayer && estuaryPlayer.frames >= 25", 40000))
        << c->evaluate_string("JSON.stringify(window.estuaryPlayer, (k, v) => k === 'player' ? undefined : v)")
        << "\nconsole:\n"
        << c->console() << "\nserver:\n"
        << tail(server.log());

  ASSERT_TRUE(hls.wait_true("estuaryPlayer.player.audioTracks.length === 2", 5000)) << hls.console();
  EXPECT_EQ(hls.evaluate_string("estuaryPlayer.player.audioTracks.map((t) => t.lang).join(',')"), "en,fr");
  hls.evaluate("estuaryPlayer.player.audioTrack = 1");
  EXPECT_TRUE(hls.wait_true("estuaryPlayer.player.audioTrack === 1", 5000)) << hls.console();
  // ... and has loaded the French rendition's own playlist.
  EXPECT_TRUE(
      hls.wait_true("(estuaryPlayer.player.audioTracks[1].details || {fragments: []}).fragments.length > 0 && "
                    "estuaryPlayer.player.audioTracks[1].url.endsWith('track=audio_1')",
                    5000))
      << hls.console();
  EXPECT_TRUE(advances(hls, 15000)) << hls.console() << "\nserver:\n" << tail(server.log());
  EXPECT_TRUE(advances(hls)) << hls.console();

  ASSERT_TRUE(dash.wait_true("estuaryPlayer.player.getTracksFor('audio').length === 2", 5000)) << dash.console();
  EXPECT_EQ(dash.evaluate_string("estuaryPlayer.player.getTracksFor('audio').map((t) => t.lang).join(',')"), "en,fr");
  dash.evaluate(
      "(() => { const p = estuaryPlayer.player; "
      "p.setCurrentTrack(p.getTracksFor('audio').find((t) => t.lang === 'fr')); })()");
  EXPECT_TRUE(dash.wait_true("estuaryPlayer.player.getCurrentTrackFor('audio').lang === 'fr'", 5000)) << dash.console();
  EXPECT_TRUE(advances(dash, 15000)) << dash.console() << "\nserver:\n" << tail(server.log());
  EXPECT_TRUE(advances(dash)) << dash.console();
}

// A pulled RTSP source with two AAC streams (the camera stand-in with "two-audio"): both reach the
// bus as audio_0 and audio_1, HTTP-TS carries both, the HLS master lists two renditions.
TEST(AudioRenditions, RtspPulledSourceWithTwoAudioStreams) {
  const int cam_port = free_tcp_port();
  const std::string dir = make_temp_dir();
  std::ofstream(dir + "/estuary.conf") << "[source cam]\nstream = cams/two\nurl = rtsp://127.0.0.1:" << cam_port
                                       << "/cam\nretry_min_ms = 300\nretry_max_ms = 1000\n";
  Server server({}, {"--config", dir + "/estuary.conf"});
  Process camera({build_root() + "/tests/e2e/estuary-rtsp-test-source", std::to_string(cam_port), "two-audio"},
                 server.dir() + "/camera.log");
  ASSERT_TRUE(server.start()) << server.log();
  ASSERT_TRUE(wait_for_stream(server, "cams/two", 20000)) << tail(server.log());
  std::string body;
  ASSERT_EQ(http_request("GET", "http://127.0.0.1:" + std::to_string(server.api_port()) + "/api/v1/streams", &body),
            200);
  EXPECT_TRUE(std::regex_search(body, std::regex("\"name\":\"audio_0\",\"codec\":\"AAC\",\"sample_rate\":44100")))
      << body;
  EXPECT_TRUE(std::regex_search(body, std::regex("\"name\":\"audio_1\",\"codec\":\"AAC\",\"sample_rate\":48000")))
      << body;
  std::vector<ProbeStream> audio;
  for (const ProbeStream& s : probe_streams("http://127.0.0.1:" + std::to_string(server.http_port()) + "/cams/two.ts"))
    if (s.codec_type == "audio") audio.push_back(s);
  ASSERT_EQ(audio.size(), 2u) << tail(server.log());
  EXPECT_EQ(audio[0].channels, 2);
  EXPECT_EQ(audio[1].channels, 1);
  std::string master;
  ASSERT_EQ(http_request("GET", "http://127.0.0.1:" + std::to_string(server.http_port()) + "/cams/two.m3u8", &master),
            200);
  EXPECT_NE(master.find("URI=\"two.m3u8?track=audio_1\""), std::string::npos) << master;
}

}  // namespace
}  // namespace estuary::e2e
