// Encoder placeholder resolution: preference order over a fake registry with failing test encodes,
// klass/rank fallback for unknown encoders, per-family property mapping, launch-line expansion, and
// the real GStreamer registry resolving to x264enc / x265enc on this (GPU-less) machine.
#include "pipelines/encoder_select.h"

#include "pipelines/launch_placeholders.h"

#include "server/config/pipelines_dir.h"

#include <gst/gst.h>
#include <gtest/gtest.h>

#include <set>

using namespace estuary::pipelines;

namespace {

std::string expand_encoder_placeholders(const std::string& launch, const std::map<VideoCodec, EncoderChoice>& enc) {
  PlaceholderChoices c;
  c.encoders = enc;
  return expand_placeholders(launch, c);
}
bool has_encoder_placeholder(const std::string& launch) { return has_placeholder(launch); }

const std::vector<EncoderFactoryInfo> kAllH264 = {
    {"x264enc", "Codec/Encoder/Video", 256},
    {"openh264enc", "Encoder/Video", 64},
    {"qsvh264enc", "Codec/Encoder/Video/Hardware", 0},
    {"vah264enc", "Codec/Encoder/Video/Hardware", 0},
    {"vah264lpenc", "Codec/Encoder/Video/Hardware", 0},
    {"nvh264enc", "Codec/Encoder/Video/Hardware", 256},
    {"nvautogpuh264enc", "Codec/Encoder/Video/Hardware", 0},
    {"v4l2h264enc", "Codec/Encoder/Video/Hardware", 128},
    {"avenc_h264_omx", "Codec/Encoder/Video", 128},
};

// A test encode that fails for the named factories and records what was tried.
struct FakeTest {
  std::set<std::string> failing;
  std::vector<std::string> tried;
  TestEncodeFn fn() {
    return [this](const std::string& name, std::string* error) {
      tried.push_back(name);
      if (failing.count(name)) {
        *error = "no device";
        return false;
      }
      return true;
    };
  }
};

TEST(EncoderSelect, CandidateOrderFollowsPreferenceThenHardwareThenRank) {
  auto order = candidate_order(VideoCodec::h264, kAllH264);
  std::vector<std::string> expected = {"nvautogpuh264enc", "nvh264enc", "vah264lpenc",    "vah264enc",  "qsvh264enc",
                                       "v4l2h264enc",      "x264enc",   "avenc_h264_omx", "openh264enc"};
  EXPECT_EQ(order, expected);
}

TEST(EncoderSelect, PicksTheFirstPreferredThatPassesTheTestEncode) {
  FakeTest t;
  auto c = select_encoder(VideoCodec::h264, kAllH264, t.fn());
  EXPECT_EQ(c.element, "nvautogpuh264enc");
  EXPECT_EQ(c.family, "nvenc");
  EXPECT_EQ(t.tried.size(), 1u);
}

TEST(EncoderSelect, FailingTestEncodesFallThroughInPreferenceOrder) {
  FakeTest t;
  t.failing = {"nvautogpuh264enc", "nvh264enc", "vah264lpenc"};
  auto c = select_encoder(VideoCodec::h264, kAllH264, t.fn());
  EXPECT_EQ(c.element, "vah264enc");
  EXPECT_EQ(c.family, "va");
  EXPECT_EQ(t.tried, (std::vector<std::string>{"nvautogpuh264enc", "nvh264enc", "vah264lpenc", "vah264enc"}));
  EXPECT_EQ(c.rejected.size(), 3u);
  EXPECT_NE(c.reason.find("preference #4"), std::string::npos) << c.reason;
  EXPECT_NE(c.reason.find("nvh264enc: test encode failed (no device)"), std::string::npos) << c.reason;
}

TEST(EncoderSelect, AllHardwareFailingGivesX264) {
  FakeTest t;
  t.failing = {"nvautogpuh264enc", "nvh264enc", "vah264lpenc", "vah264enc", "qsvh264enc", "v4l2h264enc"};
  auto c = select_encoder(VideoCodec::h264, kAllH264, t.fn());
  EXPECT_EQ(c.element, "x264enc");
  EXPECT_EQ(c.family, "x264");
  EXPECT_NE(c.reason.find("preference #6 of 6"), std::string::npos) << c.reason;
}

TEST(EncoderSelect, UnknownHardwareEncoderChosenByKlassAndRank) {
  std::vector<EncoderFactoryInfo> reg = {{"x264enc", "Codec/Encoder/Video", 256},
                                         {"fooh264enc", "Codec/Encoder/Video/Hardware", 64},
                                         {"barh264enc", "Codec/Encoder/Video/Hardware", 128}};
  FakeTest t;
  t.failing = {"barh264enc"};
  auto c = select_encoder(VideoCodec::h264, reg, t.fn());
  EXPECT_EQ(c.element, "fooh264enc");
  EXPECT_EQ(c.family, "other");
  EXPECT_NE(c.reason.find("klass Hardware"), std::string::npos) << c.reason;
  EXPECT_EQ(t.tried, (std::vector<std::string>{"barh264enc", "fooh264enc"}));
}

TEST(EncoderSelect, OnlyRegisteredTypesAreTriedAndMissingOnesReported) {
  std::vector<EncoderFactoryInfo> reg = {{"x264enc", "Codec/Encoder/Video", 256}};
  FakeTest t;
  auto c = select_encoder(VideoCodec::h264, reg, t.fn());
  EXPECT_EQ(c.element, "x264enc");
  EXPECT_EQ(t.tried, std::vector<std::string>{"x264enc"});
  EXPECT_NE(c.reason.find("not registered: nvautogpuh264enc, nvh264enc"), std::string::npos) << c.reason;
}

TEST(EncoderSelect, NothingWorks) {
  FakeTest t;
  t.failing = {"x264enc"};
  auto c = select_encoder(VideoCodec::h264, {{"x264enc", "Codec/Encoder/Video", 256}}, t.fn());
  EXPECT_TRUE(c.element.empty());
  EXPECT_NE(c.reason.find("no working h264 encoder"), std::string::npos);
}

TEST(EncoderSelect, H265PreferenceList) {
  std::vector<EncoderFactoryInfo> reg = {{"x265enc", "Codec/Encoder/Video", 256},
                                         {"nvh265enc", "Codec/Encoder/Video/Hardware", 256},
                                         {"vah265enc", "Codec/Encoder/Video/Hardware", 0}};
  FakeTest t;
  t.failing = {"nvh265enc"};
  auto c = select_encoder(VideoCodec::h265, reg, t.fn());
  EXPECT_EQ(c.element, "vah265enc");
  EXPECT_EQ(preferred_encoders(VideoCodec::h265).back(), "x265enc");
}

TEST(EncoderSelect, PropertyMappingPerFamily) {
  std::vector<std::pair<std::string, std::string>> p = {{"bitrate", "2000"}, {"gop", "60"}, {"tune", "latency"}};
  EXPECT_EQ(map_encoder_properties("x264enc", p),
            "x264enc bitrate=2000 key-int-max=60 tune=zerolatency speed-preset=veryfast");
  EXPECT_EQ(map_encoder_properties("x265enc", p),
            "x265enc bitrate=2000 key-int-max=60 tune=zerolatency speed-preset=veryfast");
  EXPECT_EQ(map_encoder_properties("nvh264enc", p),
            "nvh264enc bitrate=2000 gop-size=60 preset=low-latency-hq zerolatency=true");
  // 1.22's GstNvEncoder elements call it zero-reorder-delay (issue #19: zerolatency made them fail).
  EXPECT_EQ(map_encoder_properties("nvautogpuh264enc", p),
            "nvautogpuh264enc bitrate=2000 gop-size=60 preset=low-latency-hq zero-reorder-delay=true");
  EXPECT_EQ(map_encoder_properties("vah264lpenc", p),
            "vah264lpenc bitrate=2000 key-int-max=60 b-frames=0 target-usage=7");
  EXPECT_EQ(map_encoder_properties("qsvh264enc", p), "qsvh264enc bitrate=2000 gop-size=60 low-latency=true b-frames=0");
  EXPECT_EQ(map_encoder_properties("openh264enc", p), "openh264enc bitrate=2000000 gop-size=60 complexity=low");
  EXPECT_EQ(map_encoder_properties("fooh264enc", p), "fooh264enc");
  // anything else passes through
  EXPECT_EQ(map_encoder_properties("x264enc", {{"name", "enc"}, {"bitrate", "500"}}), "x264enc name=enc bitrate=500");
}

// preset=fastest|fast|balanced|quality maps to each family's speed scale; an explicit preset wins
// over the speed tune=latency implies, and an unknown preset value passes through untouched.
TEST(EncoderSelect, PresetMappingPerFamily) {
  std::vector<std::pair<std::string, std::string>> p = {{"bitrate", "800"}, {"tune", "latency"}, {"preset", "fastest"}};
  EXPECT_EQ(map_encoder_properties("x264enc", p), "x264enc bitrate=800 tune=zerolatency speed-preset=ultrafast");
  EXPECT_EQ(map_encoder_properties("x265enc", {{"preset", "quality"}}), "x265enc speed-preset=slow");
  EXPECT_EQ(map_encoder_properties("nvh264enc", p), "nvh264enc bitrate=800 preset=low-latency-hp zerolatency=true");
  EXPECT_EQ(map_encoder_properties("nvh264enc", {{"preset", "quality"}}), "nvh264enc preset=hq");
  EXPECT_EQ(map_encoder_properties("vah264enc", p), "vah264enc bitrate=800 b-frames=0 target-usage=7");
  EXPECT_EQ(map_encoder_properties("vah264enc", {{"preset", "balanced"}}), "vah264enc target-usage=4");
  EXPECT_EQ(map_encoder_properties("qsvh264enc", {{"preset", "quality"}}), "qsvh264enc target-usage=1");
  EXPECT_EQ(map_encoder_properties("openh264enc", {{"tune", "latency"}, {"preset", "quality"}}),
            "openh264enc complexity=high");
  EXPECT_EQ(map_encoder_properties("fooh264enc", p), "fooh264enc");
  EXPECT_EQ(map_encoder_properties("x264enc", {{"preset", "ultrafast"}}), "x264enc preset=ultrafast");
}

TEST(EncoderSelect, ExpandsPlaceholdersWithTheirProperties) {
  std::map<VideoCodec, EncoderChoice> choices;
  choices[VideoCodec::h264].element = "x264enc";
  choices[VideoCodec::h265].element = "x265enc";
  EXPECT_EQ(
      expand_encoder_placeholders("videoconvert ! @h264enc bitrate=2000 gop=60 tune=latency ! h264parse", choices),
      "videoconvert ! x264enc bitrate=2000 key-int-max=60 tune=zerolatency speed-preset=veryfast ! h264parse");
  EXPECT_EQ(expand_encoder_placeholders("a ! @h265enc ! b", choices), "a ! x265enc ! b");
  EXPECT_EQ(expand_encoder_placeholders("a ! @h264enc", choices), "a ! x264enc");
  EXPECT_EQ(expand_encoder_placeholders("a ! @h264enc name=e ! b e. ! c", choices), "a ! x264enc name=e ! b e. ! c");
  // not a whole token: untouched
  EXPECT_EQ(expand_encoder_placeholders("a ! x@h264enc ! b", choices), "a ! x@h264enc ! b");
  EXPECT_EQ(expand_encoder_placeholders("a ! @h264encoder ! b", choices), "a ! @h264encoder ! b");
  EXPECT_FALSE(has_encoder_placeholder("a ! x264enc"));
  EXPECT_TRUE(has_encoder_placeholder("a ! @h265enc"));
  std::map<VideoCodec, EncoderChoice> none;
  EXPECT_EQ(expand_encoder_placeholders("a ! @h264enc bitrate=1 ! b", none), "a ! no-working-h264-encoder ! b");
}

class RealRegistry : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!gst_is_initialized()) gst_init(nullptr, nullptr);
  }
};

TEST_F(RealRegistry, ResolvesToX264AndX265Here) {
  auto reg = list_gst_encoders(VideoCodec::h264);
  bool has_x264 = false;
  for (const auto& f : reg) has_x264 |= f.name == "x264enc";
  ASSERT_TRUE(has_x264);
  auto c =
      select_encoder(VideoCodec::h264, reg, [](const std::string& f, std::string* e) { return gst_test_encode(f, e); });
  EXPECT_EQ(c.element, "x264enc") << c.reason;
  auto c5 = select_encoder(VideoCodec::h265, list_gst_encoders(VideoCodec::h265),
                           [](const std::string& f, std::string* e) { return gst_test_encode(f, e); });
  EXPECT_EQ(c5.element, "x265enc") << c5.reason;

  // the expanded launch line parses and encodes
  std::map<VideoCodec, EncoderChoice> choices{{VideoCodec::h264, c}, {VideoCodec::h265, c5}};
  std::string launch = expand_encoder_placeholders(
      "videotestsrc num-buffers=10 ! video/x-raw,width=320,height=240 ! videoconvert ! @h264enc bitrate=500 gop=30 "
      "tune=latency ! h264parse ! fakesink",
      choices);
  GError* err = nullptr;
  GstElement* p = gst_parse_launch_full(launch.c_str(), nullptr, GST_PARSE_FLAG_FATAL_ERRORS, &err);
  ASSERT_EQ(err, nullptr) << err->message;
  gst_object_unref(p);
}

TEST_F(RealRegistry, TestEncodeFailsForABrokenEncoder) {
  std::string error;
  EXPECT_FALSE(gst_test_encode("no-such-encoder", &error));
  EXPECT_FALSE(error.empty());
  EXPECT_TRUE(gst_test_encode("x264enc", &error)) << error;
}

}  // namespace

namespace {

// The config layer's hook: launch lines are expanded before validation and in PipelineSpec::expand.
TEST_F(RealRegistry, ConfigLaunchPreprocessorExpandsPlaceholders) {
  std::map<VideoCodec, EncoderChoice> choices;
  choices[VideoCodec::h264].element = "x264enc";
  estuary::config::set_launch_preprocessor(
      [choices](const std::string& launch) { return expand_encoder_placeholders(launch, choices); });
  auto specs = estuary::config::parse_pipelines_file(
      "t.conf", "[pipeline enc]\nlaunch = videotestsrc ! @h264enc bitrate=800 gop=50 ! fakesink name={stream}\n");
  ASSERT_TRUE(specs) << specs.error().message;
  EXPECT_EQ((*specs)[0].expand("live", "cam"), "videotestsrc ! x264enc bitrate=800 key-int-max=50 ! fakesink name=cam");
  estuary::config::set_launch_preprocessor(nullptr);
  auto bad =
      estuary::config::parse_pipelines_file("t.conf", "[pipeline enc]\nlaunch = videotestsrc ! @h264enc ! fakesink\n");
  EXPECT_FALSE(bad);  // without the resolver, "@h264enc" is not an element
}

}  // namespace
