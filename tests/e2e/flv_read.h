// Owns: reading an FLV file the server sent (HTTP-FLV, or RTMP play saved by estuary-ertmp-publish
// --play) back with our own parser (pipelines/flv_media.h), for the E-RTMP/E-FLV end-to-end tests
// that Debian's ffprobe cannot serve.
#pragma once

#include <string>
#include <vector>

#include "pipelines/flv_media.h"

namespace estuary::e2e {

struct FlvRead {
  std::string error;  // "" when every tag parsed and every NAL unit fit its frame
  pipelines::MediaCodec video = pipelines::MediaCodec::none, audio = pipelines::MediaCodec::none;
  bool video_enhanced = false, audio_enhanced = false;
  std::vector<std::string> frames;  // coded video frames, in order
  size_t audio_frames = 0;
  bool first_frame_key = false;
};

FlvRead read_flv_file(const std::string& path);

}  // namespace estuary::e2e
