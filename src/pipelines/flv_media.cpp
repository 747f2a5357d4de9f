// Owns: the RTMP / FLV media message parser (see flv_media.h).
#include "pipelines/flv_media.h"

#include <cstring>
#include <iterator>
#include <string>

namespace estuary::pipelines {
namespace {

using Kind = FlvMediaUnit::Kind;

Error invalid(const std::string& what) { return Error{"rtmp media: " + what, ErrorReason::invalid, "rtmp"}; }
Error unsupported(const std::string& what) { return Error{"rtmp media: " + what, ErrorReason::unsupported, "rtmp"}; }

uint16_t be16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }
int32_t si24(const uint8_t* p) {
  int32_t v = (int32_t(p[0]) << 16) | (int32_t(p[1]) << 8) | p[2];
  return (v & 0x800000) ? v - 0x1000000 : v;
}

bool fourcc_is(const uint8_t* p, const char* cc) { return std::memcmp(p, cc, 4) == 0; }

std::string printable_fourcc(const uint8_t* p) {
  std::string s;
  for (int i = 0; i < 4; i++) s += (p[i] >= 0x20 && p[i] < 0x7f) ? char(p[i]) : '?';
  return s;
}

// Enhanced RTMP v2 ModEx: [size-1 (UI8, or UI16 when 255)] [data] [modExType<<4 | packetType], repeated
// while the packet type is ModEx. We use no ModEx data (nanosecond timestamp offsets).
Status skip_modex(const uint8_t*& p, size_t& n, unsigned& packet_type) {
  constexpr unsigned modex = 7;
  unsigned rounds = 0;
  while (packet_type == modex) {
    if (++rounds > 8) return invalid("too many ModEx headers");
    if (n < 1) return invalid("truncated ModEx header");
    size_t data_size = size_t(p[0]) + 1;
    p++, n--;
    if (data_size == 256) {
      if (n < 2) return invalid("truncated ModEx size");
      data_size = size_t(be16(p)) + 1;
      p += 2, n -= 2;
    }
    if (n < data_size + 1) return invalid("truncated ModEx data");
    p += data_size, n -= data_size;
    packet_type = p[0] & 0x0f;
    p++, n--;
  }
  return ok_status();
}

struct FourCc {
  const char* cc;
  MediaCodec codec;
};
constexpr FourCc video_fourccs[] = {
    {"avc1", MediaCodec::h264}, {"hvc1", MediaCodec::h265}, {"av01", MediaCodec::av1}, {"vp09", MediaCodec::vp9}};
constexpr FourCc audio_fourccs[] = {{"Opus", MediaCodec::opus},
                                    {"mp4a", MediaCodec::aac},
                                    {".mp3", MediaCodec::mp3},
                                    {"ac-3", MediaCodec::ac3},
                                    {"ec-3", MediaCodec::eac3}};

// After the first byte of an enhanced header: the ModEx prefixes, then the FourCC. Multitrack
// messages are left with a skip reason (we carry one track of each kind).
Status read_ex_header(const uint8_t*& p, size_t& n, unsigned& packet_type, bool video, FlvMediaUnit& u) {
  const char* kind = video ? "video" : "audio";
  p++, n--;
  Status st = skip_modex(p, n, packet_type);
  if (!st) return st;
  if (packet_type == (video ? 6u : 5u)) {
    u.skip_reason = video ? "multitrack video is not supported" : "multitrack audio is not supported";
    return ok_status();
  }
  if (n < 4) return invalid(std::string("truncated enhanced ") + kind + " header");
  const FourCc* table = video ? video_fourccs : audio_fourccs;
  const size_t count = video ? std::size(video_fourccs) : std::size(audio_fourccs);
  for (size_t i = 0; i < count; i++) {
    if (fourcc_is(p, table[i].cc)) u.codec = table[i].codec;
  }
  if (u.codec == MediaCodec::none)
    return unsupported(std::string("unknown ") + kind + " FourCC '" + printable_fourcc(p) + "'");
  p += 4, n -= 4;
  return ok_status();
}

Status check_config(MediaCodec codec, const uint8_t* p, size_t n, FlvMediaUnit& u) {
  if (n > flv_media_max_config_bytes) return invalid("configuration record too large");
  switch (codec) {
    case MediaCodec::h264:
      return check_avc_config(p, n);
    case MediaCodec::h265:
      return check_hevc_config(p, n);
    case MediaCodec::av1:
      return check_av1_config(p, n);
    case MediaCodec::vp9:
      return check_vp9_config(p, n);
    case MediaCodec::aac:
      return parse_aac_config(p, n, &u.rate, &u.channels);
    case MediaCodec::opus:
      return parse_opus_head(p, n, &u.rate, &u.channels);
    default:
      return ok_status();
  }
}

// The body of an enhanced video message (or of one track of a multitrack one) after its FourCC.
Status enhanced_video_body(FlvMediaUnit& u, unsigned frame_type, unsigned packet_type, const uint8_t* p, size_t n) {
  // Frame type 5 is a command frame (seek markers) unless it carries metadata.
  if (frame_type == 5 && packet_type != 4) {
    u.skip_reason = "video command frame";
    return ok_status();
  }
  switch (packet_type) {
    case 0: {  // SequenceStart
      Status st = check_config(u.codec, p, n, u);
      if (!st) return st;
      u.kind = Kind::config;
      break;
    }
    case 1:  // CodedFrames: AVC and HEVC carry a composition time offset
      if (u.codec == MediaCodec::h264 || u.codec == MediaCodec::h265) {
        if (n < 3) return invalid("truncated composition time");
        u.cts_ms = si24(p);
        p += 3, n -= 3;
      }
      [[fallthrough]];
    case 3:  // CodedFramesX: composition time 0
      u.kind = n ? Kind::frame : Kind::skip;
      u.keyframe = frame_type == 1;
      break;
    case 2:
      u.skip_reason = "sequence end";
      return ok_status();
    case 4:
      u.skip_reason = "video metadata";
      return ok_status();
    case 5:
      u.skip_reason = "MPEG-2 TS sequence start";
      return ok_status();
    default:
      return unsupported("unknown video packet type " + std::to_string(packet_type));
  }
  u.data = p;
  u.size = n;
  return ok_status();
}

Result<FlvMediaUnit> parse_enhanced_video(const uint8_t* p, size_t n) {
  FlvMediaUnit u;
  u.video = true;
  u.enhanced = true;
  const unsigned frame_type = (p[0] >> 4) & 0x07;
  unsigned packet_type = p[0] & 0x0f;
  Status st = read_ex_header(p, n, packet_type, true, u);
  if (!st) return st.error();
  if (u.skip_reason) return u;
  st = enhanced_video_body(u, frame_type, packet_type, p, n);
  if (!st) return st.error();
  return u;
}

Result<FlvMediaUnit> parse_legacy_video(const uint8_t* p, size_t n) {
  FlvMediaUnit u;
  u.video = true;
  const unsigned frame_type = p[0] >> 4;
  const unsigned codec_id = p[0] & 0x0f;
  if (codec_id != 7 && codec_id != 12) {
    u.skip_reason = "legacy video codec without a parser here";
    return u;
  }
  u.codec = codec_id == 7 ? MediaCodec::h264 : MediaCodec::h265;
  if (frame_type == 5) {
    u.skip_reason = "video info frame";
    return u;
  }
  if (n < 5) return invalid("truncated AVC/HEVC video header");
  const unsigned packet_type = p[1];
  u.cts_ms = si24(p + 2);
  p += 5, n -= 5;
  if (packet_type == 0) {
    Status st = check_config(u.codec, p, n, u);
    if (!st) return st.error();
    u.kind = Kind::config;
  } else if (packet_type == 1) {
    u.kind = n ? Kind::frame : Kind::skip;
    u.keyframe = frame_type == 1;
  } else if (packet_type == 2) {
    u.skip_reason = "end of sequence";
    return u;
  } else {
    return invalid("unknown AVC packet type " + std::to_string(packet_type));
  }
  u.data = p;
  u.size = n;
  return u;
}

// The body of an enhanced audio message (or of one track of a multitrack one) after its FourCC.
Status enhanced_audio_body(FlvMediaUnit& u, unsigned packet_type, const uint8_t* p, size_t n) {
  switch (packet_type) {
    case 0: {  // SequenceStart
      Status st = check_config(u.codec, p, n, u);
      if (!st) return st;
      u.kind = Kind::config;
      break;
    }
    case 1:  // CodedFrames
      u.kind = n ? Kind::frame : Kind::skip;
      break;
    case 2:
      u.skip_reason = "sequence end";
      return ok_status();
    case 4:
      u.skip_reason = "multichannel config";
      return ok_status();
    default:
      return unsupported("unknown audio packet type " + std::to_string(packet_type));
  }
  u.data = p;
  u.size = n;
  return ok_status();
}

Result<FlvMediaUnit> parse_enhanced_audio(const uint8_t* p, size_t n) {
  FlvMediaUnit u;
  u.enhanced = true;
  unsigned packet_type = p[0] & 0x0f;
  Status st = read_ex_header(p, n, packet_type, false, u);
  if (!st) return st.error();
  if (u.skip_reason) return u;
  st = enhanced_audio_body(u, packet_type, p, n);
  if (!st) return st.error();
  return u;
}

// The codec of a FourCC (video or audio table); none when unknown.
MediaCodec codec_of_fourcc(const uint8_t* p, bool video) {
  const FourCc* table = video ? video_fourccs : audio_fourccs;
  const size_t count = video ? std::size(video_fourccs) : std::size(audio_fourccs);
  for (size_t i = 0; i < count; i++)
    if (fourcc_is(p, table[i].cc)) return table[i].codec;
  return MediaCodec::none;
}

// Enhanced RTMP v2 multitrack, after the packet type Multitrack (ModEx skipped):
// [multitrackType<<4 | packetType] [FourCC unless ManyTracksManyCodecs], then per track:
// [FourCC if ManyTracksManyCodecs] [trackId UI8] [size UI24 unless OneTrack] body.
Status parse_multitrack(bool video, unsigned frame_type, const uint8_t* p, size_t n, std::vector<FlvMediaUnit>* out) {
  const char* kind = video ? "video" : "audio";
  if (n < 1) return invalid(std::string("truncated multitrack ") + kind + " header");
  const unsigned multitrack_type = p[0] >> 4, packet_type = p[0] & 0x0f;
  p++, n--;
  if (multitrack_type > 2) return invalid("unknown multitrack type " + std::to_string(multitrack_type));
  const bool one_track = multitrack_type == 0, many_codecs = multitrack_type == 2;
  MediaCodec codec = MediaCodec::none;
  auto read_fourcc = [&]() -> Status {
    if (n < 4) return invalid(std::string("truncated multitrack ") + kind + " FourCC");
    codec = codec_of_fourcc(p, video);
    if (codec == MediaCodec::none)
      return unsupported(std::string("unknown ") + kind + " FourCC '" + printable_fourcc(p) + "'");
    p += 4, n -= 4;
    return ok_status();
  };
  if (!many_codecs) {
    Status st = read_fourcc();
    if (!st) return st;
  }
  while (n > 0) {
    if (out->size() >= flv_media_max_tracks) return invalid(std::string("too many ") + kind + " tracks in one message");
    if (many_codecs) {
      Status st = read_fourcc();
      if (!st) return st;
    }
    if (n < 1) return invalid("truncated multitrack track id");
    FlvMediaUnit u;
    u.video = video;
    u.enhanced = true;
    u.codec = codec;
    u.track_id = p[0];
    p++, n--;
    size_t size = n;
    if (!one_track) {
      if (n < 3) return invalid("truncated multitrack track size");
      size = (size_t(p[0]) << 16) | (size_t(p[1]) << 8) | p[2];
      p += 3, n -= 3;
      if (size > n) return invalid("multitrack track overruns its message");
    }
    Status st =
        video ? enhanced_video_body(u, frame_type, packet_type, p, size) : enhanced_audio_body(u, packet_type, p, size);
    if (!st) return st;
    out->push_back(u);
    p += size, n -= size;
    if (one_track) break;
  }
  return ok_status();
}

Result<FlvMediaUnit> parse_legacy_audio(const uint8_t* p, size_t n) {
  FlvMediaUnit u;
  const unsigned format = p[0] >> 4;
  const bool stereo = p[0] & 1;
  static constexpr uint32_t rates[4] = {5512, 11025, 22050, 44100};
  switch (format) {
    case 10:  // AAC
      if (n < 2) return invalid("truncated AAC header");
      u.codec = MediaCodec::aac;
      if (p[1] == 0) {
        Status st = check_config(u.codec, p + 2, n - 2, u);
        if (!st) return st.error();
        u.kind = Kind::config;
      } else if (p[1] == 1) {
        u.kind = n > 2 ? Kind::frame : Kind::skip;
      } else {
        return invalid("unknown AAC packet type " + std::to_string(p[1]));
      }
      u.data = p + 2;
      u.size = n - 2;
      return u;
    case 2:   // MP3
    case 14:  // MP3 8 kHz
      u.codec = MediaCodec::mp3;
      u.rate = format == 14 ? 8000 : rates[(p[0] >> 2) & 3];
      break;
    case 7:
    case 8:
      u.codec = format == 7 ? MediaCodec::alaw : MediaCodec::mulaw;
      u.rate = 8000;
      break;
    default:
      u.skip_reason = "legacy audio codec without a parser here";
      return u;
  }
  u.channels = stereo ? 2 : 1;
  u.kind = n > 1 ? Kind::frame : Kind::skip;
  u.data = p + 1;
  u.size = n - 1;
  return u;
}

// MSB-first bit reader over a configuration record.
struct Bits {
  const uint8_t* p;
  size_t n;
  size_t pos = 0;
  bool over = false;
  uint32_t get(unsigned count) {
    uint32_t v = 0;
    for (unsigned i = 0; i < count; i++) {
      if (pos >= n * 8) {
        over = true;
        return 0;
      }
      v = (v << 1) | ((p[pos / 8] >> (7 - pos % 8)) & 1);
      pos++;
    }
    return v;
  }
};

}  // namespace

const char* media_codec_name(MediaCodec codec) {
  switch (codec) {
    case MediaCodec::h264:
      return "h264";
    case MediaCodec::h265:
      return "h265";
    case MediaCodec::av1:
      return "av1";
    case MediaCodec::vp9:
      return "vp9";
    case MediaCodec::aac:
      return "aac";
    case MediaCodec::opus:
      return "opus";
    case MediaCodec::mp3:
      return "mp3";
    case MediaCodec::ac3:
      return "ac3";
    case MediaCodec::eac3:
      return "eac3";
    case MediaCodec::alaw:
      return "alaw";
    case MediaCodec::mulaw:
      return "mulaw";
    case MediaCodec::none:
      break;
  }
  return "none";
}

bool media_codec_is_video(MediaCodec codec) {
  return codec == MediaCodec::h264 || codec == MediaCodec::h265 || codec == MediaCodec::av1 || codec == MediaCodec::vp9;
}

bool media_codec_needs_config(MediaCodec codec) {
  return codec == MediaCodec::h264 || codec == MediaCodec::h265 || codec == MediaCodec::aac ||
         codec == MediaCodec::opus;
}

Result<FlvMediaUnit> parse_flv_media(uint8_t type, const uint8_t* body, size_t size) {
  if (size == 0 || body == nullptr) {
    FlvMediaUnit u;
    u.video = type == 9;
    u.skip_reason = "empty message";
    return u;
  }
  if (type == 9) return (body[0] & 0x80) ? parse_enhanced_video(body, size) : parse_legacy_video(body, size);
  if (type == 8) return (body[0] >> 4) == 9 ? parse_enhanced_audio(body, size) : parse_legacy_audio(body, size);
  return invalid("not a media message (type " + std::to_string(type) + ")");
}

Status parse_flv_media_tracks(uint8_t type, const uint8_t* body, size_t size, std::vector<FlvMediaUnit>* out) {
  out->clear();
  const bool video = type == 9;
  const bool enhanced = size > 0 && body && (video ? (body[0] & 0x80) != 0 : (body[0] >> 4) == 9);
  if (enhanced && (type == 8 || type == 9)) {
    const uint8_t* p = body;
    size_t n = size;
    const unsigned frame_type = (p[0] >> 4) & 0x07;
    unsigned packet_type = p[0] & 0x0f;
    p++, n--;
    Status st = skip_modex(p, n, packet_type);
    if (!st) return st;
    if (packet_type == (video ? 6u : 5u)) return parse_multitrack(video, frame_type, p, n, out);
  }
  Result<FlvMediaUnit> one = parse_flv_media(type, body, size);
  if (!one) return one.error();
  out->push_back(*one);
  return ok_status();
}

Status check_avc_config(const uint8_t* p, size_t n) {
  if (n < 7) return invalid("truncated AVC configuration record");
  if (p[0] != 1) return invalid("AVC configuration record version " + std::to_string(p[0]));
  if ((p[4] & 3) == 2) return invalid("AVC NAL length size 3");
  size_t pos = 5;
  for (int list = 0; list < 2; list++) {
    if (pos >= n) return invalid("truncated AVC configuration record");
    const unsigned count = list == 0 ? (p[pos] & 0x1f) : p[pos];
    pos++;
    if (count > flv_media_max_param_sets) return invalid("AVC configuration record with too many parameter sets");
    for (unsigned i = 0; i < count; i++) {
      if (n - pos < 2) return invalid("truncated AVC parameter set length");
      const size_t len = be16(p + pos);
      pos += 2;
      if (len == 0 || n - pos < len) return invalid("AVC parameter set overruns its record");
      pos += len;
    }
  }
  return ok_status();
}

Status check_hevc_config(const uint8_t* p, size_t n) {
  if (n < 23) return invalid("truncated HEVC configuration record");
  if (p[0] != 1) return invalid("HEVC configuration record version " + std::to_string(p[0]));
  if ((p[21] & 3) == 2) return invalid("HEVC NAL length size 3");
  const unsigned arrays = p[22];
  size_t pos = 23;
  unsigned total = 0;
  for (unsigned a = 0; a < arrays; a++) {
    if (n - pos < 3) return invalid("truncated HEVC NAL unit array");
    const unsigned count = be16(p + pos + 1);
    pos += 3;
    total += count;
    if (total > flv_media_max_param_sets) return invalid("HEVC configuration record with too many NAL units");
    for (unsigned i = 0; i < count; i++) {
      if (n - pos < 2) return invalid("truncated HEVC NAL unit length");
      const size_t len = be16(p + pos);
      pos += 2;
      if (len == 0 || n - pos < len) return invalid("HEVC NAL unit overruns its record");
      pos += len;
    }
  }
  return ok_status();
}

Status check_av1_config(const uint8_t* p, size_t n) {
  if (n < 4) return invalid("truncated AV1 configuration record");
  if (p[0] != 0x81) return invalid("AV1 configuration record without marker/version 1");
  return ok_status();
}

Status check_vp9_config(const uint8_t* p, size_t n) {
  // VPCodecConfigurationRecord with its FullBox version/flags: 12 bytes, codec init data after.
  if (n < 12) return invalid("truncated VP9 configuration record");
  if (p[0] != 1) return invalid("VP9 configuration record version " + std::to_string(p[0]));
  if (be16(p + 10) > n - 12) return invalid("VP9 codec init data overruns its record");
  return ok_status();
}

Status parse_aac_config(const uint8_t* p, size_t n, uint32_t* rate, uint32_t* channels) {
  static constexpr uint32_t rates[13] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                         22050, 16000, 12000, 11025, 8000,  7350};
  if (n < 2) return invalid("truncated AAC AudioSpecificConfig");
  Bits b{p, n};
  uint32_t object_type = b.get(5);
  if (object_type == 31) object_type = 32 + b.get(6);
  const uint32_t index = b.get(4);
  uint32_t r = 0;
  if (index == 15)
    r = b.get(24);
  else if (index < 13)
    r = rates[index];
  const uint32_t chan = b.get(4);
  if (b.over) return invalid("truncated AAC AudioSpecificConfig");
  if (object_type == 0 || r == 0 || r > 96000) return invalid("AAC AudioSpecificConfig with a bad object type or rate");
  *rate = r;
  *channels = chan == 7 ? 8 : (chan < 7 ? chan : 0);
  return ok_status();
}

Status parse_opus_head(const uint8_t* p, size_t n, uint32_t* rate, uint32_t* channels) {
  if (n < 19 || std::memcmp(p, "OpusHead", 8) != 0) return invalid("sequence start is not an OpusHead");
  if ((p[8] & 0xf0) != 0) return invalid("unsupported OpusHead version");
  const unsigned chan = p[9];
  if (chan == 0) return invalid("OpusHead with zero channels");
  const unsigned family = p[18];
  if (family == 0 && chan > 2) return invalid("OpusHead family 0 with more than two channels");
  if (family != 0 && n < 21 + size_t(chan)) return invalid("truncated OpusHead channel mapping");
  *rate = 48000;  // Opus always decodes at 48 kHz; the header's input rate is informational
  *channels = chan;
  return ok_status();
}

unsigned nal_length_size(MediaCodec codec, const uint8_t* config, size_t n) {
  if (codec == MediaCodec::h264 && n >= 7) return (config[4] & 3) + 1u;
  if (codec == MediaCodec::h265 && n >= 23) return (config[21] & 3) + 1u;
  return 0;
}

Status check_length_prefixed(const uint8_t* p, size_t n, unsigned length_size) {
  if (length_size < 1 || length_size > 4) return invalid("bad NAL length size");
  size_t pos = 0;
  while (pos < n) {
    if (n - pos < length_size) return invalid("truncated NAL unit length");
    size_t len = 0;
    for (unsigned i = 0; i < length_size; i++) len = (len << 8) | p[pos + i];
    pos += length_size;
    if (n - pos < len) return invalid("NAL unit overruns its frame");
    pos += len;
  }
  return ok_status();
}

}  // namespace estuary::pipelines
