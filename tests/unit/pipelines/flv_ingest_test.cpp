// Tests the RTMP ingest (pipelines/flv_ingest.h) with real encoded media: frames made in-process by
// GStreamer encoders (x264, x265, libaom, libvpx, Opus, AAC) wrapped as legacy or enhanced RTMP
// messages (video written by flv_writer.h, so the writer's output goes through the parser too),
// pushed synchronously into the ingest, and read back from the stream bus (caps with the encoded
// size, buffer and keyframe counters). Hostile messages end the ingest with an error.
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pipelines/flv_ingest.h"
#include "pipelines/flv_writer.h"
#include "pipelines/stream_bus.h"

using namespace estuary;
using namespace estuary::pipelines;

namespace {

using Bytes = std::vector<uint8_t>;

struct Frame {
  Bytes data;
  uint32_t dts_ms = 0;
  int32_t cts_ms = 0;
  bool key = false;
};

struct Encoded {
  Bytes config;  // codec_data, or the first streamheader buffer (OpusHead)
  std::vector<Frame> frames;
};

Bytes bytes_of(GstBuffer* b) {
  GstMapInfo map;
  if (!gst_buffer_map(b, &map, GST_MAP_READ)) return {};
  Bytes out(map.data, map.data + map.size);
  gst_buffer_unmap(b, &map);
  return out;
}

// Runs "… ! appsink name=out" to EOS and collects its buffers.
Encoded encode(const std::string& launch) {
  Encoded e;
  GError* err = nullptr;
  GstElement* p = gst_parse_launch((launch + " ! appsink name=out sync=false").c_str(), &err);
  EXPECT_TRUE(p != nullptr && err == nullptr) << launch;
  if (err) g_error_free(err);
  if (!p) return e;
  GstElement* sink = gst_bin_get_by_name(GST_BIN(p), "out");
  gst_element_set_state(p, GST_STATE_PLAYING);
  while (GstSample* s = gst_app_sink_pull_sample(GST_APP_SINK(sink))) {
    if (e.config.empty()) {
      const GstStructure* st = gst_caps_get_structure(gst_sample_get_caps(s), 0);
      const GValue* cd = gst_structure_get_value(st, "codec_data");
      if (cd) e.config = bytes_of(gst_value_get_buffer(cd));
      const GValue* sh = gst_structure_get_value(st, "streamheader");
      if (!cd && sh && gst_value_array_get_size(sh) > 0)
        e.config = bytes_of(gst_value_get_buffer(gst_value_array_get_value(sh, 0)));
    }
    GstBuffer* b = gst_sample_get_buffer(s);
    Frame f;
    f.data = bytes_of(b);
    GstClockTime dts = GST_BUFFER_DTS_OR_PTS(b);
    f.dts_ms = GST_CLOCK_TIME_IS_VALID(dts) ? uint32_t(dts / GST_MSECOND) : 0;
    f.cts_ms = GST_BUFFER_PTS_IS_VALID(b) ? int32_t(int64_t(GST_BUFFER_PTS(b) / GST_MSECOND) - f.dts_ms) : 0;
    f.key = !GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DELTA_UNIT);
    e.frames.push_back(std::move(f));
    gst_sample_unref(s);
  }
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(p);
  return e;
}

const char* kVideo = "videotestsrc num-buffers=10 ! video/x-raw,width=160,height=96,framerate=25/1";
const char* kAudio = "audiotestsrc num-buffers=10 samplesperbuffer=960 ! audio/x-raw,rate=48000,channels=2";

Bytes ex_video(uint8_t frame_type, uint8_t packet_type, const char* fourcc) {
  return {uint8_t(0x80 | (frame_type << 4) | packet_type), uint8_t(fourcc[0]), uint8_t(fourcc[1]), uint8_t(fourcc[2]),
          uint8_t(fourcc[3])};
}
Bytes ex_audio(uint8_t packet_type, const char* fourcc) {
  return {uint8_t(0x90 | packet_type), uint8_t(fourcc[0]), uint8_t(fourcc[1]), uint8_t(fourcc[2]), uint8_t(fourcc[3])};
}
Bytes si24(int32_t v) { return {uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)}; }
Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

struct Message {
  uint8_t type;
  uint32_t ts;
  Bytes body;
};

MediaCodec codec_of_fourcc(const std::string& fourcc) {
  if (fourcc == "hvc1") return MediaCodec::h265;
  if (fourcc == "av01") return MediaCodec::av1;
  if (fourcc == "vp09") return MediaCodec::vp9;
  return MediaCodec::h264;
}

// Video as RTMP messages written by flv_writer.h: enhanced (FourCC) or legacy (codec id 7 or 12).
std::vector<Message> video_messages(const Encoded& e, const char* fourcc, int legacy_codec_id) {
  std::vector<Message> out;
  const MediaCodec codec = codec_of_fourcc(fourcc);
  const bool legacy = legacy_codec_id != 0;
  if (!e.config.empty()) out.push_back({9, 0, flv_video_config_body(codec, e.config.data(), e.config.size(), legacy)});
  for (const Frame& f : e.frames)
    out.push_back({9, f.dts_ms, flv_video_frame_body(codec, f.key, f.cts_ms, f.data.data(), f.data.size(), legacy)});
  return out;
}

std::vector<Message> audio_messages(const Encoded& e, const char* fourcc, bool legacy_aac) {
  std::vector<Message> out;
  out.push_back({8, 0, cat(legacy_aac ? Bytes{0xaf, 0} : ex_audio(0, fourcc), e.config)});
  for (const Frame& f : e.frames)
    out.push_back({8, f.dts_ms, cat(legacy_aac ? Bytes{0xaf, 1} : ex_audio(1, fourcc), f.data)});
  return out;
}

// Interleaves by timestamp and pushes everything; returns the first error message ("" if none).
std::string push_all(FlvIngest& ingest, std::vector<Message> a, const std::vector<Message>& b) {
  a.insert(a.end(), b.begin(), b.end());
  std::stable_sort(a.begin(), a.end(), [](const Message& x, const Message& y) { return x.ts < y.ts; });
  for (const Message& m : a) {
    Status st = ingest.push(m.type, m.ts, m.body.data(), m.body.size());
    if (!st) return st.error().message;
  }
  return "";
}

void expect_bus(const std::string& stream, const char* video_caps, const char* audio_caps, size_t video_frames) {
  Ref<GstCaps> v = bus_caps(stream, "video");
  ASSERT_TRUE(v) << "no video caps on the bus";
  const GstStructure* s = gst_caps_get_structure(v.get(), 0);
  EXPECT_STREQ(gst_structure_get_name(s), video_caps);
  int width = 0, height = 0;
  gst_structure_get_int(s, "width", &width);
  gst_structure_get_int(s, "height", &height);
  EXPECT_EQ(width, 160);
  EXPECT_EQ(height, 96);
  Ref<GstCaps> a = bus_caps(stream, "audio");
  ASSERT_TRUE(a) << "no audio caps on the bus";
  EXPECT_STREQ(gst_structure_get_name(gst_caps_get_structure(a.get(), 0)), audio_caps);
  BusStats stats;
  ASSERT_TRUE(bus_stats(stream, &stats));
  EXPECT_EQ(stats.video_buffers, video_frames);
  EXPECT_GE(stats.keyframes, 1u);
  EXPECT_GT(stats.audio_buffers, 0u);
}

Encoded aac() { return encode(std::string(kAudio) + " ! voaacenc ! aacparse ! audio/mpeg,stream-format=raw"); }
Encoded opus() { return encode(std::string(kAudio) + " ! opusenc ! opusparse"); }

}  // namespace

TEST(FlvIngest, EnhancedHevcAndAac) {
  Encoded v = encode(std::string(kVideo) +
                     " ! x265enc speed-preset=ultrafast key-int-max=5 ! h265parse ! video/x-h265,stream-format=hvc1,"
                     "alignment=au");
  Encoded a = aac();
  ASSERT_FALSE(v.config.empty());
  ASSERT_EQ(v.frames.size(), 10u);
  FlvIngest ingest("t/hevc", {});
  EXPECT_EQ(push_all(ingest, video_messages(v, "hvc1", 0), audio_messages(a, "mp4a", false)), "");
  EXPECT_EQ(ingest.codec(true), MediaCodec::h265);
  EXPECT_EQ(ingest.codec(false), MediaCodec::aac);
  expect_bus("t/hevc", "video/x-h265", "audio/mpeg", v.frames.size());
}

TEST(FlvIngest, LegacyHevcCodecId12AndLegacyAac) {
  Encoded v = encode(std::string(kVideo) +
                     " ! x265enc speed-preset=ultrafast key-int-max=5 ! h265parse ! video/x-h265,stream-format=hvc1,"
                     "alignment=au");
  Encoded a = aac();
  FlvIngest ingest("t/hevc12", {});
  EXPECT_EQ(push_all(ingest, video_messages(v, "hvc1", 12), audio_messages(a, "", true)), "");
  expect_bus("t/hevc12", "video/x-h265", "audio/mpeg", v.frames.size());
}

TEST(FlvIngest, LegacyAvcAndAac) {
  Encoded v = encode(std::string(kVideo) +
                     " ! x264enc tune=zerolatency key-int-max=5 ! h264parse ! video/x-h264,stream-format=avc,"
                     "alignment=au");
  Encoded a = aac();
  FlvIngest ingest("t/avc", {});
  EXPECT_EQ(push_all(ingest, video_messages(v, "avc1", 7), audio_messages(a, "", true)), "");
  expect_bus("t/avc", "video/x-h264", "audio/mpeg", v.frames.size());
}

TEST(FlvIngest, EnhancedAv1AndOpus) {
  Encoded v = encode(std::string(kVideo) +
                     " ! av1enc cpu-used=8 end-usage=cbr target-bitrate=200 keyframe-max-dist=5 ! av1parse ! "
                     "video/x-av1,stream-format=obu-stream,alignment=tu");
  Encoded a = opus();
  ASSERT_FALSE(a.config.empty());
  FlvIngest ingest("t/av1", {});
  EXPECT_EQ(push_all(ingest, video_messages(v, "av01", 0), audio_messages(a, "Opus", false)), "");
  expect_bus("t/av1", "video/x-av1", "audio/x-opus", v.frames.size());
}

TEST(FlvIngest, EnhancedVp9AndOpus) {
  Encoded v = encode(std::string(kVideo) + " ! vp9enc deadline=1 cpu-used=8 keyframe-max-dist=5 ! vp9parse");
  Encoded a = opus();
  FlvIngest ingest("t/vp9", {});
  // vp09 without a sequence start: vp9parse takes the size from the frames.
  EXPECT_EQ(push_all(ingest, video_messages(v, "vp09", 0), audio_messages(a, "Opus", false)), "");
  expect_bus("t/vp9", "video/x-vp9", "audio/x-opus", v.frames.size());
}

TEST(FlvIngest, HostileMessagesEndTheIngest) {
  {
    FlvIngest ingest("t/bad1", {});
    Bytes unknown = cat(ex_video(1, 0, "zzzz"), {1, 2, 3});
    Status st = ingest.push(9, 0, unknown.data(), unknown.size());
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("unknown video FourCC"), std::string::npos);
  }
  {
    FlvIngest ingest("t/bad2", {});
    Bytes seq = cat(ex_audio(0, "mp4a"), {0x11, 0x90});
    ASSERT_TRUE(ingest.push(8, 0, seq.data(), seq.size()).ok());
    Bytes opus_frame = cat(ex_audio(1, "Opus"), {0xfc});
    Status st = ingest.push(8, 20, opus_frame.data(), opus_frame.size());
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("codec changed"), std::string::npos);
  }
  {
    // A frame whose NAL lengths overrun it, after a good sequence header and a started pipeline.
    Encoded v = encode(std::string(kVideo) +
                       " ! x265enc speed-preset=ultrafast ! h265parse ! video/x-h265,stream-format=hvc1,alignment=au");
    FlvIngest ingest("t/bad3", {});
    EXPECT_EQ(push_all(ingest, video_messages(v, "hvc1", 0), audio_messages(aac(), "mp4a", false)), "");
    Bytes bad = cat(ex_video(2, 3, "hvc1"), {0, 0, 1, 0, 0x02, 0x01});
    Status st = ingest.push(9, 1000, bad.data(), bad.size());
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("overruns"), std::string::npos);
  }
}

namespace {

// Two AAC tracks as enhanced RTMP v2 multitrack audio: one ManyTracks message per frame time, track
// ids 0 and 1, each [id][UI24 size][body] after [ManyTracks<<4 | packet type] "mp4a".
std::vector<Message> multitrack_audio(const Encoded& first, const Encoded& second) {
  auto message = [](uint8_t packet_type, const Bytes& a, const Bytes& b) {
    Bytes body = {uint8_t(0x90 | 5), uint8_t((1 << 4) | packet_type), 'm', 'p', '4', 'a'};
    for (uint8_t id : {0, 1}) {
      const Bytes& t = id == 0 ? a : b;
      body = cat(cat(body, {id}), cat(si24(int32_t(t.size())), t));
    }
    return body;
  };
  std::vector<Message> out;
  out.push_back({8, 0, message(0, first.config, second.config)});
  for (size_t i = 0; i < first.frames.size() && i < second.frames.size(); ++i)
    out.push_back({8, first.frames[i].dts_ms, message(1, first.frames[i].data, second.frames[i].data)});
  return out;
}

}  // namespace

// Enhanced RTMP multitrack audio: both tracks are published, audio_0 and audio_1 on the bus.
TEST(FlvIngest, MultitrackAudioPublishesEveryTrack) {
  Encoded v = encode(std::string(kVideo) + " ! x264enc key-int-max=5 ! h264parse ! video/x-h264,stream-format=avc");
  Encoded stereo = aac();
  Encoded mono = encode(
      "audiotestsrc num-buffers=10 samplesperbuffer=960 ! audio/x-raw,rate=48000,channels=1 ! voaacenc ! aacparse ! "
      "audio/mpeg,stream-format=raw");
  FlvIngest ingest("t/multitrack", {});
  EXPECT_EQ(push_all(ingest, video_messages(v, "avc1", 0), multitrack_audio(stereo, mono)), "");
  expect_bus("t/multitrack", "video/x-h264", "audio/mpeg", v.frames.size());
  const auto tracks = bus_audio_tracks("t/multitrack");
  ASSERT_EQ(tracks.size(), 2u);
  int channels[2] = {0, 0};
  for (int i = 0; i < 2; ++i)
    gst_structure_get_int(gst_caps_get_structure(tracks[i].caps.get(), 0), "channels", &channels[i]);
  EXPECT_EQ(channels[0], 2);
  EXPECT_EQ(channels[1], 1);
  ingest.stop();
}
