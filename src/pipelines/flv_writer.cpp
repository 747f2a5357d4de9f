// Owns: FLV tag bodies (see flv_writer.h).
#include "pipelines/flv_writer.h"

#include <string>

#include "common/amf0.h"

namespace estuary::pipelines {
namespace {

// E-RTMP packet types and frame types.
constexpr unsigned kSequenceStart = 0, kCodedFrames = 1, kCodedFramesX = 3;
constexpr unsigned kKeyFrame = 1, kInterFrame = 2;

std::vector<uint8_t> with(std::vector<uint8_t> head, const uint8_t* data, size_t n) {
  if (n) head.insert(head.end(), data, data + n);
  return head;
}

std::vector<uint8_t> ex_video_header(unsigned frame_type, unsigned packet_type, const char* cc) {
  return {uint8_t(0x80 | (frame_type << 4) | packet_type), uint8_t(cc[0]), uint8_t(cc[1]), uint8_t(cc[2]),
          uint8_t(cc[3])};
}

void put_si24(std::vector<uint8_t>& out, int32_t v) {
  out.push_back(uint8_t(v >> 16));
  out.push_back(uint8_t(v >> 8));
  out.push_back(uint8_t(v));
}

uint8_t legacy_codec_id(MediaCodec codec) { return codec == MediaCodec::h264 ? 7 : 12; }

}  // namespace

const char* flv_video_fourcc(MediaCodec codec) {
  switch (codec) {
    case MediaCodec::h264:
      return "avc1";
    case MediaCodec::h265:
      return "hvc1";
    case MediaCodec::av1:
      return "av01";
    case MediaCodec::vp9:
      return "vp09";
    default:
      return nullptr;
  }
}

std::vector<uint8_t> flv_video_config_body(MediaCodec codec, const uint8_t* config, size_t n, bool legacy) {
  if (legacy && (codec == MediaCodec::h264 || codec == MediaCodec::h265))
    return with({uint8_t((kKeyFrame << 4) | legacy_codec_id(codec)), 0, 0, 0, 0}, config, n);
  const char* cc = flv_video_fourcc(codec);
  if (!cc) return {};
  return with(ex_video_header(kKeyFrame, kSequenceStart, cc), config, n);
}

std::vector<uint8_t> flv_video_frame_head(MediaCodec codec, bool keyframe, int32_t cts_ms, bool legacy) {
  const unsigned ft = keyframe ? kKeyFrame : kInterFrame;
  const bool has_cts = codec == MediaCodec::h264 || codec == MediaCodec::h265;
  if (legacy && has_cts) {
    std::vector<uint8_t> head = {uint8_t((ft << 4) | legacy_codec_id(codec)), 1};
    put_si24(head, cts_ms);
    return head;
  }
  const char* cc = flv_video_fourcc(codec);
  if (!cc) return {};
  // CodedFramesX: the composition time is zero (and AV1/VP9 never carry one).
  if (!has_cts || cts_ms == 0) return ex_video_header(ft, kCodedFramesX, cc);
  std::vector<uint8_t> head = ex_video_header(ft, kCodedFrames, cc);
  put_si24(head, cts_ms);
  return head;
}

std::vector<uint8_t> flv_video_frame_body(MediaCodec codec, bool keyframe, int32_t cts_ms, const uint8_t* data,
                                          size_t n, bool legacy) {
  std::vector<uint8_t> head = flv_video_frame_head(codec, keyframe, cts_ms, legacy);
  return head.empty() ? head : with(std::move(head), data, n);
}

std::vector<uint8_t> flv_audio_config_body(MediaCodec codec, const uint8_t* config, size_t n) {
  if (codec == MediaCodec::aac) return with({0xaf, 0}, config, n);
  if (codec == MediaCodec::opus) return with({0x90, 'O', 'p', 'u', 's'}, config, n);
  return {};
}

std::vector<uint8_t> flv_audio_frame_head(MediaCodec codec) {
  if (codec == MediaCodec::aac) return {0xaf, 1};
  if (codec == MediaCodec::opus) return {0x91, 'O', 'p', 'u', 's'};
  return {};
}

std::vector<uint8_t> flv_audio_frame_body(MediaCodec codec, const uint8_t* data, size_t n) {
  std::vector<uint8_t> head = flv_audio_frame_head(codec);
  return head.empty() ? head : with(std::move(head), data, n);
}

namespace {

double fourcc_number(const char* cc) {
  return double((uint32_t(uint8_t(cc[0])) << 24) | (uint32_t(uint8_t(cc[1])) << 16) | (uint32_t(uint8_t(cc[2])) << 8) |
                uint32_t(uint8_t(cc[3])));
}

}  // namespace

std::vector<uint8_t> flv_metadata_body(const FlvMetadata& m) {
  Amf0Value entries = Amf0Value::ecma_array();
  if (m.video != MediaCodec::none) {
    const char* cc = flv_video_fourcc(m.video);
    const double codec_id = m.enhanced_video && cc ? fourcc_number(cc) : (m.video == MediaCodec::h264 ? 7 : 12);
    entries.set("videocodecid", Amf0Value::number(codec_id));
    if (m.width > 0) entries.set("width", Amf0Value::number(m.width));
    if (m.height > 0) entries.set("height", Amf0Value::number(m.height));
    if (m.framerate > 0) entries.set("framerate", Amf0Value::number(m.framerate));
  }
  if (m.audio == MediaCodec::aac) entries.set("audiocodecid", Amf0Value::number(10));
  if (m.audio == MediaCodec::opus) entries.set("audiocodecid", Amf0Value::number(fourcc_number("Opus")));
  if (m.audio != MediaCodec::none) {
    if (m.audio_rate > 0) entries.set("audiosamplerate", Amf0Value::number(m.audio_rate));
    if (m.audio_channels > 0) entries.set("stereo", Amf0Value::boolean(m.audio_channels > 1));
  }
  return amf0_encode_all({Amf0Value::string("onMetaData"), std::move(entries)});
}

}  // namespace estuary::pipelines
