// Stream bus element tests with synthetic data: estuarysink fed by a GstHarness with hand-made
// buffers (exact timestamps, keyframe flags, codec_data caps), subscribers as harnesses or small
// pipelines. Covers the GOP cache, late joiners, headers, timestamps, EOS, readiness and the C API.
#include "streambus_test_util.h"

using namespace estuary_test;

namespace {

class StreamBusHarness : public StreamBusTest {};

TEST_F(StreamBusHarness, RegisterStaticIsIdempotentAndElementsExist) {
  estuary_streambus_register_static();
  estuary_streambus_register_static();
  GstElementFactory* sink = gst_element_factory_find("estuarysink");
  GstElementFactory* src = gst_element_factory_find("estuarysrc");
  ASSERT_NE(sink, nullptr);
  ASSERT_NE(src, nullptr);
  gst_object_unref(sink);
  gst_object_unref(src);

  GstElement* e = gst_element_factory_make("estuarysink", nullptr);
  EXPECT_TRUE(GST_OBJECT_FLAG_IS_SET(e, GST_ELEMENT_FLAG_SINK));
  EXPECT_EQ(GetU64(e, "gop-cache-max-bytes"), 32u * 1024 * 1024);
  gst_object_unref(e);
  e = gst_element_factory_make("estuarysrc", nullptr);
  EXPECT_EQ(GetU64(e, "max-queue-time"), 3 * GST_SECOND);
  guint max_bytes = 0;
  g_object_get(e, "max-queue-bytes", &max_bytes, nullptr);
  EXPECT_EQ(max_bytes, 16u * 1024 * 1024);
  gst_object_unref(e);
}

TEST_F(StreamBusHarness, LateSubscriberStartsOnKeyframeWithCachedGopAndHeaders) {
  const char* name = "test/late-harness";
  GstElement* sink = nullptr;
  GstHarness* pub = NewPublisherHarness(name, &sink);
  GstCaps* caps = MakeH264Caps();
  gst_harness_set_src_caps(pub, gst_caps_ref(caps));
  EXPECT_TRUE(estuary_bus_stream_is_ready(name));

  // GOP 1: frames 0-9, GOP 2 starts at frame 10; the subscriber joins after frame 13
  for (int i = 0; i < 14; i++) ASSERT_EQ(gst_harness_push(pub, MakeFrame(i * 40 * kMs, i % 10 == 0)), GST_FLOW_OK);

  HarnessSubscriber sub(name);
  ASSERT_NE(sub.Play(), GST_STATE_CHANGE_FAILURE);

  // the cached GOP (frames 10..13) arrives without any new data being published
  std::vector<BufInfo> got = sub.Pull(4, 2000);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_TRUE(got[0].keyframe());
  EXPECT_TRUE(got[0].discont());
  for (size_t i = 1; i < got.size(); i++) EXPECT_FALSE(got[i].keyframe());
  // standalone elements have base time 0, so absolute times come out unchanged
  EXPECT_EQ(got[0].pts, 400 * kMs);

  GstEvent* caps_ev = sub.PullEvent(GST_EVENT_CAPS, 1000);
  ASSERT_NE(caps_ev, nullptr);
  GstCaps* sub_caps = nullptr;
  gst_event_parse_caps(caps_ev, &sub_caps);
  EXPECT_TRUE(gst_caps_is_equal(sub_caps, caps)) << gst_caps_to_string(sub_caps);
  const GValue* cd = gst_structure_get_value(gst_caps_get_structure(sub_caps, 0), "codec_data");
  ASSERT_NE(cd, nullptr);
  EXPECT_EQ(gst_buffer_get_size(gst_value_get_buffer(cd)), 24u);
  gst_event_unref(caps_ev);

  // then live data follows with nothing lost or duplicated between cache and live
  for (int i = 14; i < 26; i++) ASSERT_EQ(gst_harness_push(pub, MakeFrame(i * 40 * kMs, i % 10 == 0)), GST_FLOW_OK);
  std::vector<BufInfo> live = sub.Pull(12, 2000);
  ASSERT_EQ(live.size(), 12u);
  GstClockTime prev = got.back().pts;
  for (const BufInfo& b : live) {
    EXPECT_EQ(b.pts - prev, 40 * kMs);
    prev = b.pts;
  }
  EXPECT_TRUE(live[6].keyframe());  // frame 20

  EstuaryBusStats stats;
  ASSERT_TRUE(estuary_bus_get_stats(name, &stats));
  EXPECT_EQ(stats.video_buffers, 26u);
  EXPECT_EQ(stats.video_bytes, 2600u);
  EXPECT_EQ(stats.audio_buffers, 0u);
  EXPECT_EQ(stats.keyframes, 3u);
  EXPECT_EQ(stats.keyframe_interval_ns, 400 * kMs);
  EXPECT_EQ(stats.subscribers, 1u);
  EXPECT_EQ(GetU64(sink, "buffers"), 26u);
  EXPECT_EQ(GetU64(sink, "bytes"), 2600u);

  GstCaps* api_caps = estuary_bus_get_caps(name, "video");
  ASSERT_NE(api_caps, nullptr);
  EXPECT_TRUE(gst_caps_is_equal(api_caps, caps));
  gst_caps_unref(api_caps);
  EXPECT_EQ(estuary_bus_get_caps(name, "audio"), nullptr);

  gst_caps_unref(caps);
  gst_harness_teardown(pub);
  EXPECT_FALSE(estuary_bus_stream_is_ready(name));
  EXPECT_FALSE(estuary_bus_get_stats(name, &stats));
}

TEST_F(StreamBusHarness, OversizedGopIsNotCachedSubscriberWaitsForKeyframe) {
  const char* name = "test/gop-overflow";
  GstElement* sink = gst_element_factory_make("estuarysink", nullptr);
  g_object_set(sink, "stream", name, "gop-cache-max-bytes", (guint64)1000, nullptr);
  GstHarness* pub = gst_harness_new_with_element(sink, "sink_%u", nullptr);
  gst_object_unref(sink);
  gst_harness_set_src_caps(pub, MakeH264Caps());

  // 600 + 600 bytes > 1000: the GOP is dropped from the cache
  gst_harness_push(pub, MakeFrame(0, true, 600));
  gst_harness_push(pub, MakeFrame(40 * kMs, false, 600));

  HarnessSubscriber sub(name);
  ASSERT_NE(sub.Play(), GST_STATE_CHANGE_FAILURE);
  gst_harness_push(pub, MakeFrame(80 * kMs, false, 100));
  EXPECT_TRUE(sub.Pull(1, 300).empty());  // nothing to start on

  gst_harness_push(pub, MakeFrame(120 * kMs, true, 100));
  gst_harness_push(pub, MakeFrame(160 * kMs, false, 100));
  std::vector<BufInfo> got = sub.Pull(2, 2000);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0].keyframe());
  EXPECT_EQ(got[0].pts, 120 * kMs);
  // the initial wait for a keyframe is not a drop
  EXPECT_EQ(GetU64(sub.element(), "dropped-buffers"), 0u);
  gst_harness_teardown(pub);
}

TEST_F(StreamBusHarness, AudioOnlyStreamTreatsEveryBufferAsKeyframe) {
  const char* name = "test/audio-only";
  GstHarness* pub = NewPublisherHarness(name);
  gst_harness_set_src_caps_str(
      pub, "audio/mpeg,mpegversion=4,stream-format=raw,rate=48000,channels=1,codec_data=(buffer)1188");
  for (int i = 0; i < 5; i++) {
    GstBuffer* buf = MakeFrame(i * 21 * kMs, false, 50);  // even flagged as delta units
    gst_harness_push(pub, buf);
  }
  EstuaryBusStats stats;
  ASSERT_TRUE(estuary_bus_get_stats(name, &stats));
  EXPECT_EQ(stats.audio_buffers, 5u);
  EXPECT_EQ(stats.audio_bytes, 250u);
  EXPECT_EQ(stats.keyframes, 5u);
  EXPECT_EQ(stats.keyframe_interval_ns, 21 * kMs);

  // a late subscriber gets an "audio" pad and starts with the last buffer at once
  Pipeline sub("estuarysrc name=src stream=test/audio-only src.audio ! appsink name=a");
  ASSERT_TRUE(sub.ok());
  Collector& a = sub.Collect("a");
  ASSERT_NE(sub.Play(), GST_STATE_CHANGE_FAILURE);
  ASSERT_TRUE(a.WaitCount(1, 2000));
  gst_harness_push(pub, MakeFrame(5 * 21 * kMs, false, 50));
  ASSERT_TRUE(a.WaitCount(2, 2000));
  std::vector<BufInfo> got = a.buffers();
  EXPECT_EQ(got[1].pts - got[0].pts, 21 * kMs);
  GstCaps* caps = a.caps();
  ASSERT_NE(caps, nullptr);
  EXPECT_TRUE(gst_structure_has_name(gst_caps_get_structure(caps, 0), "audio/mpeg"));
  gst_caps_unref(caps);
  gst_harness_teardown(pub);
}

TEST_F(StreamBusHarness, BufferWithoutPtsUsesDtsAndUntimedBuffersAreDropped) {
  const char* name = "test/dts-only";
  GstElement* sink = nullptr;
  GstHarness* pub = NewPublisherHarness(name, &sink);
  gst_harness_set_src_caps(pub, MakeH264Caps());
  HarnessSubscriber sub(name);
  ASSERT_NE(sub.Play(), GST_STATE_CHANGE_FAILURE);  // ready, empty cache

  GstBuffer* key = MakeFrame(0, true);
  GST_BUFFER_PTS(key) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DTS(key) = 80 * kMs;
  EXPECT_EQ(gst_harness_push(pub, key), GST_FLOW_OK);
  GstBuffer* untimed = MakeFrame(0, false);
  GST_BUFFER_PTS(untimed) = GST_BUFFER_DTS(untimed) = GST_CLOCK_TIME_NONE;
  EXPECT_EQ(gst_harness_push(pub, untimed), GST_FLOW_OK);
  EXPECT_EQ(gst_harness_push(pub, MakeFrame(120 * kMs, false)), GST_FLOW_OK);

  std::vector<BufInfo> got = sub.Pull(3, 300);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].pts, 80 * kMs);
  EXPECT_EQ(got[0].dts, 80 * kMs);
  EXPECT_EQ(got[1].pts, 120 * kMs);
  EXPECT_EQ(GetU64(sink, "buffers"), 2u);
  gst_harness_teardown(pub);
}

TEST_F(StreamBusHarness, HeaderFlagOnlyExcludesStreamheaderRepeats) {
  // h264parse style: an IDR with in-band SPS/PPS is flagged HEADER and is a keyframe
  const char* name = "test/header-idr";
  GstHarness* pub = NewPublisherHarness(name);
  gst_harness_set_src_caps(pub, MakeH264Caps());
  GstBuffer* idr = MakeFrame(0, true);
  GST_BUFFER_FLAG_SET(idr, GST_BUFFER_FLAG_HEADER);
  gst_harness_push(pub, idr);
  EstuaryBusStats stats;
  ASSERT_TRUE(estuary_bus_get_stats(name, &stats));
  EXPECT_EQ(stats.keyframes, 1u);
  gst_harness_teardown(pub);

  // flvmux style: HEADER buffers repeat the caps' streamheader and do not start a GOP
  name = "test/header-streamheader";
  pub = NewPublisherHarness(name);
  GstCaps* caps = gst_caps_from_string("video/x-flv,streamheader=(buffer)<464c5601, 12000000>");
  ASSERT_NE(caps, nullptr);
  gst_harness_set_src_caps(pub, caps);
  GstBuffer* hdr = MakeFrame(0, true, 9);
  GST_BUFFER_FLAG_SET(hdr, GST_BUFFER_FLAG_HEADER);
  gst_harness_push(pub, hdr);
  ASSERT_TRUE(estuary_bus_get_stats(name, &stats));
  EXPECT_EQ(stats.keyframes, 0u);
  gst_harness_push(pub, MakeFrame(40 * kMs, true));
  ASSERT_TRUE(estuary_bus_get_stats(name, &stats));
  EXPECT_EQ(stats.keyframes, 1u);
  gst_harness_teardown(pub);
}

TEST_F(StreamBusHarness, SegmentIsAppliedToPublishedTimestamps) {
  const char* name = "test/segment";
  GstHarness* pub = NewPublisherHarness(name);
  gst_harness_set_src_caps(pub, MakeH264Caps());
  // flvdemux-style absolute timestamps: segment starts at 10 s, so running time = pts - 10 s
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  segment.start = segment.time = 10 * GST_SECOND;
  ASSERT_TRUE(gst_harness_push_event(pub, gst_event_new_segment(&segment)));

  HarnessSubscriber sub(name);
  ASSERT_NE(sub.Play(), GST_STATE_CHANGE_FAILURE);
  gst_harness_push(pub, MakeFrame(10 * GST_SECOND + 200 * kMs, true));
  gst_harness_push(pub, MakeFrame(10 * GST_SECOND + 240 * kMs, false));
  std::vector<BufInfo> got = sub.Pull(2, 1000);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].pts, 200 * kMs);
  EXPECT_EQ(got[1].pts, 240 * kMs);
  gst_harness_teardown(pub);
}

TEST_F(StreamBusHarness, NotReadyStreamRefusesSubscribersUntilAllPadsHaveCaps) {
  const char* name = "test/not-ready";
  GstElement* sink = nullptr;
  GstHarness* video = NewPublisherHarness(name, &sink);
  GstHarness* audio = gst_harness_new_with_element(sink, "sink_%u", nullptr);

  gst_harness_set_src_caps(video, MakeH264Caps());
  EXPECT_FALSE(estuary_bus_stream_is_ready(name));  // sink_1 has no caps yet
  {
    Pipeline sub("estuarysrc name=src stream=test/not-ready src.video ! fakesink");
    ASSERT_TRUE(sub.ok());
    EXPECT_EQ(sub.Play(), GST_STATE_CHANGE_FAILURE);
  }
  gst_harness_set_src_caps_str(audio, "audio/mpeg,mpegversion=4,rate=44100,channels=2");
  EXPECT_TRUE(estuary_bus_stream_is_ready(name));
  GstCaps* ac = estuary_bus_get_caps(name, "audio");
  ASSERT_NE(ac, nullptr);
  gst_caps_unref(ac);

  // audio buffers of a stream with video are not keyframes
  gst_harness_push(audio, MakeFrame(0, true, 10));
  gst_harness_push(video, MakeFrame(0, true, 10));
  EstuaryBusStats stats;
  ASSERT_TRUE(estuary_bus_get_stats(name, &stats));
  EXPECT_EQ(stats.keyframes, 1u);
  EXPECT_EQ(stats.audio_buffers, 1u);

  Pipeline sub("estuarysrc name=src stream=test/not-ready src.video ! fakesink  src.audio ! fakesink");
  ASSERT_TRUE(sub.ok());
  EXPECT_NE(sub.Play(), GST_STATE_CHANGE_FAILURE);
  EXPECT_FALSE(sub.HasError()) << sub.ErrorText();
  sub.SetState(GST_STATE_NULL);

  gst_harness_teardown(audio);
  gst_harness_teardown(video);
}

TEST_F(StreamBusHarness, PadRequestedAfterReadyOnlyReachesNewSubscribers) {
  const char* name = "test/late-pad";
  GstElement* sink = nullptr;
  GstHarness* video = NewPublisherHarness(name, &sink);
  gst_harness_set_src_caps(video, MakeH264Caps());
  gst_harness_push(video, MakeFrame(0, true));

  Pipeline old_sub("estuarysrc name=src stream=test/late-pad src.video ! appsink name=v");
  ASSERT_TRUE(old_sub.ok());
  Collector& ov = old_sub.Collect("v");
  ASSERT_NE(old_sub.Play(), GST_STATE_CHANGE_FAILURE);
  ASSERT_TRUE(ov.WaitCount(1, 2000));

  // a second track appears on the running publisher
  GstHarness* audio = gst_harness_new_with_element(sink, "sink_%u", nullptr);
  EXPECT_TRUE(estuary_bus_stream_is_ready(name));  // readiness is not lost meanwhile
  gst_harness_set_src_caps_str(audio, "audio/mpeg,mpegversion=4,rate=44100,channels=2");
  gst_harness_push(video, MakeFrame(40 * kMs, true));
  gst_harness_push(audio, MakeFrame(40 * kMs, false, 10));

  Pipeline new_sub(
      "estuarysrc name=src stream=test/late-pad src.video ! queue ! appsink name=v  "
      "src.audio ! queue ! appsink name=a");
  ASSERT_TRUE(new_sub.ok());
  Collector& na = new_sub.Collect("a");
  ASSERT_NE(new_sub.Play(), GST_STATE_CHANGE_FAILURE);
  EXPECT_TRUE(na.WaitCount(1, 2000));  // from the cached GOP

  ASSERT_TRUE(ov.WaitCount(2, 2000));
  GstPad* old_audio = gst_element_get_static_pad(old_sub.ByName("src"), "audio");
  EXPECT_EQ(old_audio, nullptr);
  if (old_audio != nullptr) gst_object_unref(old_audio);
  EXPECT_FALSE(old_sub.HasError()) << old_sub.ErrorText();
  EXPECT_FALSE(new_sub.HasError()) << new_sub.ErrorText();
  old_sub.SetState(GST_STATE_NULL);
  new_sub.SetState(GST_STATE_NULL);
  gst_harness_teardown(audio);
  gst_harness_teardown(video);
}

TEST_F(StreamBusHarness, PublisherEosEndsSubscribersAndFreesTheName) {
  const char* name = "test/eos";
  GstHarness* pub = NewPublisherHarness(name);
  gst_harness_set_src_caps(pub, MakeH264Caps());
  gst_harness_push(pub, MakeFrame(0, true));

  Pipeline sub("estuarysrc name=src stream=test/eos src.video ! appsink name=v");
  ASSERT_TRUE(sub.ok());
  Collector& v = sub.Collect("v");
  ASSERT_NE(sub.Play(), GST_STATE_CHANGE_FAILURE);
  ASSERT_TRUE(v.WaitCount(1, 2000));

  ASSERT_TRUE(gst_harness_push_event(pub, gst_event_new_eos()));
  EXPECT_NE(sub.WaitType(GST_MESSAGE_EOS, 3000), nullptr);
  EXPECT_TRUE(v.eos());
  EXPECT_FALSE(sub.HasError()) << sub.ErrorText();
  EXPECT_FALSE(estuary_bus_stream_is_ready(name));

  // after EOS the name is free again, even while the first sink still exists
  GstHarness* pub2 = NewPublisherHarness(name);
  gst_harness_set_src_caps(pub2, MakeH264Caps());
  EXPECT_TRUE(estuary_bus_stream_is_ready(name));
  gst_harness_teardown(pub2);
  gst_harness_teardown(pub);
}

TEST_F(StreamBusHarness, CapsChangeMidStreamReachesSubscriber) {
  const char* name = "test/caps-change";
  GstHarness* pub = NewPublisherHarness(name);
  gst_harness_set_src_caps(pub, MakeH264Caps());
  gst_harness_push(pub, MakeFrame(0, true));

  HarnessSubscriber sub(name);
  ASSERT_NE(sub.Play(), GST_STATE_CHANGE_FAILURE);
  ASSERT_EQ(sub.Pull(1, 1000).size(), 1u);
  GstEvent* first = sub.PullEvent(GST_EVENT_CAPS, 1000);
  ASSERT_NE(first, nullptr);
  gst_event_unref(first);

  GstCaps* caps2 = MakeH264Caps();
  gst_caps_set_simple(caps2, "width", G_TYPE_INT, 640, "height", G_TYPE_INT, 480, nullptr);
  gst_harness_push_event(pub, gst_event_new_caps(caps2));
  gst_harness_push(pub, MakeFrame(40 * kMs, true));
  ASSERT_EQ(sub.Pull(1, 1000).size(), 1u);
  GstEvent* second = sub.PullEvent(GST_EVENT_CAPS, 1000);
  ASSERT_NE(second, nullptr);
  GstCaps* got = nullptr;
  gst_event_parse_caps(second, &got);
  EXPECT_TRUE(gst_caps_is_equal(got, caps2));
  gst_event_unref(second);
  gst_caps_unref(caps2);
  gst_harness_teardown(pub);
}

}  // namespace
