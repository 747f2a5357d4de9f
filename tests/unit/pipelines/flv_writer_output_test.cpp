// Tests the enhanced FLV writer (pipelines/flv_writer.h) against our reader (flv_media.h), and the
// FLV output Estuary writes (pipelines/flv_writer_output.h) against the stream bus: a live x264/x265 + AAC
// stream is published on the bus, a plain subscriber records its frames, and the FLV tags the
// output writes are read back with parse_flv_media — sequence start equal to the caps' hvcC, the
// first frame a keyframe, every frame byte for byte the bus's.
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pipelines/flv_media.h"
#include "pipelines/flv_tags.h"
#include "pipelines/flv_writer.h"
#include "pipelines/flv_writer_output.h"
#include "pipelines/stream_bus.h"

using namespace estuary;
using namespace estuary::pipelines;

namespace {

using Bytes = std::vector<uint8_t>;

TEST(FlvWriter, EveryFormReadsBackWithOurParser) {
  const Bytes frame = {0, 0, 0, 2, 0x26, 0x01};  // one length-prefixed NAL unit
  struct Case {
    MediaCodec codec;
    bool legacy;
    int32_t cts;
  };
  for (const Case& c :
       {Case{MediaCodec::h265, false, 40}, Case{MediaCodec::h265, false, 0}, Case{MediaCodec::h265, true, 80},
        Case{MediaCodec::h264, true, -40}, Case{MediaCodec::av1, false, 0}, Case{MediaCodec::vp9, false, 0}}) {
    for (bool key : {true, false}) {
      Bytes body = flv_video_frame_body(c.codec, key, c.cts, frame.data(), frame.size(), c.legacy);
      auto unit = parse_flv_media(flv_video, body.data(), body.size());
      ASSERT_TRUE(unit) << media_codec_name(c.codec) << ": " << unit.error().message;
      EXPECT_EQ(unit->kind, FlvMediaUnit::Kind::frame);
      EXPECT_EQ(unit->codec, c.codec);
      EXPECT_EQ(unit->keyframe, key);
      EXPECT_EQ(unit->enhanced, !c.legacy);
      const bool has_cts = c.codec == MediaCodec::h264 || c.codec == MediaCodec::h265;
      EXPECT_EQ(unit->cts_ms, has_cts ? c.cts : 0);
      EXPECT_EQ(Bytes(unit->data, unit->data + unit->size), frame);
    }
  }
  // The enhanced header spends 4 bytes on the FourCC, CodedFramesX 3 fewer than CodedFrames.
  EXPECT_EQ(flv_video_frame_body(MediaCodec::h265, true, 0, frame.data(), frame.size()).size(), 5 + frame.size());
  EXPECT_EQ(flv_video_frame_body(MediaCodec::h265, true, 1, frame.data(), frame.size()).size(), 8 + frame.size());

  const Bytes opus_frame = {0xfc, 0xff, 0xfe};
  Bytes opus = flv_audio_frame_body(MediaCodec::opus, opus_frame.data(), opus_frame.size());
  auto unit = parse_flv_media(flv_audio, opus.data(), opus.size());
  ASSERT_TRUE(unit);
  EXPECT_EQ(unit->codec, MediaCodec::opus);
  EXPECT_TRUE(unit->enhanced);
  EXPECT_EQ(Bytes(unit->data, unit->data + unit->size), opus_frame);
  const Bytes asc = {0x11, 0x90};
  Bytes aac = flv_audio_config_body(MediaCodec::aac, asc.data(), asc.size());
  EXPECT_EQ(aac, (Bytes{0xaf, 0, 0x11, 0x90})) << "AAC stays legacy";
  EXPECT_TRUE(flv_audio_frame_body(MediaCodec::mp3, asc.data(), asc.size()).empty());
}

Bytes bytes_of(GstBuffer* b) {
  GstMapInfo map;
  if (!b || !gst_buffer_map(b, &map, GST_MAP_READ)) return {};
  Bytes out(map.data, map.data + map.size);
  gst_buffer_unmap(b, &map);
  return out;
}

// Keeps what the output hands to the fan-out.
struct Capture final : FlvTagSink {
  std::mutex mu;
  std::vector<Bytes> header;
  std::vector<Bytes> tags;
  std::vector<bool> keyframes;
  void on_header(const std::vector<GstBuffer*>& h) override {
    std::lock_guard<std::mutex> lock(mu);
    header.clear();
    for (GstBuffer* b : h) header.push_back(bytes_of(b));
  }
  void on_tag(GstBuffer* buffer, const FlvTagView& tag, bool keyframe) override {
    std::lock_guard<std::mutex> lock(mu);
    Bytes bytes = bytes_of(buffer);
    EXPECT_EQ(bytes.size(), tag.tag_size);
    tags.push_back(std::move(bytes));
    keyframes.push_back(keyframe);
  }
};

GstElement* launch(const std::string& line) {
  GError* err = nullptr;
  GstElement* p = gst_parse_launch(line.c_str(), &err);
  EXPECT_TRUE(p && !err) << line << ": " << (err ? err->message : "");
  if (err) g_error_free(err);
  return p;
}

struct VideoCase {
  std::string encode;     // "encoder ! parser" published on the bus
  std::string reference;  // what a plain subscriber puts after estuarysrc to get the FLV's form
  MediaCodec codec;
};
const VideoCase kHevc{"x265enc tune=zerolatency key-int-max=10 speed-preset=ultrafast ! h265parse",
                      "h265parse ! video/x-h265,stream-format=hvc1,alignment=au", MediaCodec::h265};

// Publishes video and `audio` ("… ! parser") on the bus, runs the output 1.5 s and checks its tags.
void check_output(const std::string& stream, const std::string& audio, MediaCodec audio_codec,
                  const VideoCase& video = kHevc) {
  GstElement* publisher =
      launch("videotestsrc is-live=true ! video/x-raw,width=160,height=96,framerate=25/1 ! " + video.encode +
             " ! s.sink_0 audiotestsrc is-live=true ! audio/x-raw,rate=48000,channels=2 ! " + audio +
             " ! s.sink_1 estuarysink name=s stream=" + stream);
  ASSERT_NE(publisher, nullptr);
  gst_element_set_state(publisher, GST_STATE_PLAYING);
  for (int i = 0; i < 100 && !(bus_caps(stream, "video") && bus_caps(stream, "audio")); i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(bus_caps(stream, "video"));

  // A plain subscriber of the bus in the FLV's form (e.g. hvcC + length-prefixed NAL units).
  GstElement* reference = launch("estuarysrc stream=" + stream + " name=src src.video ! " + video.reference +
                                 " ! appsink name=out sync=false");
  ASSERT_NE(reference, nullptr);
  GstElement* out = gst_bin_get_by_name(GST_BIN(reference), "out");
  gst_element_set_state(reference, GST_STATE_PLAYING);

  auto capture = std::make_shared<Capture>();
  auto output = FlvWriterOutput::create(stream, capture);
  ASSERT_TRUE(output) << output.error().message;
  ASSERT_TRUE((*output)->pipeline().start());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  (*output)->pipeline().stop();

  std::vector<Bytes> bus_frames;
  Bytes bus_config;
  while (GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(out), 0)) {
    const GValue* cd = gst_structure_get_value(gst_caps_get_structure(gst_sample_get_caps(s), 0), "codec_data");
    if (cd) bus_config = bytes_of(gst_value_get_buffer(cd));
    bus_frames.push_back(bytes_of(gst_sample_get_buffer(s)));
    gst_sample_unref(s);
  }
  gst_element_set_state(reference, GST_STATE_NULL);
  gst_element_set_state(publisher, GST_STATE_NULL);
  gst_object_unref(out);
  gst_object_unref(reference);
  gst_object_unref(publisher);

  std::lock_guard<std::mutex> lock(capture->mu);
  // Header: file header (audio + video), onMetaData, the video SequenceStart with the caps' record
  // (legacy AVC for H.264, enhanced otherwise), the audio config.
  ASSERT_EQ(capture->header.size(), 4u);
  EXPECT_EQ(Bytes(capture->header[0].begin(), capture->header[0].begin() + 5), (Bytes{'F', 'L', 'V', 1, 5}));
  std::vector<FlvTagView> views;
  ASSERT_TRUE(parse_flv_tags(capture->header[1].data(), capture->header[1].size(), views));
  ASSERT_EQ(views.size(), 1u);
  EXPECT_EQ(views[0].type, flv_script);
  const std::string script(reinterpret_cast<const char*>(views[0].body), views[0].body_size);
  EXPECT_EQ(script.substr(0, 13), std::string("\x02\x00\x0aonMetaData", 13));
  for (const char* key : {"videocodecid", "width", "height", "framerate", "audiocodecid", "audiosamplerate"})
    EXPECT_NE(script.find(key), std::string::npos) << key;
  views.clear();
  ASSERT_TRUE(parse_flv_tags(capture->header[2].data(), capture->header[2].size(), views));
  auto seq = parse_flv_media(flv_video, views[0].body, views[0].body_size);
  ASSERT_TRUE(seq) << seq.error().message;
  EXPECT_EQ(seq->kind, FlvMediaUnit::Kind::config);
  EXPECT_EQ(seq->codec, video.codec);
  EXPECT_EQ(seq->enhanced, video.codec != MediaCodec::h264);
  // The caps' record (hvcC); VP9 has none on the bus, and the one made from its caps passed the parser.
  if (!bus_config.empty()) {
    EXPECT_EQ(Bytes(seq->data, seq->data + seq->size), bus_config);
  }
  views.clear();
  ASSERT_TRUE(parse_flv_tags(capture->header[3].data(), capture->header[3].size(), views));
  auto audio_seq = parse_flv_media(flv_audio, views[0].body, views[0].body_size);
  ASSERT_TRUE(audio_seq) << audio_seq.error().message;
  EXPECT_EQ(audio_seq->kind, FlvMediaUnit::Kind::config);
  EXPECT_EQ(audio_seq->codec, audio_codec);
  EXPECT_EQ(audio_seq->enhanced, audio_codec == MediaCodec::opus);

  // Frames: read back, the first a keyframe, each one the bus's (in order, from the first on).
  std::vector<Bytes> flv_frames;
  size_t audio = 0;
  for (size_t i = 0; i < capture->tags.size(); i++) {
    views.clear();
    ASSERT_TRUE(parse_flv_tags(capture->tags[i].data(), capture->tags[i].size(), views));
    ASSERT_EQ(views.size(), 1u);
    auto unit = parse_flv_media(views[0].type, views[0].body, views[0].body_size);
    ASSERT_TRUE(unit) << unit.error().message;
    if (!unit->video) {
      audio += unit->codec == audio_codec;
      continue;
    }
    if (flv_frames.empty()) {
      EXPECT_TRUE(unit->keyframe && capture->keyframes[i]) << "first FLV frame is a delta";
    }
    EXPECT_EQ(unit->keyframe, capture->keyframes[i]);
    flv_frames.emplace_back(unit->data, unit->data + unit->size);
  }
  EXPECT_GT(audio, 10u);
  ASSERT_GT(flv_frames.size(), 10u);
  size_t start = 0;
  while (start < bus_frames.size() && bus_frames[start] != flv_frames[0]) start++;
  ASSERT_LT(start, bus_frames.size()) << "the first FLV frame is not a bus frame";
  for (size_t i = 0; i < flv_frames.size() && start + i < bus_frames.size(); i++) {
    EXPECT_EQ(flv_frames[i], bus_frames[start + i]) << "frame " << i;
  }
}

TEST(FlvWriterOutput, HevcAndAacTagsAreTheBusFramesByteForByte) {
  check_output("unit/eflv-aac", "voaacenc ! aacparse", MediaCodec::aac);
}

TEST(FlvWriterOutput, H264AndAacAreLegacyTagsOfTheBusFramesByteForByte) {
  check_output("unit/flv-avc", "voaacenc ! aacparse", MediaCodec::aac,
               {"x264enc tune=zerolatency key-int-max=10 speed-preset=ultrafast ! h264parse",
                "h264parse ! video/x-h264,stream-format=avc,alignment=au", MediaCodec::h264});
}

TEST(FlvWriterOutput, HevcAndOpusTagsAreTheBusFramesByteForByte) {
  check_output("unit/eflv-opus", "opusenc ! opusparse", MediaCodec::opus);
}

TEST(FlvWriterOutput, Vp9WithoutARecordGetsOneMadeFromItsCaps) {
  check_output("unit/eflv-vp9", "opusenc ! opusparse", MediaCodec::opus,
               {"vp9enc deadline=1 cpu-used=8 keyframe-max-dist=10 ! vp9parse", "vp9parse", MediaCodec::vp9});
}

}  // namespace
