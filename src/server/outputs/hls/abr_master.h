// Owns: the HLS master (multivariant) playlist of a stream with renditions: rendering the
// #EXT-X-STREAM-INF entries (BANDWIDTH, RESOLUTION, CODECS, FRAME-RATE) and the RFC 6381 codec
// strings from the bus caps (avc1.PPCCLL, hvc1…, mp4a.40.N). Pure functions; no HTTP here.
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <string>
#include <vector>

namespace estuary::server {

struct AbrVariant {
  std::string uri;         // media playlist, relative to the master playlist or an absolute path
  uint64_t bandwidth = 0;  // bit/s
  int width = 0;           // 0 = no RESOLUTION
  int height = 0;
  std::string codecs;     // "avc1.64001f,mp4a.40.2"; "" = no CODECS
  double frame_rate = 0;  // 0 = no FRAME-RATE
};

// "#EXTM3U", "#EXT-X-INDEPENDENT-SEGMENTS" and one entry per variant, highest bandwidth first
// (players start with the first entry and switch by BANDWIDTH).
std::string render_master_playlist(std::vector<AbrVariant> variants);

// RFC 6381 codec string of a video track's caps: from the avcC/hvcC codec_data when present,
// otherwise from the profile and level fields h264parse/h265parse set. "" if unknown.
std::string video_codec_string(const GstCaps* caps);
// "mp4a.40.2" (AAC LC; 5 HE-AAC, 29 HE-AACv2, from codec_data or profile), "mp4a.40.34" (MP3),
// "opus"; "" if unknown.
std::string audio_codec_string(const GstCaps* caps);
// Frame rate of video caps, 0 if variable or absent.
double caps_frame_rate(const GstCaps* caps);

}  // namespace estuary::server
