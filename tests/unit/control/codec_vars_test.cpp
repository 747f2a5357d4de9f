// Owns: tests of the codec-dependent launch variables: which parser each audio codec gets, and that
// the built-in TS, HLS and FLV outputs expanded for an Opus (or MP3) stream are launch lines
// GStreamer builds with the installed elements (the FLV one re-encodes to AAC beside H.264; beside
// HEVC/AV1/VP9 Opus stays Opus).
#include <gst/gst.h>
#include <gtest/gtest.h>

#include "common/gobject_ptr.h"
#include "server/control/builtin_pipelines.h"
#include "server/control/codec_vars.h"

namespace {

using estuary::api::AudioView;
using estuary::api::VideoView;
using estuary::server::audio_conversion_note;
using estuary::server::builtin_output_spec;
using estuary::server::codec_vars_for;

std::optional<VideoView> video(const char* codec) {
  VideoView v;
  v.codec = codec;
  return v;
}
std::optional<AudioView> audio(const char* codec) {
  AudioView a;
  a.codec = codec;
  return a;
}

// Builds (does not run) the launch line; "" when GStreamer accepts it, else its error.
std::string build_error(const std::string& launch) {
  GError* error = nullptr;
  GstElement* p = gst_parse_launch_full(launch.c_str(), nullptr, GST_PARSE_FLAG_FATAL_ERRORS, &error);
  if (p) gst_object_unref(p);
  std::string out = error ? error->message : (p ? "" : "no pipeline");
  if (error) g_error_free(error);
  return out;
}

TEST(CodecVars, AacStreamKeepsTheDefaults) {
  auto v = codec_vars_for(video("H264"), audio("AAC"));
  EXPECT_EQ(v.video_parser, "h264parse");
  EXPECT_EQ(v.audio_parser, "aacparse");
  EXPECT_EQ(v.flv_audio, "aacparse");
  EXPECT_EQ(audio_conversion_note(*builtin_output_spec("flv"), audio("AAC")), "");
}

TEST(CodecVars, OpusPassesThroughTsAndIsReencodedForFlv) {
  auto v = codec_vars_for(video("H264"), audio("Opus"));
  EXPECT_EQ(v.video_parser, "h264parse");
  EXPECT_EQ(v.audio_parser, "opusparse");
  EXPECT_EQ(v.flv_audio.rfind("opusparse ! opusdec", 0), 0u) << v.flv_audio;
  EXPECT_NE(v.flv_audio.find(" ! aacparse"), std::string::npos) << v.flv_audio;
  EXPECT_NE(audio_conversion_note(*builtin_output_spec("flv"), audio("Opus")).find("Opus audio re-encoded to AAC"),
            std::string::npos);
  EXPECT_EQ(audio_conversion_note(*builtin_output_spec("ts"), audio("Opus")), "");  // TS carries it as it is
}

TEST(CodecVars, FlvWritesEnhancedForTheNewVideoCodecsOnly) {
  EXPECT_TRUE(estuary::server::flv_writes_enhanced(video("H265")));
  EXPECT_TRUE(estuary::server::flv_writes_enhanced(video("AV1")));
  EXPECT_TRUE(estuary::server::flv_writes_enhanced(video("VP9")));
  EXPECT_FALSE(estuary::server::flv_writes_enhanced(video("H264")));
  EXPECT_FALSE(estuary::server::flv_writes_enhanced(std::nullopt));
}

TEST(CodecVars, OpusStaysOpusBesideEnhancedVideo) {
  // No flvmux there: enhanced FLV carries Opus, and the DVR records such streams to MP4 (or TS).
  for (const char* codec : {"H265", "AV1", "VP9"}) {
    auto v = codec_vars_for(video(codec), audio("Opus"));
    EXPECT_EQ(v.audio_parser, "opusparse") << codec;
    EXPECT_EQ(v.flv_audio, "opusparse") << codec;
  }
}

TEST(CodecVars, Av1AndVp9GetTheirParsers) {
  EXPECT_EQ(codec_vars_for(video("AV1"), audio("Opus")).video_parser, "av1parse");
  EXPECT_EQ(codec_vars_for(video("VP9"), audio("AAC")).video_parser, "vp9parse");
}

TEST(CodecVars, Mp3GetsItsParserAndAacForFlv) {
  auto v = codec_vars_for(std::nullopt, audio("MP3"));
  EXPECT_EQ(v.audio_parser, "mpegaudioparse");
  EXPECT_EQ(v.flv_audio.rfind("mpegaudioparse ! ", 0), 0u) << v.flv_audio;
  EXPECT_NE(v.flv_audio.find(" ! aacparse"), std::string::npos) << v.flv_audio;
}

TEST(CodecVars, BuiltInOutputsBuildForEveryAudioCodec) {
  for (const char* codec : {"AAC", "MP3", "Opus"}) {
    auto vars = codec_vars_for(video("H264"), audio(codec));
    for (const char* kind : {"ts", "hls", "flv", "dvr"}) {
      SCOPED_TRACE(std::string(kind) + " with " + codec);
      const std::string launch = builtin_output_spec(kind)->expand_for_tracks("live", "x", true, true, vars);
      EXPECT_EQ(build_error(launch), "") << launch;
    }
  }
}

}  // namespace
