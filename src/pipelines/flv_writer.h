// Owns: writing FLV tag bodies (RTMP audio/video message bodies) for the codecs the FLV output and the
// E-RTMP test publisher send: enhanced RTMP video (ExVideoTagHeader with FourCC hvc1/av01/vp09/avc1:
// SequenceStart from the decoder configuration record, CodedFrames with an SI24 composition time for
// avc1/hvc1, CodedFramesX otherwise), the legacy AVC / HEVC codec id 12 forms, legacy AAC and enhanced
// Opus audio, and the onMetaData script tag. The inverse of flv_media.h, whose parser reads every body written here.
// Must not know: GStreamer, sockets, the stream bus. Pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "pipelines/flv_media.h"

namespace estuary::pipelines {

// The enhanced FourCC of a video codec (h264 avc1, h265 hvc1, av1 av01, vp9 vp09); nullptr otherwise.
const char* flv_video_fourcc(MediaCodec codec);
// Whether FLV needs the enhanced form for this video codec (all but H.264).
inline bool flv_video_needs_enhanced(MediaCodec codec) { return codec != MediaCodec::h264; }

// Video SequenceStart with the configuration record (avcC, hvcC, av1C, vpcC). legacy: the AVC / HEVC
// codec id 12 form (H.264 and H.265 only).
std::vector<uint8_t> flv_video_config_body(MediaCodec codec, const uint8_t* config, size_t n, bool legacy = false);
// One coded frame (length-prefixed NAL units for H.264/H.265, OBUs for AV1, a frame for VP9).
std::vector<uint8_t> flv_video_frame_body(MediaCodec codec, bool keyframe, int32_t cts_ms, const uint8_t* data,
                                          size_t n, bool legacy = false);
// Audio: AAC (legacy SoundFormat 10, AudioSpecificConfig / raw frame) or Opus (enhanced, OpusHead /
// packet). Empty for other codecs.
std::vector<uint8_t> flv_audio_config_body(MediaCodec codec, const uint8_t* config, size_t n);
std::vector<uint8_t> flv_audio_frame_body(MediaCodec codec, const uint8_t* data, size_t n);
// The bytes a frame's body starts with (the body is these followed by the frame): a writer can put
// them and the frame straight into the tag, copying the frame once. Empty for unsupported codecs.
std::vector<uint8_t> flv_video_frame_head(MediaCodec codec, bool keyframe, int32_t cts_ms, bool legacy = false);
std::vector<uint8_t> flv_audio_frame_head(MediaCodec codec);

// What onMetaData tells a player before the first frame (0 / none: left out).
struct FlvMetadata {
  MediaCodec video = MediaCodec::none, audio = MediaCodec::none;
  bool enhanced_video = false;  // videocodecid is the FourCC (E-RTMP), else the legacy codec id
  int width = 0, height = 0;
  double framerate = 0;
  int audio_rate = 0, audio_channels = 0;
};
// The body of the onMetaData script tag: AMF0 "onMetaData" and an ECMA array of what is known.
std::vector<uint8_t> flv_metadata_body(const FlvMetadata& metadata);

}  // namespace estuary::pipelines
