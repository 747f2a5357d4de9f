// Owns: tests of the shared WebRTC feed's audio branch: AAC is decoded and encoded to Opus, mono and
// stereo Opus pass through untouched, surround Opus is down-mixed, other audio is refused; and the
// feed launch for each builds with the installed elements.
#include <gst/gst.h>
#include <gtest/gtest.h>

#include "server/config/config.h"
#include "server/control/http_routes.h"
#include "server/protocols/webrtc/rtc_feed.h"

namespace {

using estuary::webrtc::feed_audio_chain;
using estuary::webrtc::feed_launch;

estuary::Result<std::string> chain_for(const char* caps_string) {
  static const estuary::config::Config config;
  GstCaps* caps = gst_caps_from_string(caps_string);
  auto out = feed_audio_chain(caps, config);
  gst_caps_unref(caps);
  return out;
}

std::string build_error(const std::string& launch) {
  GError* error = nullptr;
  GstElement* p = gst_parse_launch_full(launch.c_str(), nullptr, GST_PARSE_FLAG_FATAL_ERRORS, &error);
  if (p) gst_object_unref(p);
  std::string out = error ? error->message : (p ? "" : "no pipeline");
  if (error) g_error_free(error);
  return out;
}

TEST(RtcFeed, AacIsTranscodedToOpus) {
  auto chain = chain_for("audio/mpeg,mpegversion=4,stream-format=raw,rate=44100,channels=2");
  ASSERT_TRUE(chain.ok());
  EXPECT_EQ(chain.value().rfind("aacparse ! avdec_aac ! ", 0), 0u) << chain.value();
  EXPECT_NE(chain.value().find("opusenc"), std::string::npos) << chain.value();
}

TEST(RtcFeed, MonoAndStereoOpusPassThrough) {
  for (const char* caps : {"audio/x-opus,rate=48000,channels=2,channel-mapping-family=0",
                           "audio/x-opus,rate=48000,channels=1,channel-mapping-family=0"}) {
    auto chain = chain_for(caps);
    ASSERT_TRUE(chain.ok()) << caps;
    EXPECT_EQ(chain.value(), "opusparse") << caps;
  }
}

TEST(RtcFeed, SurroundOpusIsDownmixedAndOtherAudioRefused) {
  auto surround = chain_for("audio/x-opus,rate=48000,channels=6,channel-mapping-family=1");
  ASSERT_TRUE(surround.ok());
  EXPECT_EQ(surround.value().rfind("opusparse ! opusdec ! ", 0), 0u) << surround.value();
  auto mp3 = chain_for("audio/mpeg,mpegversion=1,layer=3,rate=44100,channels=2");
  ASSERT_FALSE(mp3.ok());
  EXPECT_EQ(estuary::server::http_status_for(mp3.error()), 422);
}

TEST(RtcFeed, FeedLaunchBuildsForEachAudioBranch) {
  const estuary::config::Config config;
  for (const char* caps : {"audio/mpeg,mpegversion=4", "audio/x-opus,channels=2,channel-mapping-family=0",
                           "audio/x-opus,channels=6,channel-mapping-family=1"}) {
    SCOPED_TRACE(caps);
    auto chain = chain_for(caps);
    ASSERT_TRUE(chain.ok());
    const std::string launch = feed_launch("live/x", true, chain.value(), config);
    EXPECT_EQ(build_error(launch), "") << launch;
  }
  EXPECT_EQ(feed_launch("live/x", true, "", config).find("src.audio"), std::string::npos);
}

}  // namespace
