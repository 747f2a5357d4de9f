// Owns: FLV tag bodies (see flv_writer.h).
#include "pipelines/flv_writer.h"

#include <cstring>
#include <string>

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

std::vector<uint8_t> flv_video_frame_body(MediaCodec codec, bool keyframe, int32_t cts_ms, const uint8_t* data,
                                          size_t n, bool legacy) {
  const unsigned ft = keyframe ? kKeyFrame : kInterFrame;
  const bool has_cts = codec == MediaCodec::h264 || codec == MediaCodec::h265;
  if (legacy && has_cts) {
    std::vector<uint8_t> head = {uint8_t((ft << 4) | legacy_codec_id(codec)), 1};
    put_si24(head, cts_ms);
    return with(std::move(head), data, n);
  }
  const char* cc = flv_video_fourcc(codec);
  if (!cc) return {};
  // CodedFramesX: the composition time is zero (and AV1/VP9 never carry one).
  if (!has_cts || cts_ms == 0) return with(ex_video_header(ft, kCodedFramesX, cc), data, n);
  std::vector<uint8_t> head = ex_video_header(ft, kCodedFrames, cc);
  put_si24(head, cts_ms);
  return with(std::move(head), data, n);
}

std::vector<uint8_t> flv_audio_config_body(MediaCodec codec, const uint8_t* config, size_t n) {
  if (codec == MediaCodec::aac) return with({0xaf, 0}, config, n);
  if (codec == MediaCodec::opus) return with({0x90, 'O', 'p', 'u', 's'}, config, n);
  return {};
}

std::vector<uint8_t> flv_audio_frame_body(MediaCodec codec, const uint8_t* data, size_t n) {
  if (codec == MediaCodec::aac) return with({0xaf, 1}, data, n);
  if (codec == MediaCodec::opus) return with({0x91, 'O', 'p', 'u', 's'}, data, n);
  return {};
}

namespace {

void put_amf_string(std::vector<uint8_t>& out, const std::string& text) {
  out.push_back(uint8_t(text.size() >> 8));
  out.push_back(uint8_t(text.size()));
  out.insert(out.end(), text.begin(), text.end());
}

void put_amf_number(std::vector<uint8_t>& out, const std::string& key, double value) {
  put_amf_string(out, key);
  out.push_back(0x00);  // number: IEEE 754 double, big-endian
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(uint8_t(bits >> shift));
}

double fourcc_number(const char* cc) {
  return double((uint32_t(uint8_t(cc[0])) << 24) | (uint32_t(uint8_t(cc[1])) << 16) | (uint32_t(uint8_t(cc[2])) << 8) |
                uint32_t(uint8_t(cc[3])));
}

}  // namespace

std::vector<uint8_t> flv_metadata_body(const FlvMetadata& m) {
  std::vector<uint8_t> out = {0x02};  // string
  put_amf_string(out, "onMetaData");
  std::vector<uint8_t> entries;
  uint32_t count = 0;
  auto number = [&](const char* key, double value) {
    put_amf_number(entries, key, value);
    ++count;
  };
  if (m.video != MediaCodec::none) {
    const char* cc = flv_video_fourcc(m.video);
    if (m.enhanced_video && cc)
      number("videocodecid", fourcc_number(cc));
    else
      number("videocodecid", m.video == MediaCodec::h264 ? 7 : 12);
    if (m.width > 0) number("width", m.width);
    if (m.height > 0) number("height", m.height);
    if (m.framerate > 0) number("framerate", m.framerate);
  }
  if (m.audio == MediaCodec::aac) number("audiocodecid", 10);
  if (m.audio == MediaCodec::opus) number("audiocodecid", fourcc_number("Opus"));
  if (m.audio != MediaCodec::none) {
    if (m.audio_rate > 0) number("audiosamplerate", m.audio_rate);
    if (m.audio_channels > 0) {
      put_amf_string(entries, "stereo");
      entries.push_back(0x01);  // boolean
      entries.push_back(m.audio_channels > 1);
      ++count;
    }
  }
  out.push_back(0x08);  // ECMA array: approximate count, entries, empty key + object end
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(uint8_t(count >> shift));
  out.insert(out.end(), entries.begin(), entries.end());
  out.insert(out.end(), {0x00, 0x00, 0x09});
  return out;
}

}  // namespace estuary::pipelines
