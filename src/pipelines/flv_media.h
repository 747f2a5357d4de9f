// Owns: parsing one RTMP audio or video message body (an FLV tag body) into an elementary-stream unit:
// legacy AVC / HEVC (codec id 12) / AAC / MP3 / G.711, and enhanced RTMP (v1, v2's ModEx and multitrack) video
// FourCCs hvc1, av01, vp09, avc1 and audio FourCCs Opus, mp4a, .mp3, ac-3, ec-3; and the structural
// checks of the decoder configuration records (avcC, hvcC, av1C, vpcC, AudioSpecificConfig, OpusHead)
// and of length-prefixed NAL units, so nothing malformed reaches a GStreamer parser.
// Must not know: GStreamer, sockets, the stream bus. Pure functions over the caller's bytes; the
// returned unit points into the body it was given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/result.h"

namespace estuary::pipelines {

enum class MediaCodec : uint8_t { none, h264, h265, av1, vp9, aac, opus, mp3, ac3, eac3, alaw, mulaw };

const char* media_codec_name(MediaCodec codec);
bool media_codec_is_video(MediaCodec codec);
// Whether the codec's caps need the sequence header (decoder configuration) before any frame.
bool media_codec_needs_config(MediaCodec codec);

struct FlvMediaUnit {
  enum class Kind : uint8_t {
    skip,    // nothing to deliver (metadata, sequence end, command frame, a track we do not carry)
    config,  // decoder configuration record in data/size
    frame,   // one access unit / audio frame in data/size
  };
  Kind kind = Kind::skip;
  bool video = false;
  MediaCodec codec = MediaCodec::none;
  const uint8_t* data = nullptr;
  size_t size = 0;
  int32_t cts_ms = 0;  // composition time offset: pts = dts + cts
  bool keyframe = false;
  bool enhanced = false;              // the message used the enhanced (FourCC) header
  const char* skip_reason = nullptr;  // for kind skip: why (for a log line)
  // Audio parameters known from the header (legacy formats) or the configuration record.
  uint32_t rate = 0;
  uint32_t channels = 0;
  uint8_t track_id = 0;  // enhanced RTMP multitrack: the message's track id (0 otherwise)
};

// Parses an audio (type 8) or video (type 9) message body. Errors (reason invalid or unsupported):
// a truncated header, an unknown FourCC, a malformed configuration record, NAL unit lengths that
// overrun the frame. Empty bodies are skipped.
Result<FlvMediaUnit> parse_flv_media(uint8_t type, const uint8_t* body, size_t size);

// Like parse_flv_media, but an enhanced RTMP multitrack message (audio packet type 5, video 6; one
// track, many tracks, or many tracks with many codecs) gives one unit per track, each with its
// track_id; any other message gives its one unit. At most flv_media_max_tracks units.
constexpr size_t flv_media_max_tracks = 16;
Status parse_flv_media_tracks(uint8_t type, const uint8_t* body, size_t size, std::vector<FlvMediaUnit>* out);

// Structural checks of configuration records (also used by parse_flv_media).
Status check_avc_config(const uint8_t* p, size_t n);
Status check_hevc_config(const uint8_t* p, size_t n);
Status check_av1_config(const uint8_t* p, size_t n);
Status check_vp9_config(const uint8_t* p, size_t n);
// AudioSpecificConfig: fills rate and channels (channels 0 when the config defines them elsewhere).
Status parse_aac_config(const uint8_t* p, size_t n, uint32_t* rate, uint32_t* channels);
// OpusHead (RFC 7845 identification header): fills rate (input rate or 48000) and channels.
Status parse_opus_head(const uint8_t* p, size_t n, uint32_t* rate, uint32_t* channels);
// NAL length size of a checked AVC/HEVC configuration record; 0 for other codecs.
unsigned nal_length_size(MediaCodec codec, const uint8_t* config, size_t n);
// A frame of NAL units each preceded by a big-endian length of length_size bytes (1..4).
Status check_length_prefixed(const uint8_t* p, size_t n, unsigned length_size);

// Bounds on configuration records (bytes and NAL unit arrays).
constexpr size_t flv_media_max_config_bytes = 64u << 10;
constexpr unsigned flv_media_max_param_sets = 64;

}  // namespace estuary::pipelines
