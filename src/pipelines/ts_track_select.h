// Owns: taking one track out of a muxed MPEG-TS segment: the packets of the chosen elementary
// stream (the video, or the K-th audio stream in PMT order), the PAT, and the PMT rewritten to list
// that stream alone (new CRC), so that HLS can serve a video-only variant and audio-only renditions
// from the same segments.
// Must not know: GStreamer, HTTP, playlists.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace estuary::pipelines {

struct TsTrackChoice {
  bool video = false;  // keep the (first) video stream
  int audio = -1;      // keep the audio stream of this index in PMT order (0 = first); -1: none
};

// Appends the kept packets of data (whole 188-byte packets) to out. False, with *error, when the
// segment has no PAT/PMT before its media or the PMT does not fit one packet; an out with only PAT
// and PMT means the chosen stream is not in the program.
bool ts_select_track(const uint8_t* data, size_t size, TsTrackChoice choice, std::vector<uint8_t>* out,
                     std::string* error);

}  // namespace estuary::pipelines
