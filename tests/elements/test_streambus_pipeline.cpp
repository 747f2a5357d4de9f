// Stream bus tests with real live pipelines (videotestsrc/audiotestsrc, x264enc, voaacenc): caps and
// timestamps across pipelines, late joiners that decode at once, slow and failing subscribers,
// publisher end, missing streams and duplicate publishers.
#include <atomic>

#include "streambus_test_util.h"

using namespace estuary_test;

namespace {

class StreamBusPipeline : public StreamBusTest {};

constexpr GstClockTime kFrame = GST_SECOND / 30;

std::string VideoBranch(int key_int) {
  return "videotestsrc is-live=true pattern=ball ! video/x-raw,format=I420,width=160,height=120,framerate=30/1 "
         "! x264enc tune=zerolatency speed-preset=ultrafast bitrate=300 key-int-max=" +
         std::to_string(key_int) + " ! h264parse ! video/x-h264,stream-format=avc,alignment=au";
}

std::string VideoPublisher(const std::string& stream, int key_int) {
  return VideoBranch(key_int) + " ! estuarysink name=bus stream=" + stream;
}

std::string AvPublisher(const std::string& stream, int key_int) {
  return VideoBranch(key_int) +
         " ! bus.sink_0  audiotestsrc is-live=true ! "
         "audio/x-raw,rate=48000,channels=1 ! voaacenc ! aacparse ! bus.sink_1  "
         "estuarysink name=bus stream=" +
         stream;
}

// Starts @pub and waits until it posted estuary-stream-ready; returns that message's structure.
const GstStructure* StartPublisher(Pipeline& pub) {
  EXPECT_TRUE(pub.ok());
  if (!pub.ok()) return nullptr;
  EXPECT_NE(pub.Play(), GST_STATE_CHANGE_FAILURE);
  GstMessage* ready = pub.WaitElementMessage("estuary-stream-ready", 5000);
  EXPECT_NE(ready, nullptr) << pub.ErrorText();
  return ready ? gst_message_get_structure(ready) : nullptr;
}

void ExpectSpacing(const std::vector<BufInfo>& bufs, GstClockTime spacing, GstClockTime tolerance, const char* what) {
  for (size_t i = 1; i < bufs.size(); i++) {
    ASSERT_TRUE(GST_CLOCK_TIME_IS_VALID(bufs[i].pts)) << what << " #" << i;
    ASSERT_GT(bufs[i].pts, bufs[i - 1].pts) << what << " #" << i;
    GstClockTimeDiff d = GST_CLOCK_DIFF(bufs[i - 1].pts + spacing, bufs[i].pts);
    EXPECT_LE(ABS(d), (GstClockTimeDiff)tolerance)
        << what << " #" << i << " spacing off by " << d << " (pts " << bufs[i - 1].pts << " -> " << bufs[i].pts
        << ", dts " << bufs[i - 1].dts << " -> " << bufs[i].dts << ", flags " << bufs[i - 1].flags << " -> "
        << bufs[i].flags << ", first pts " << bufs[0].pts << ")";
  }
}

TEST_F(StreamBusPipeline, CapsAndTimestampsCrossPipelines) {
  Pipeline pub(AvPublisher("live/caps", 15));
  const GstStructure* ready = StartPublisher(pub);
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(pub.CurrentState(5000), GST_STATE_PLAYING);
  EXPECT_STREQ(gst_structure_get_string(ready, "stream"), "live/caps");
  GstCaps *vcaps = nullptr, *acaps = nullptr;
  ASSERT_TRUE(
      gst_structure_get(ready, "video-caps", GST_TYPE_CAPS, &vcaps, "audio-caps", GST_TYPE_CAPS, &acaps, nullptr));
  EXPECT_TRUE(gst_structure_has_field(gst_caps_get_structure(vcaps, 0), "codec_data"));
  EXPECT_TRUE(estuary_bus_stream_is_ready("live/caps"));

  // one streaming thread feeds both pads: like after a demuxer, each branch needs a queue
  Pipeline sub(
      "estuarysrc name=src stream=live/caps  src.video ! queue ! appsink name=v  "
      "src.audio ! queue ! appsink name=a");
  ASSERT_TRUE(sub.ok());
  Collector& v = sub.Collect("v");
  Collector& a = sub.Collect("a");
  ASSERT_NE(sub.Play(), GST_STATE_CHANGE_FAILURE);
  EXPECT_TRUE(v.WaitCount(45, 5000));
  EXPECT_TRUE(a.WaitCount(70, 5000));

  EstuaryBusStats stats;
  ASSERT_TRUE(estuary_bus_get_stats("live/caps", &stats));
  EXPECT_EQ(stats.subscribers, 1u);
  EXPECT_GT(stats.video_buffers, 0u);
  EXPECT_GT(stats.audio_buffers, 0u);
  EXPECT_GT(stats.video_bytes, 0u);
  EXPECT_GE(stats.keyframes, 2u);
  EXPECT_NEAR((double)stats.keyframe_interval_ns, 15.0 * kFrame, 2.0 * kFrame);
  sub.SetState(GST_STATE_NULL);
  ASSERT_TRUE(estuary_bus_get_stats("live/caps", &stats));
  EXPECT_EQ(stats.subscribers, 0u);
  EXPECT_FALSE(sub.HasError()) << sub.ErrorText();

  GstCaps *got_v = v.caps(), *got_a = a.caps();
  ASSERT_NE(got_v, nullptr);
  ASSERT_NE(got_a, nullptr);
  EXPECT_TRUE(gst_caps_is_equal(got_v, vcaps)) << gst_caps_to_string(got_v);
  EXPECT_TRUE(gst_caps_is_equal(got_a, acaps)) << gst_caps_to_string(got_a);
  GstCaps* api_v = estuary_bus_get_caps("live/caps", "video");
  EXPECT_TRUE(api_v && gst_caps_is_equal(api_v, vcaps));
  gst_clear_caps(&api_v);

  // first buffers come from the cache: keyframe first, at running time 0 or later; the spacing of
  // the encoder's timestamps is preserved through cache and live data for both tracks
  std::vector<BufInfo> vb = v.buffers(), ab = a.buffers();
  ASSERT_FALSE(vb.empty());
  EXPECT_TRUE(vb[0].keyframe());
  EXPECT_LT(vb[0].pts, GST_SECOND);
  ExpectSpacing(vb, kFrame, 2 * kMs, "video");
  ExpectSpacing(ab, GST_SECOND * 1024 / 48000, 1 * kMs, "audio");
  for (size_t i = 1; i < vb.size(); i++) EXPECT_GE(vb[i].dts, vb[i - 1].dts);
  // audio and video stay aligned (one offset for all pads)
  EXPECT_LT(ABS(GST_CLOCK_DIFF(vb[0].pts, ab[0].pts)), (GstClockTimeDiff)(600 * kMs));

  EXPECT_GT(GetU64(pub.ByName("bus"), "buffers"), 100u);
  EXPECT_FALSE(pub.HasError()) << pub.ErrorText();
  gst_caps_unref(got_v);
  gst_caps_unref(got_a);
  gst_caps_unref(vcaps);
  gst_caps_unref(acaps);
}

struct FirstBufferProbe {
  std::atomic<gint64> first_us{0};
  static GstPadProbeReturn Cb(GstPad*, GstPadProbeInfo*, gpointer data) {
    auto* self = static_cast<FirstBufferProbe*>(data);
    gint64 expected = 0;
    self->first_us.compare_exchange_strong(expected, g_get_monotonic_time());
    return GST_PAD_PROBE_OK;
  }
};

TEST_F(StreamBusPipeline, LateSubscriberDecodesFromCachedGopAtOnce) {
  Pipeline pub(VideoPublisher("live/late", 30));  // 1 s GOP
  ASSERT_NE(StartPublisher(pub), nullptr);
  g_usleep(1300 * 1000);  // join 0.3 s into the second GOP

  Pipeline sub(
      "estuarysrc name=src stream=live/late src.video ! tee name=t  "
      "t. ! queue ! appsink name=raw  t. ! queue ! h264parse ! avdec_h264 ! appsink name=dec");
  ASSERT_TRUE(sub.ok());
  Collector& raw = sub.Collect("raw");
  Collector& dec = sub.Collect("dec");
  gint64 start_us = g_get_monotonic_time();
  ASSERT_NE(sub.Play(), GST_STATE_CHANGE_FAILURE);
  // the cached part of the GOP (about 9 frames) arrives without waiting ~0.7 s for the next keyframe
  ASSERT_TRUE(raw.WaitCount(5, 3000));
  std::vector<BufInfo> rb = raw.buffers();
  EXPECT_TRUE(rb[0].keyframe());
  EXPECT_LT(rb[4].arrival_us - start_us, 400 * 1000) << "waited for a live keyframe?";
  // the codec headers travel in the caps
  GstElement* src = sub.ByName("src");
  GstPad* vpad = gst_element_get_static_pad(src, "video");
  ASSERT_NE(vpad, nullptr);
  GstCaps* pad_caps = gst_pad_get_current_caps(vpad);
  gst_object_unref(vpad);
  ASSERT_NE(pad_caps, nullptr);
  GstCaps* bus_caps = estuary_bus_get_caps("live/late", "video");
  ASSERT_NE(bus_caps, nullptr);
  const GValue* cd = gst_structure_get_value(gst_caps_get_structure(pad_caps, 0), "codec_data");
  ASSERT_NE(cd, nullptr);
  EXPECT_TRUE(gst_caps_is_equal(pad_caps, bus_caps));

  // and the very first buffers are decodable
  ASSERT_TRUE(dec.WaitCount(5, 3000));
  EXPECT_EQ(dec.buffers()[0].pts, rb[0].pts);
  EXPECT_FALSE(sub.HasError()) << sub.ErrorText();
  gst_caps_unref(pad_caps);
  gst_caps_unref(bus_caps);
}

// Blocks the streaming thread on demand; records what passes after the block was released.
struct BlockingProbe {
  std::mutex mutex;
  std::condition_variable cond;
  bool block = false;
  bool was_blocked = false;
  std::vector<BufInfo> after;

  static GstPadProbeReturn Cb(GstPad*, GstPadProbeInfo* info, gpointer data) {
    auto* self = static_cast<BlockingProbe*>(data);
    std::unique_lock<std::mutex> lock(self->mutex);
    if (self->block) {
      self->was_blocked = true;
      self->cond.wait(lock, [self] { return !self->block; });
      return GST_PAD_PROBE_OK;  // the buffer that was held up
    }
    if (self->was_blocked) self->after.push_back(InfoOf(GST_PAD_PROBE_INFO_BUFFER(info)));
    return GST_PAD_PROBE_OK;
  }
  void Set(bool b) {
    std::lock_guard<std::mutex> lock(mutex);
    block = b;
    cond.notify_all();
  }
  size_t AfterCount() {
    std::lock_guard<std::mutex> lock(mutex);
    return after.size();
  }
};

TEST_F(StreamBusPipeline, SlowSubscriberDropsToKeyframeOthersUnaffected) {
  BlockingProbe probe;  // outlives the pipelines
  Pipeline pub(VideoPublisher("live/slow", 10));
  ASSERT_NE(StartPublisher(pub), nullptr);
  GstElement* bus_sink = pub.ByName("bus");

  Pipeline slow(
      "estuarysrc name=src stream=live/slow max-queue-time=400000000 src.video ! "
      "appsink name=v");
  Pipeline fast("estuarysrc name=src stream=live/slow src.video ! appsink name=v");
  ASSERT_TRUE(slow.ok() && fast.ok());
  Collector& sv = slow.Collect("v");
  Collector& fv = fast.Collect("v");
  GstPad* sinkpad = gst_element_get_static_pad(slow.ByName("v"), "sink");
  gst_pad_add_probe(sinkpad, GST_PAD_PROBE_TYPE_BUFFER, &BlockingProbe::Cb, &probe, nullptr);
  gst_object_unref(sinkpad);
  ASSERT_NE(fast.Play(), GST_STATE_CHANGE_FAILURE);
  ASSERT_NE(slow.Play(), GST_STATE_CHANGE_FAILURE);
  ASSERT_TRUE(sv.WaitCount(5, 3000));
  EXPECT_EQ(GetU64(slow.ByName("src"), "dropped-buffers"), 0u);

  probe.Set(true);
  guint64 pub_before = GetU64(bus_sink, "buffers");
  size_t fast_before = fv.count();
  g_usleep(1500 * 1000);
  guint64 pub_during = GetU64(bus_sink, "buffers") - pub_before;
  size_t fast_during = fv.count() - fast_before;
  guint64 dropped = GetU64(slow.ByName("src"), "dropped-buffers");
  probe.Set(false);

  // 1.5 s at 30 fps = 45 frames: the publisher and the other subscriber kept their pace
  EXPECT_GE(pub_during, 38u);
  EXPECT_GE(fast_during, 38u);
  EXPECT_GT(dropped, 0u);
  EXPECT_GT(GetU64(slow.ByName("src"), "dropped-bytes"), 0u);
  EXPECT_EQ(GetU64(fast.ByName("src"), "dropped-buffers"), 0u);

  // the slow one resumes on a keyframe, flagged DISCONT
  ASSERT_TRUE(WaitUntil([&] { return probe.AfterCount() >= 5; }, 3000));
  {
    std::lock_guard<std::mutex> lock(probe.mutex);
    EXPECT_TRUE(probe.after[0].keyframe());
    EXPECT_TRUE(probe.after[0].discont());
    for (size_t i = 1; i < probe.after.size(); i++) EXPECT_GT(probe.after[i].pts, probe.after[i - 1].pts);
  }
  EXPECT_EQ(slow.CountElementMessages("estuary-subscriber-dropped"), 1);
  GstMessage* m = slow.WaitElementMessage("estuary-subscriber-dropped", 0);
  ASSERT_NE(m, nullptr);
  EXPECT_STREQ(gst_structure_get_string(gst_message_get_structure(m), "stream"), "live/slow");

  // the fast one got every frame: no gap anywhere in its timestamps
  fast.SetState(GST_STATE_NULL);
  std::vector<BufInfo> fb = fv.buffers();
  EXPECT_GE(fb.size(), 45u);
  ExpectSpacing(fb, kFrame, 2 * kMs, "fast subscriber");
  EXPECT_FALSE(pub.HasError()) << pub.ErrorText();
  EXPECT_FALSE(slow.HasError()) << slow.ErrorText();
}

struct FailAfterProbe {
  std::atomic<int> seen{0};
  int fail_after;
  explicit FailAfterProbe(int n) : fail_after(n) {}
  static GstPadProbeReturn Cb(GstPad*, GstPadProbeInfo* info, gpointer data) {
    auto* self = static_cast<FailAfterProbe*>(data);
    if (++self->seen <= self->fail_after) return GST_PAD_PROBE_OK;
    gst_buffer_unref(GST_PAD_PROBE_INFO_BUFFER(info));
    GST_PAD_PROBE_INFO_DATA(info) = nullptr;
    GST_PAD_PROBE_INFO_FLOW_RETURN(info) = GST_FLOW_ERROR;
    return GST_PAD_PROBE_HANDLED;
  }
};

TEST_F(StreamBusPipeline, FailingSubscriberIsIsolated) {
  FailAfterProbe fail(10);
  Pipeline pub(VideoPublisher("live/fail", 15));
  ASSERT_NE(StartPublisher(pub), nullptr);

  Pipeline bad("estuarysrc name=src stream=live/fail src.video ! fakesink name=f sync=false");
  Pipeline good("estuarysrc name=src stream=live/fail src.video ! appsink name=v");
  ASSERT_TRUE(bad.ok() && good.ok());
  Collector& gv = good.Collect("v");
  GstPad* sinkpad = gst_element_get_static_pad(bad.ByName("f"), "sink");
  gst_pad_add_probe(sinkpad, GST_PAD_PROBE_TYPE_BUFFER, &FailAfterProbe::Cb, &fail, nullptr);
  gst_object_unref(sinkpad);
  ASSERT_NE(good.Play(), GST_STATE_CHANGE_FAILURE);
  ASSERT_NE(bad.Play(), GST_STATE_CHANGE_FAILURE);

  GstMessage* err = bad.WaitType(GST_MESSAGE_ERROR, 5000);
  ASSERT_NE(err, nullptr);
  EXPECT_STREQ(GST_MESSAGE_SRC_NAME(err), "src");
  GError* gerr = nullptr;
  gst_message_parse_error(err, &gerr, nullptr);
  EXPECT_TRUE(g_error_matches(gerr, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED)) << gerr->message;
  g_clear_error(&gerr);

  // the failed subscriber stays registered until its pipeline leaves PAUSED; everyone else flows
  size_t good_before = gv.count();
  guint64 pub_before = GetU64(pub.ByName("bus"), "buffers");
  g_usleep(1000 * 1000);
  EXPECT_GE(gv.count() - good_before, 22u);
  EXPECT_GE(GetU64(pub.ByName("bus"), "buffers") - pub_before, 22u);
  EstuaryBusStats stats;
  ASSERT_TRUE(estuary_bus_get_stats("live/fail", &stats));
  EXPECT_EQ(stats.subscribers, 2u);
  bad.SetState(GST_STATE_NULL);
  ASSERT_TRUE(estuary_bus_get_stats("live/fail", &stats));
  EXPECT_EQ(stats.subscribers, 1u);

  EXPECT_FALSE(pub.HasError()) << pub.ErrorText();
  EXPECT_FALSE(good.HasError()) << good.ErrorText();
}

TEST_F(StreamBusPipeline, PublisherGoingToNullSendsEos) {
  Pipeline pub(VideoPublisher("live/end", 15));
  ASSERT_NE(StartPublisher(pub), nullptr);
  Pipeline sub("estuarysrc name=src stream=live/end src.video ! queue ! h264parse ! appsink name=v");
  ASSERT_TRUE(sub.ok());
  Collector& v = sub.Collect("v");
  ASSERT_NE(sub.Play(), GST_STATE_CHANGE_FAILURE);
  ASSERT_TRUE(v.WaitCount(10, 3000));

  pub.SetState(GST_STATE_NULL);
  EXPECT_FALSE(estuary_bus_stream_is_ready("live/end"));
  EXPECT_NE(sub.WaitType(GST_MESSAGE_EOS, 3000), nullptr);
  EXPECT_TRUE(v.eos());
  EXPECT_FALSE(sub.HasError()) << sub.ErrorText();
}

TEST_F(StreamBusPipeline, SinkPostsEosWhenEveryPadEnded) {
  Pipeline pub(
      "videotestsrc num-buffers=10 ! bus.sink_0  audiotestsrc num-buffers=20 ! bus.sink_1  "
      "estuarysink name=bus stream=live/finite");
  ASSERT_TRUE(pub.ok());
  ASSERT_NE(pub.Play(), GST_STATE_CHANGE_FAILURE);
  EXPECT_NE(pub.WaitType(GST_MESSAGE_EOS, 5000), nullptr) << pub.ErrorText();
  EXPECT_EQ(GetU64(pub.ByName("bus"), "buffers"), 30u);
  EXPECT_FALSE(estuary_bus_stream_is_ready("live/finite"));  // unpublished on EOS
}

TEST_F(StreamBusPipeline, MissingStreamFailsWithClearError) {
  Pipeline sub("estuarysrc name=src stream=live/missing src.video ! fakesink");
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(sub.Play(), GST_STATE_CHANGE_FAILURE);
  GstMessage* err = sub.WaitType(GST_MESSAGE_ERROR, 1000);
  ASSERT_NE(err, nullptr);
  GError* gerr = nullptr;
  gst_message_parse_error(err, &gerr, nullptr);
  EXPECT_TRUE(g_error_matches(gerr, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND));
  EXPECT_STREQ(gerr->message, "stream live/missing is not published");
  g_clear_error(&gerr);
}

TEST_F(StreamBusPipeline, SecondPublisherIsBusyUntilFirstIsGone) {
  Pipeline first(
      "videotestsrc is-live=true ! video/x-raw,width=64,height=48 ! "
      "estuarysink stream=live/dup");
  Pipeline second(
      "videotestsrc is-live=true ! video/x-raw,width=64,height=48 ! "
      "estuarysink name=bus stream=live/dup");
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_NE(first.Play(), GST_STATE_CHANGE_FAILURE);
  EXPECT_TRUE(WaitUntil([] { return estuary_bus_stream_is_ready("live/dup"); }, 3000));

  EXPECT_EQ(second.Play(), GST_STATE_CHANGE_FAILURE);
  GstMessage* err = second.WaitType(GST_MESSAGE_ERROR, 1000);
  ASSERT_NE(err, nullptr);
  GError* gerr = nullptr;
  gst_message_parse_error(err, &gerr, nullptr);
  EXPECT_TRUE(g_error_matches(gerr, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_BUSY)) << gerr->message;
  g_clear_error(&gerr);
  EXPECT_FALSE(first.HasError()) << first.ErrorText();

  first.SetState(GST_STATE_NULL);
  second.SetState(GST_STATE_NULL);
  EXPECT_NE(second.Play(), GST_STATE_CHANGE_FAILURE);
  EXPECT_EQ(second.CurrentState(3000), GST_STATE_PLAYING);
  EXPECT_TRUE(WaitUntil([] { return estuary_bus_stream_is_ready("live/dup"); }, 3000));
  GstCaps* caps = estuary_bus_get_caps("live/dup", "video");
  ASSERT_NE(caps, nullptr);
  EXPECT_TRUE(gst_structure_has_name(gst_caps_get_structure(caps, 0), "video/x-raw"));
  gst_caps_unref(caps);
}

TEST_F(StreamBusPipeline, SubscribersComeAndGoWhilePublisherPushes) {
  Pipeline pub(
      "videotestsrc is-live=true ! video/x-raw,width=64,height=48,framerate=100/1 ! "
      "estuarysink name=bus stream=live/churn");
  ASSERT_NE(StartPublisher(pub), nullptr);
  for (int i = 0; i < 8; i++) {
    Pipeline sub(
        "estuarysrc name=src stream=live/churn max-queue-time=50000000 src.video ! "
        "queue max-size-buffers=2 ! appsink name=v");
    ASSERT_TRUE(sub.ok());
    Collector& v = sub.Collect("v");
    ASSERT_NE(sub.Play(), GST_STATE_CHANGE_FAILURE);
    ASSERT_TRUE(v.WaitCount(1 + i, 3000)) << "iteration " << i;
    // destructor: straight to NULL while the publisher keeps pushing
  }
  EstuaryBusStats stats;
  ASSERT_TRUE(estuary_bus_get_stats("live/churn", &stats));
  EXPECT_EQ(stats.subscribers, 0u);
  EXPECT_FALSE(pub.HasError()) << pub.ErrorText();
}

}  // namespace

namespace {

// Video and two audio tracks (mono 48 kHz "eng", stereo 44.1 kHz from a TAG event "fra").
std::string MultiAudioPublisher(const std::string& stream) {
  return VideoBranch(15) +
         " ! bus.sink_0  audiotestsrc is-live=true ! audio/x-raw,rate=48000,channels=1 ! voaacenc ! aacparse ! "
         "bus.sink_1  audiotestsrc is-live=true ! audio/x-raw,rate=44100,channels=2 ! voaacenc ! aacparse ! "
         "taginject tags=\"language-code=fra\" ! bus.sink_2  estuarysink name=bus stream=" +
         stream;
}

int ChannelsOf(Collector& c) {
  GstCaps* caps = c.caps();
  int channels = 0;
  if (caps) gst_structure_get_int(gst_caps_get_structure(caps, 0), "channels", &channels);
  gst_clear_caps(&caps);
  return channels;
}

}  // namespace

// audio_0 on the "audio" pad by default, audio=1 selects the second track, a requested audio_1 pad
// carries it next to audio_0, languages are listed; asking for a track that is not there fails.
TEST_F(StreamBusPipeline, SeveralAudioTracksBySelectionAndRequestPads) {
  Pipeline pub(MultiAudioPublisher("live/multi"));
  ASSERT_TRUE(pub.ok());
  GstPad* first_audio = gst_element_get_static_pad(pub.ByName("bus"), "sink_1");
  ASSERT_NE(first_audio, nullptr);
  g_object_set(first_audio, "language", "eng", nullptr);  // as the TS ingest sets it from the PMT
  gst_object_unref(first_audio);
  ASSERT_NE(StartPublisher(pub), nullptr) << pub.ErrorText();

  GstCaps* caps[4] = {};
  gchar* langs[4] = {};
  ASSERT_TRUE(WaitUntil(
      [&] {
        for (int i = 0; i < 4; i++) {
          gst_clear_caps(&caps[i]);
          g_clear_pointer(&langs[i], g_free);
        }
        return estuary_bus_get_audio_tracks("live/multi", caps, langs, 4) == 2 && langs[1] != nullptr;
      },
      5000));
  EXPECT_STREQ(langs[0], "eng");
  EXPECT_STREQ(langs[1], "fra");
  for (int i = 0; i < 4; i++) {
    gst_clear_caps(&caps[i]);
    g_free(langs[i]);
  }

  Pipeline plain(
      "estuarysrc name=src stream=live/multi  src.video ! queue ! fakesink  src.audio ! queue ! "
      "appsink name=a");
  Collector& a0 = plain.Collect("a");
  Pipeline chosen(
      "estuarysrc name=src stream=live/multi audio=1  src.video ! queue ! fakesink  src.audio ! "
      "queue ! appsink name=a");
  Collector& a1 = chosen.Collect("a");
  Pipeline both(
      "estuarysrc name=src stream=live/multi  src.video ! queue ! fakesink  src.audio ! queue ! "
      "appsink name=a  src.audio_1 ! queue ! appsink name=b");
  Collector& b0 = both.Collect("a");
  Collector& b1 = both.Collect("b");
  ASSERT_NE(plain.Play(), GST_STATE_CHANGE_FAILURE);
  ASSERT_NE(chosen.Play(), GST_STATE_CHANGE_FAILURE);
  ASSERT_NE(both.Play(), GST_STATE_CHANGE_FAILURE);
  EXPECT_TRUE(a0.WaitCount(20, 5000));
  EXPECT_TRUE(a1.WaitCount(20, 5000));
  EXPECT_TRUE(b0.WaitCount(20, 5000));
  EXPECT_TRUE(b1.WaitCount(20, 5000));
  EXPECT_EQ(ChannelsOf(a0), 1);
  EXPECT_EQ(ChannelsOf(a1), 2);
  EXPECT_EQ(ChannelsOf(b0), 1);
  EXPECT_EQ(ChannelsOf(b1), 2);
  EXPECT_FALSE(plain.HasError()) << plain.ErrorText();
  EXPECT_FALSE(chosen.HasError()) << chosen.ErrorText();
  EXPECT_FALSE(both.HasError()) << both.ErrorText();

  Pipeline missing("estuarysrc name=src stream=live/multi audio=2  src.audio ! fakesink");
  missing.Play();
  ASSERT_NE(missing.WaitType(GST_MESSAGE_ERROR, 5000), nullptr);
  EXPECT_NE(missing.ErrorText().find("no audio track audio_2"), std::string::npos) << missing.ErrorText();
  EXPECT_FALSE(pub.HasError()) << pub.ErrorText();
}
