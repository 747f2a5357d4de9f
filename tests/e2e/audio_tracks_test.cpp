// Owns: end-to-end test of several audio tracks on the stream bus (issue #19, item 4): an MPEG-TS over
// SRT with two AAC tracks in two languages (ffmpeg), then the API's track list, the HLS master
// playlist's audio renditions (TS variant: each an audio-only playlist of the same segments with
// the other tracks taken out, read back by ffmpeg through the master; hls.js in Chromium switching
// to the second), HTTP-TS carrying both tracks
// with their languages, HTTP-FLV carrying the first, HTTP-FLV ?audio=1 carrying the second, and the
// DVR's MP4 recording both. The tracks differ in channels (1 and 2) so that ffprobe can tell which
// one an FLV carries (FLV has no language).
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "chromium.h"
#include "harness.h"

using namespace estuary::e2e;

namespace {

// The audio streams ffprobe finds at url.
std::vector<ProbeStream> probe_audio(const std::string& url) {
  std::vector<ProbeStream> out;
  for (const ProbeStream& s : probe_streams(url, 20))
    if (s.codec_type == "audio") out.push_back(s);
  return out;
}

// French is "fra" (ISO 639-2/T) or "fre" (639-2/B, what mpegtsmux writes).
bool is_french(const std::string& code) { return code == "fra" || code == "fre"; }

class AudioTracks : public ::testing::Test {
 protected:
  void SetUp() override {
    rec = make_temp_dir();
    server =
        std::make_unique<Server>(std::map<std::string, std::string>{{"ESTUARY_HLS_TARGET_DURATION_S", "1"},
                                                                    {"ESTUARY_HLS_VARIANT", "ts"},
                                                                    {"ESTUARY_DVR_ENABLED", "true"},
                                                                    {"ESTUARY_DVR_FORMAT", "mp4"},
                                                                    {"ESTUARY_DVR_PATH", rec + "/[app]/[stream]"}});
    ASSERT_TRUE(server->start()) << server->log();
  }
  std::string http(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server->http_port()) + path;
  }
  std::unique_ptr<Server> server;
  std::string rec;  // DVR directory
};

TEST_F(AudioTracks, SrtTwoLanguagesReachApiHlsTsAndFlv) {
  const std::string url =
      "srt://127.0.0.1:" + std::to_string(server->srt_port()) + "?streamid=#!::r=live/multi,m=publish";
  // Two AAC tracks: eng mono 44.1 kHz, fra stereo 48 kHz.
  Process pub = start_two_language_publisher(url, server->dir() + "/pub.log", 60);
  ASSERT_TRUE(wait_for_stream(*server, "live/multi", 15000)) << server->log();

  // The API lists both tracks with codec, channels, rate and language.
  std::string body;
  ASSERT_EQ(http_request("GET", "http://127.0.0.1:" + std::to_string(server->api_port()) + "/api/v1/streams", &body),
            200);
  EXPECT_TRUE(std::regex_search(
      body, std::regex("\"name\":\"audio_0\",\"codec\":\"AAC\",\"sample_rate\":44100,\"channel\":1,[^}]*"
                       "\"language\":\"eng\"")))
      << body;
  EXPECT_TRUE(std::regex_search(
      body, std::regex("\"name\":\"audio_1\",\"codec\":\"AAC\",\"sample_rate\":48000,\"channel\":2,[^}]*"
                       "\"language\":\"fra\"")))
      << body;

  // HLS: a master playlist with one audio rendition per track, DEFAULT on the first, each its own
  // audio-only playlist, and the video variant referencing the group.
  std::string master;
  ASSERT_EQ(http_request("GET", http("/live/multi.m3u8"), &master), 200) << server->log();
  EXPECT_NE(master.find("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"English\",LANGUAGE=\"en\",DEFAULT=YES,"
                        "AUTOSELECT=YES,URI=\"multi.m3u8?track=audio_0\"\n"),
            std::string::npos)
      << master;
  EXPECT_NE(master.find("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"French\",LANGUAGE=\"fr\",DEFAULT=NO,"
                        "AUTOSELECT=YES,URI=\"multi.m3u8?track=audio_1\"\n"),
            std::string::npos)
      << master;
  EXPECT_NE(master.find("AUDIO=\"audio\"\nmulti.m3u8?track=video\n"), std::string::npos) << master;
  // The variant's CODECS name the video and the audio tracks' codec (RFC 8216 4.3.4.2).
  EXPECT_TRUE(std::regex_search(master, std::regex("CODECS=\"avc1\\.[0-9a-fA-F]{6},mp4a\\.40\\.2\",AUDIO="))) << master;
  // ffmpeg reading the master finds the video and both languages, each rendition with its own track.
  const auto streams = probe_streams(http("/live/multi.m3u8"), 20);
  EXPECT_TRUE(has_stream(streams, "video", "h264")) << server->log();
  std::vector<ProbeStream> renditions;
  for (const ProbeStream& s : streams)
    if (s.codec_type == "audio") renditions.push_back(s);
  ASSERT_EQ(renditions.size(), 2u) << server->log();
  EXPECT_EQ(renditions[0].language, "en");
  EXPECT_EQ(renditions[0].channels, 1);
  EXPECT_EQ(renditions[1].language, "fr");
  EXPECT_EQ(renditions[1].channels, 2);
  // A rendition's segments carry its track alone; the variant's the video alone.
  std::string french;
  ASSERT_EQ(http_request("GET", http("/live/multi.m3u8?track=audio_1"), &french), 200);
  std::smatch seg;
  ASSERT_TRUE(std::regex_search(french, seg, std::regex("\n(multi-\\d+\\.hls\\.ts)\\?track=audio_1\n"))) << french;
  const auto alone = probe_streams(http("/live/" + seg[1].str() + "?track=audio_1"));
  ASSERT_EQ(alone.size(), 1u);
  EXPECT_EQ(alone[0].codec_type, "audio");
  EXPECT_EQ(alone[0].channels, 2);
  const auto video = probe_streams(http("/live/" + seg[1].str() + "?track=video"));
  ASSERT_EQ(video.size(), 1u);
  EXPECT_EQ(video[0].codec_type, "video");
  std::string refused_track;
  EXPECT_EQ(http_request("GET", http("/live/multi.m3u8?track=audio_2"), &refused_track), 404) << refused_track;
  // hls.js lists both renditions and plays on after switching to the French one (audio-only TS).
  Chromium browser;
  const std::string page = http("/players/play.html?app=live&stream=multi&kind=hls");
  if (!browser.start(page)) {  // a browser slow to answer its first DevTools command on a busy machine
    browser.stop();
    ASSERT_TRUE(browser.start(page)) << browser.error() << "\n" << browser.log();
  }
  ASSERT_TRUE(
      browser.wait_true("window.estuaryPlayer && estuaryPlayer.frames >= 25 && "
                        "estuaryPlayer.player.audioTracks.length === 2",
                        40000))
      << browser.console() << "\nserver:\n"
      << server->log();
  browser.evaluate("estuaryPlayer.player.audioTrack = 1");
  EXPECT_TRUE(
      browser.wait_true("estuaryPlayer.player.audioTrack === 1 && "
                        "(estuaryPlayer.player.audioTracks[1].details || {fragments: []}).fragments.length > 0",
                        5000))
      << browser.console();
  const double from = browser.evaluate_number("document.getElementById('video').currentTime");
  EXPECT_TRUE(browser.wait_true("document.getElementById('video').currentTime > " + std::to_string(from + 2.0), 8000))
      << browser.console();
  browser.stop();

  // The muxed playlist (?media=1) stays: its segments carry both tracks (in order: mono, then stereo).
  const auto hls = probe_audio(http("/live/multi.m3u8?media=1"));
  ASSERT_EQ(hls.size(), 2u) << server->log();
  EXPECT_EQ(hls[0].channels, 1);
  EXPECT_EQ(hls[1].channels, 2);

  // HTTP-TS carries both, with their languages.
  const auto ts = probe_audio(http("/live/multi.ts"));
  ASSERT_EQ(ts.size(), 2u) << server->log();
  EXPECT_EQ(ts[0].codec_name, "aac");
  EXPECT_EQ(ts[0].language, "eng");
  EXPECT_EQ(ts[0].channels, 1);
  EXPECT_EQ(ts[1].codec_name, "aac");
  EXPECT_TRUE(is_french(ts[1].language)) << ts[1].language;
  EXPECT_EQ(ts[1].channels, 2);

  // HTTP-FLV carries the first track only; ?audio=1 the second.
  const auto flv = probe_audio(http("/live/multi.flv"));
  ASSERT_EQ(flv.size(), 1u) << server->log();
  EXPECT_EQ(flv[0].codec_name, "aac");
  EXPECT_EQ(flv[0].channels, 1);
  const auto flv1 = probe_audio(http("/live/multi.flv?audio=1"));
  ASSERT_EQ(flv1.size(), 1u) << server->log();
  EXPECT_EQ(flv1[0].channels, 2);
  // A track the stream does not have is refused.
  std::string refused;
  EXPECT_EQ(http_request("GET", http("/live/multi.flv?audio=5"), &refused), 404) << refused;

  // The DVR's MP4 (fragmented, readable while written) records both tracks.
  const auto mp4 = probe_audio(rec + "/live/multi.mp4");
  ASSERT_EQ(mp4.size(), 2u) << server->log();
  EXPECT_EQ(mp4[0].channels, 1);
  EXPECT_EQ(mp4[1].channels, 2);
}

}  // namespace
