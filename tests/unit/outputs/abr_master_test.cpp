// Owns: unit tests of the ABR master playlist (rendering, order, codec strings from caps), of
// health messages → API fields, and of the shipped transcode/health examples validating with the
// encoder placeholders resolved (transcode-specific checks: an estuarysink, no loop, no demand).
#include <gst/gst.h>
#include <gtest/gtest.h>

#include "common/gobject_ptr.h"
#include "server/config/pipelines_dir.h"
#include "server/control/encoder_placeholders.h"
#include "server/control/stream_health.h"
#include "server/outputs/hls/abr_master.h"
#include "server/outputs/hls/hls_playlist.h"

using namespace estuary;
using namespace estuary::server;

namespace {

Ref<GstCaps> caps(const char* text) { return Ref<GstCaps>::adopt(gst_caps_from_string(text)); }

// A stream with several audio tracks muxed into its segments: one rendition per track without URI,
// DEFAULT on the first, NAME unique (the language's name, else the track).
TEST(AudioMaster, RendersOneRenditionPerTrack) {
  EXPECT_EQ(
      render_audio_master({{"en", "English"}, {"fr", "French"}, {"", ""}, {"en", "English"}}, "x.m3u8?media=1", 900000),
      "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n"
      "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"English\",LANGUAGE=\"en\",DEFAULT=YES,AUTOSELECT=YES\n"
      "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"French\",LANGUAGE=\"fr\",DEFAULT=NO,AUTOSELECT=YES\n"
      "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"audio_2\",DEFAULT=NO,AUTOSELECT=YES\n"
      "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"English (audio_3)\",LANGUAGE=\"en\",DEFAULT=NO,"
      "AUTOSELECT=YES\n"
      "#EXT-X-STREAM-INF:BANDWIDTH=900000,AUDIO=\"audio\"\nx.m3u8?media=1\n");
}

// Renditions with their own playlists (audio-only, the same segments with the other tracks taken out).
TEST(AudioMaster, RenditionsWithTheirOwnPlaylists) {
  EXPECT_EQ(render_audio_master({{"en", "English", "x.m3u8?track=audio_0"}, {"fr", "French", "x.m3u8?track=audio_1"}},
                                "x.m3u8?track=video", 900000),
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"English\",LANGUAGE=\"en\",DEFAULT=YES,AUTOSELECT=YES,"
            "URI=\"x.m3u8?track=audio_0\"\n"
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"French\",LANGUAGE=\"fr\",DEFAULT=NO,AUTOSELECT=YES,"
            "URI=\"x.m3u8?track=audio_1\"\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=900000,AUDIO=\"audio\"\nx.m3u8?track=video\n");
  EXPECT_EQ(audio_rendition_of("fra").language, "fr");
  EXPECT_EQ(audio_rendition_of("fra").name, "French");
  EXPECT_EQ(audio_rendition_of("").language, "");
}

// The variant's CODECS cover every rendition: the video's and each distinct audio codec, or none at
// all when a track's codec is unknown.
TEST(AudioMaster, VariantCodecsNameTheVideoAndEveryAudioCodec) {
  EXPECT_EQ(variant_codecs(true, "avc1.64001f", {"mp4a.40.2", "mp4a.40.2"}), "avc1.64001f,mp4a.40.2");
  EXPECT_EQ(variant_codecs(true, "hvc1.1.6.L93.B0", {"mp4a.40.2", "opus", "mp4a.40.5", "opus"}),
            "hvc1.1.6.L93.B0,mp4a.40.2,opus,mp4a.40.5");
  EXPECT_EQ(variant_codecs(false, "", {"mp4a.40.2", "opus"}), "mp4a.40.2,opus");
  EXPECT_EQ(variant_codecs(true, "", {"mp4a.40.2"}), "");
  EXPECT_EQ(variant_codecs(true, "avc1.64001f", {"mp4a.40.2", ""}), "");
  EXPECT_EQ(render_audio_master({{"en", "English", "x.m3u8?track=audio_0"}, {"fr", "French", "x.m3u8?track=audio_1"}},
                                "x.m3u8?track=video", 900000, "avc1.64001f,mp4a.40.2,opus"),
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"English\",LANGUAGE=\"en\",DEFAULT=YES,AUTOSELECT=YES,"
            "URI=\"x.m3u8?track=audio_0\"\n"
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"French\",LANGUAGE=\"fr\",DEFAULT=NO,AUTOSELECT=YES,"
            "URI=\"x.m3u8?track=audio_1\"\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=900000,CODECS=\"avc1.64001f,mp4a.40.2,opus\",AUDIO=\"audio\"\n"
            "x.m3u8?track=video\n");
}

TEST(AbrMaster, RendersVariantsHighestBandwidthFirst) {
  std::vector<AbrVariant> v = {
      {"x_480p.m3u8", 864000, 854, 480, "avc1.42c01e,mp4a.40.2", 15},
      {"x.m3u8", 2500000, 1280, 720, "avc1.64001f,mp4a.40.2", 30},
      {"x_720p.m3u8", 1564000, 1280, 720, "", 0},
  };
  EXPECT_EQ(render_master_playlist(v),
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720,FRAME-RATE=30.000,"
            "CODECS=\"avc1.64001f,mp4a.40.2\"\nx.m3u8\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=1564000,RESOLUTION=1280x720\nx_720p.m3u8\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=864000,RESOLUTION=854x480,FRAME-RATE=15.000,"
            "CODECS=\"avc1.42c01e,mp4a.40.2\"\nx_480p.m3u8\n");
}

TEST(AbrMaster, AudioOnlyVariantAndZeroBandwidth) {
  // A variant must declare some BANDWIDTH; no RESOLUTION without a picture.
  EXPECT_EQ(render_master_playlist({{"a.m3u8", 0, 0, 0, "mp4a.40.2", 0}}),
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"mp4a.40.2\"\na.m3u8\n");
}

TEST(AbrMaster, H264CodecStringFromCodecDataOrProfileAndLevel) {
  // avcC: version 1, profile 0x64 (High), compatibility 0x00, level 0x1f (3.1).
  EXPECT_EQ(video_codec_string(caps("video/x-h264,stream-format=avc,codec_data=(buffer)0164001fffe1").get()),
            "avc1.64001f");
  EXPECT_EQ(video_codec_string(caps("video/x-h264,stream-format=byte-stream,profile=high,level=(string)3.1").get()),
            "avc1.64001f");
  EXPECT_EQ(video_codec_string(caps("video/x-h264,profile=constrained-baseline,level=(string)3").get()), "avc1.42c01e");
  EXPECT_EQ(video_codec_string(caps("video/x-h264,profile=main,level=(string)4").get()), "avc1.4d4028");
  EXPECT_EQ(video_codec_string(caps("video/x-h264").get()), "");
  EXPECT_EQ(video_codec_string(caps("video/x-vp8").get()), "");
  EXPECT_EQ(video_codec_string(nullptr), "");
}

TEST(AbrMaster, H265CodecString) {
  EXPECT_EQ(video_codec_string(caps("video/x-h265,profile=main,tier=main,level=(string)4.1").get()),
            "hvc1.1.6.L123.B0");
  // hvcC: version 1, tier main + profile 1, compatibility 0x60000000, ..., level 93 (3.1).
  EXPECT_EQ(
      video_codec_string(caps("video/x-h265,stream-format=hvc1,codec_data=(buffer)0101600000009000000000005d").get()),
      "hvc1.1.6.L93.B0");
}

TEST(AbrMaster, AudioCodecStrings) {
  EXPECT_EQ(audio_codec_string(caps("audio/mpeg,mpegversion=4,codec_data=(buffer)1210").get()), "mp4a.40.2");
  EXPECT_EQ(audio_codec_string(caps("audio/mpeg,mpegversion=4,codec_data=(buffer)2b92").get()), "mp4a.40.5");
  EXPECT_EQ(audio_codec_string(caps("audio/mpeg,mpegversion=4,profile=he-aac-v2").get()), "mp4a.40.29");
  EXPECT_EQ(audio_codec_string(caps("audio/mpeg,mpegversion=4").get()), "mp4a.40.2");
  EXPECT_EQ(audio_codec_string(caps("audio/mpeg,mpegversion=1,layer=3").get()), "mp4a.40.34");
  EXPECT_EQ(audio_codec_string(caps("audio/x-opus").get()), "opus");
  EXPECT_EQ(audio_codec_string(caps("audio/x-raw").get()), "");
  EXPECT_DOUBLE_EQ(caps_frame_rate(caps("video/x-h264,framerate=30000/1001").get()), 30000.0 / 1001.0);
  EXPECT_EQ(caps_frame_rate(caps("video/x-h264,framerate=0/1").get()), 0);
}

TEST(StreamHealth, ChangesBecomeFlagsAndLastEvent) {
  api::HealthView h;
  EXPECT_TRUE(apply_health_change(h, "black", "raised", 3.5, 1000));
  EXPECT_TRUE(h.black);
  EXPECT_EQ(h.last_event, "black raised");
  EXPECT_EQ(h.last_event_ms, 1000);
  EXPECT_TRUE(apply_health_change(h, "silence", "raised", -91, 1100));
  EXPECT_TRUE(apply_health_change(h, "frozen", "raised", 0, 1200));
  EXPECT_TRUE(apply_health_change(h, "drift", "raised", 0.75, 1300));
  EXPECT_TRUE(h.silent && h.frozen && h.drift);
  EXPECT_DOUBLE_EQ(h.av_drift_ms, 750);
  EXPECT_TRUE(apply_health_change(h, "black", "cleared", 120, 1400));
  EXPECT_FALSE(h.black);
  EXPECT_TRUE(h.silent);
  EXPECT_EQ(h.last_event, "black cleared");
  // malformed: untouched
  EXPECT_FALSE(apply_health_change(h, "black", "maybe", 0, 1500));
  EXPECT_FALSE(apply_health_change(h, "", "raised", 0, 1500));
  EXPECT_EQ(h.last_event_ms, 1400);
}

TEST(StreamHealth, ElementMessageAdapter) {
  api::HealthView h;
  GstStructure* s =
      gst_structure_new("estuary-health", "kind", G_TYPE_STRING, "silence", "state", G_TYPE_STRING, "raised", "value",
                        G_TYPE_DOUBLE, -120.0, "stream", G_TYPE_STRING, "live/x", nullptr);
  EXPECT_TRUE(handle_health_message(h, s, "live/x"));
  EXPECT_TRUE(h.silent);
  gst_structure_free(s);
  s = gst_structure_new("estuary-stream-ready", "stream", G_TYPE_STRING, "live/x", nullptr);
  EXPECT_FALSE(handle_health_message(h, s, "live/x"));
  gst_structure_free(s);
}

class ShippedExamples : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { install_encoder_placeholders(); }
  static std::string root() {
    const char* v = g_getenv("ESTUARY_SOURCE_ROOT");
    return v ? v : ".";
  }
  static std::string read(const std::string& path) {
    gchar* text = nullptr;
    gsize len = 0;
    if (!g_file_get_contents(path.c_str(), &text, &len, nullptr)) return "";
    std::string out(text, len);
    g_free(text);
    return out;
  }
};

TEST_F(ShippedExamples, LadderExampleValidatesAndExpandsToX264) {
  const std::string path = root() + "/pipelines.d/ladder.conf.example";
  auto specs = config::parse_pipelines_file(path, read(path));
  ASSERT_TRUE(specs) << specs.error().message;
  ASSERT_EQ(specs->size(), 1u);
  const auto& spec = (*specs)[0];
  EXPECT_EQ(spec.output, "transcode");
  EXPECT_TRUE(spec.matches("live/x"));
  const std::string launch = spec.expand("live", "x");
  EXPECT_NE(launch.find("estuarysink name=r720 stream=live/x_720p"), std::string::npos) << launch;
  EXPECT_NE(launch.find("x264enc bitrate=1500 key-int-max=30 tune=zerolatency speed-preset=ultrafast"),
            std::string::npos)
      << launch;
  EXPECT_EQ(launch.find("@h264enc"), std::string::npos);
}

TEST_F(ShippedExamples, HealthExampleValidates) {
  const std::string path = root() + "/pipelines.d/health.conf.example";
  auto specs = config::parse_pipelines_file(path, read(path));
  EXPECT_TRUE(specs) << specs.error().message;
}

TEST_F(ShippedExamples, TranscodeSpecsAreChecked) {
  const std::string head = "[pipeline t]\nmatch=live/*\noutput=transcode\n";
  auto no_sink = config::parse_pipelines_file("t.conf", head + "launch=estuarysrc stream={name} ! fakesink\n");
  ASSERT_FALSE(no_sink);
  EXPECT_NE(no_sink.error().message.find("needs at least one estuarysink"), std::string::npos)
      << no_sink.error().message;
  auto loop = config::parse_pipelines_file(
      "t.conf", head + "launch=estuarysrc stream={name} ! queue ! estuarysink stream={name}\n");
  ASSERT_FALSE(loop);
  EXPECT_NE(loop.error().message.find("publishes the stream the pipeline reads"), std::string::npos)
      << loop.error().message;
  auto demand =
      config::parse_pipelines_file("t.conf",
                                   "[pipeline t]\ntrigger=demand\noutput=transcode\n"
                                   "launch=estuarysrc stream={name} ! queue ! estuarysink stream={name}_copy\n");
  ASSERT_FALSE(demand);
  EXPECT_NE(demand.error().message.find("t.conf:1:"), std::string::npos) << demand.error().message;
  EXPECT_NE(demand.error().message.find("not demand"), std::string::npos) << demand.error().message;
  auto good = config::parse_pipelines_file(
      "t.conf", head + "launch=estuarysrc stream={name} ! queue ! estuarysink stream={name}_copy\n");
  EXPECT_TRUE(good) << good.error().message;
}

}  // namespace
