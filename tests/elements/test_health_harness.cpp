// Element tests of estuaryhealth (gst-plugins/health) with GstHarness: black, frozen, silence and
// A/V drift are raised (and cleared) as "estuary-health" element messages; normal test patterns and
// a sine tone are not flagged. Sources are non-live, so durations elapse in stream time at once.
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "estuaryhealth.h"

namespace {

struct HealthMsg {
  std::string kind, state, stream;
  double value = 0;
};

class HealthHarness : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!gst_is_initialized()) gst_init(nullptr, nullptr);
    estuary_health_register_static();
  }
  void TearDown() override {
    for (GstHarness* h : harnesses_) gst_harness_teardown(h);
    if (bus_) gst_object_unref(bus_);
  }

  // A harness around one pad pair of a fresh estuaryhealth, with a bus to collect its messages.
  GstHarness* Make(const char* sink, const char* src, const std::string& props = "") {
    std::string desc = "estuaryhealth stream=test/health " + props;
    GError* err = nullptr;
    GstElement* e = gst_parse_launch(desc.c_str(), &err);
    EXPECT_EQ(err, nullptr);
    GstHarness* h = gst_harness_new_with_element(e, sink, src);
    gst_object_unref(e);
    bus_ = gst_bus_new();
    gst_element_set_bus(h->element, bus_);
    harnesses_.push_back(h);
    return h;
  }

  void PushFrom(GstHarness* h, const std::string& src, int n) {
    gst_harness_add_src_parse(h, src.c_str(), FALSE);
    ASSERT_EQ(gst_harness_src_crank_and_push_many(h, 0, n), GST_FLOW_OK);
    DrainOutput(h);
  }

  static void DrainOutput(GstHarness* h) {
    while (GstBuffer* b = gst_harness_try_pull(h)) gst_buffer_unref(b);
  }

  std::vector<HealthMsg> Messages() {
    std::vector<HealthMsg> out;
    while (GstMessage* m = gst_bus_pop_filtered(bus_, GST_MESSAGE_ELEMENT)) {
      const GstStructure* s = gst_message_get_structure(m);
      if (s && gst_structure_has_name(s, "estuary-health")) {
        HealthMsg hm;
        hm.kind = gst_structure_get_string(s, "kind");
        hm.state = gst_structure_get_string(s, "state");
        hm.stream = gst_structure_get_string(s, "stream");
        gst_structure_get_double(s, "value", &hm.value);
        out.push_back(hm);
      }
      gst_message_unref(m);
    }
    return out;
  }

  static int Count(const std::vector<HealthMsg>& msgs, const std::string& kind, const std::string& state) {
    int n = 0;
    for (const auto& m : msgs) n += (m.kind == kind && m.state == state);
    return n;
  }

  std::vector<GstHarness*> harnesses_;
  GstBus* bus_ = nullptr;
};

// gst_harness_add_src_parse does not take the caps shorthand: spell out the capsfilter.
constexpr const char* kVideoCaps = " ! capsfilter caps=\"video/x-raw,format=I420,width=320,height=240,framerate=30/1\"";
constexpr const char* kAudioCaps =
    " ! capsfilter caps=\"audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=2\"";

TEST_F(HealthHarness, ElementRegisteredWithDefaults) {
  GstElement* e = gst_element_factory_make("estuaryhealth", nullptr);
  ASSERT_NE(e, nullptr);
  double silence = 0, black_dur = 0;
  g_object_get(e, "silence-threshold", &silence, "black-duration", &black_dur, nullptr);
  EXPECT_DOUBLE_EQ(silence, -60.0);
  EXPECT_DOUBLE_EQ(black_dur, 2.0);
  gst_object_unref(e);
}

TEST_F(HealthHarness, FlagsBlackVideoOnceAndPassesFramesThrough) {
  GstHarness* h = Make("video_sink", "video_src");
  gst_harness_add_src_parse(h, (std::string("videotestsrc pattern=black") + kVideoCaps).c_str(), FALSE);
  ASSERT_EQ(gst_harness_src_crank_and_push_many(h, 0, 120), GST_FLOW_OK);  // 4 s
  EXPECT_EQ(gst_harness_buffers_received(h), 120u);
  DrainOutput(h);
  auto msgs = Messages();
  EXPECT_EQ(Count(msgs, "black", "raised"), 1);
  ASSERT_FALSE(msgs.empty());
  EXPECT_EQ(msgs[0].stream, "test/health");
  for (const auto& m : msgs) {
    if (m.kind == "black") {
      EXPECT_LT(m.value, 24.0);
    }
  }

  // the picture comes back: cleared once
  gst_harness_add_src_parse(h, (std::string("videotestsrc pattern=smpte") + kVideoCaps).c_str(), FALSE);
  ASSERT_EQ(gst_harness_src_crank_and_push_many(h, 0, 10), GST_FLOW_OK);
  DrainOutput(h);
  msgs = Messages();
  EXPECT_EQ(Count(msgs, "black", "cleared"), 1);
  EXPECT_EQ(Count(msgs, "black", "raised"), 0);
}

TEST_F(HealthHarness, BlackNeedsTheConfiguredDuration) {
  GstHarness* h = Make("video_sink", "video_src", "black-duration=10");
  PushFrom(h, std::string("videotestsrc pattern=black") + kVideoCaps, 90);  // 3 s < 10 s
  EXPECT_EQ(Count(Messages(), "black", "raised"), 0);
}

TEST_F(HealthHarness, FlagsFrozenVideo) {
  GstHarness* h = Make("video_sink", "video_src", "freeze-duration=2");
  PushFrom(h, std::string("videotestsrc pattern=solid-color foreground-color=0xff808080") + kVideoCaps, 90);
  auto msgs = Messages();
  EXPECT_EQ(Count(msgs, "frozen", "raised"), 1);
  EXPECT_EQ(Count(msgs, "black", "raised"), 0);  // grey is not black
}

TEST_F(HealthHarness, DoesNotFlagMovingSmpte) {
  GstHarness* h = Make("video_sink", "video_src", "freeze-duration=1 black-duration=1");
  PushFrom(h, std::string("videotestsrc pattern=smpte horizontal-speed=4") + kVideoCaps, 150);
  EXPECT_TRUE(Messages().empty());
}

TEST_F(HealthHarness, MovingBallIsNotFrozen) {
  // pattern=ball is a small ball on black: black by the luma mean, but never frozen
  GstHarness* h = Make("video_sink", "video_src", "freeze-duration=1");
  PushFrom(h, std::string("videotestsrc pattern=ball") + kVideoCaps, 150);
  EXPECT_EQ(Count(Messages(), "frozen", "raised"), 0);
}

TEST_F(HealthHarness, FlagsSilence) {
  GstHarness* h = Make("audio_sink", "audio_src");
  PushFrom(h, std::string("audiotestsrc wave=silence samplesperbuffer=1024") + kAudioCaps, 150);  // 3.2 s
  auto msgs = Messages();
  EXPECT_EQ(Count(msgs, "silence", "raised"), 1);
  for (const auto& m : msgs) EXPECT_LT(m.value, -60.0);
}

TEST_F(HealthHarness, DoesNotFlagSine) {
  GstHarness* h = Make("audio_sink", "audio_src", "silence-duration=0.5");
  PushFrom(h, std::string("audiotestsrc wave=sine volume=0.1 samplesperbuffer=1024") + kAudioCaps, 150);
  EXPECT_TRUE(Messages().empty());
}

TEST_F(HealthHarness, F32AudioAndQuietSineAboveThreshold) {
  GstHarness* h = Make("audio_sink", "audio_src", "silence-duration=0.5");
  PushFrom(h,
           "audiotestsrc wave=sine volume=0.01 samplesperbuffer=1024 ! "
           "capsfilter caps=\"audio/x-raw,format=F32LE,layout=interleaved,rate=44100,channels=1\"",
           100);
  EXPECT_TRUE(Messages().empty());  // 0.01 amplitude = about -43 dBFS RMS
}

TEST_F(HealthHarness, FlagsAudioVideoDrift) {
  GstElement* e = gst_element_factory_make("estuaryhealth", nullptr);
  g_object_set(e, "drift-threshold", 0.5, "drift-duration", 1.0, nullptr);
  GstHarness* hv = gst_harness_new_with_element(e, "video_sink", "video_src");
  GstHarness* ha = gst_harness_new_with_element(e, "audio_sink", "audio_src");
  gst_object_unref(e);
  harnesses_.push_back(hv);
  harnesses_.push_back(ha);
  bus_ = gst_bus_new();
  gst_element_set_bus(e, bus_);
  gst_harness_set_src_caps_str(hv, "video/x-raw,format=GRAY8,width=64,height=64,framerate=10/1");
  gst_harness_set_src_caps_str(ha, "audio/x-raw,format=S16LE,layout=interleaved,rate=8000,channels=1");

  // video runs 2 s ahead of audio for 3 s; then audio catches up
  for (int i = 0; i < 50; i++) {
    GstClockTime t = i * 100 * GST_MSECOND;
    GstBuffer* v = gst_harness_create_buffer(hv, 64 * 64);
    gst_buffer_memset(v, 0, i * 5, 64 * 64);
    GST_BUFFER_PTS(v) = t + (i < 30 ? 2 * GST_SECOND : 0);
    GST_BUFFER_DURATION(v) = 100 * GST_MSECOND;
    ASSERT_EQ(gst_harness_push(hv, v), GST_FLOW_OK);
    GstBuffer* a = gst_harness_create_buffer(ha, 800 * 2);
    gst_buffer_memset(a, 0, 0x40, 800 * 2);
    GST_BUFFER_PTS(a) = t;
    GST_BUFFER_DURATION(a) = 100 * GST_MSECOND;
    ASSERT_EQ(gst_harness_push(ha, a), GST_FLOW_OK);
  }
  auto msgs = Messages();
  EXPECT_EQ(Count(msgs, "drift", "raised"), 1);
  EXPECT_EQ(Count(msgs, "drift", "cleared"), 1);
  for (const auto& m : msgs) {
    if (m.kind == "drift" && m.state == "raised") {
      EXPECT_NEAR(m.value, 2.0, 0.2);
    }
  }
}

class HealthPipeline : public HealthHarness, public ::testing::WithParamInterface<const char*> {};

// Decoded H.264 in the 8-bit and 10-bit formats a decoder hands over, linked with plain `!`.
TEST_P(HealthPipeline, FlagsBlackAfterADecoder) {
  std::string desc =
      std::string("videotestsrc num-buffers=60 pattern=black ! video/x-raw,width=320,height=240,format=") + GetParam() +
      " ! x264enc ! h264parse ! avdec_h264 ! estuaryhealth black-duration=1 ! fakesink";
  GError* err = nullptr;
  GstElement* p = gst_parse_launch(desc.c_str(), &err);
  ASSERT_EQ(err, nullptr);
  GstBus* bus = gst_element_get_bus(p);
  gst_element_set_state(p, GST_STATE_PLAYING);
  bool black = false, eos = false;
  while (!eos) {
    GstMessage* m = gst_bus_timed_pop_filtered(
        bus, 20 * GST_SECOND, GstMessageType(GST_MESSAGE_ELEMENT | GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    ASSERT_NE(m, nullptr);
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
      gst_message_unref(m);
      FAIL() << "pipeline error";
    }
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS) eos = true;
    const GstStructure* s = gst_message_get_structure(m);
    if (s && gst_structure_has_name(s, "estuary-health") &&
        g_strcmp0(gst_structure_get_string(s, "kind"), "black") == 0)
      black = true;
    gst_message_unref(m);
  }
  EXPECT_TRUE(black);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(p);
}

INSTANTIATE_TEST_SUITE_P(Formats, HealthPipeline, ::testing::Values("I420", "Y444_10LE", "I420_10LE"));

}  // namespace
