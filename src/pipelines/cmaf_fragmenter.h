// Owns: cutting one stream's samples into CMAF parts and segments: a segment starts on a video
// keyframe once segment_target has passed, a part ends before the frame that would take it past
// part_target (whole frames), each part is one moof+mdat with a traf per track. Samples are held
// back one per track so every sample's duration is the gap to the next one. Audio-only streams cut
// on audio frames. Times in are nanoseconds of the stream's running time.
// Must not know: GStreamer, threads, HTTP, playlists. Sans-IO; not thread-safe (the caller locks).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "pipelines/cmaf_writer.h"

namespace estuary::pipelines::cmaf {

struct FragmenterSettings {
  int64_t part_target_ns = 200'000'000;
  int64_t segment_target_ns = 2'000'000'000;
};

struct Sample {
  int64_t dts_ns = 0;
  int64_t pts_ns = 0;
  int64_t duration_ns = 0;  // used only for the last sample of a track (at flush)
  bool keyframe = false;
  std::shared_ptr<const std::vector<uint8_t>> data;
};

struct Part {
  uint64_t segment = 0;       // media sequence number of the segment it belongs to
  uint32_t index = 0;         // position in the segment (0 = first)
  int64_t start_ns = 0;       // decode time of its first frame (driving track), running time
  int64_t media_time_ns = 0;  // the same as media time (tfdt 0 = 0)
  int64_t duration_ns = 0;
  bool independent = false;  // starts with a keyframe
  bool last_in_segment = false;
  std::vector<uint8_t> bytes;  // moof + mdat
};

class Fragmenter {
 public:
  // Track ids are the positions in `tracks` + 1. Times are offset so that no tfdt goes negative.
  Fragmenter(std::vector<TrackConfig> tracks, FragmenterSettings settings);
  const std::vector<TrackConfig>& tracks() const { return tracks_; }
  std::vector<uint8_t> init_segment() const { return write_init_segment(tracks_); }
  // Adds a sample of track `track`; returns the parts it finished (zero or one).
  std::vector<Part> push(size_t track, Sample sample);
  // End of stream: closes the open part as the last of its segment.
  std::vector<Part> flush();
  // Media time of tfdt 0 in the stream's running time (ns).
  int64_t time_origin_ns() const { return origin_ns_; }

 private:
  struct Pending {
    Sample sample;
    bool valid = false;
  };
  uint64_t to_timescale(size_t track, int64_t ns) const;
  void append(size_t track, const Sample& s, uint64_t next_ts);
  Part close_part(int64_t end_ns, bool last_in_segment);

  std::vector<TrackConfig> tracks_;
  FragmenterSettings settings_;
  size_t driving_ = 0;  // the video track, else the first
  std::vector<Pending> pending_;
  std::vector<int64_t> last_duration_ns_;  // per track, for the last sample at flush
  std::vector<TrackRun> runs_;             // samples of the open part, per track
  bool started_ = false;
  int64_t origin_ns_ = 0;
  int64_t part_start_ns_ = 0, segment_start_ns_ = 0;
  bool part_independent_ = false;
  uint64_t segment_ = 0;
  uint32_t part_index_ = 0;
  uint32_t fragment_sequence_ = 0;
};

}  // namespace estuary::pipelines::cmaf
