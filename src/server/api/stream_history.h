// Owns: the short per-stream history the console charts (GET /api/v1/streams/{id}/history): one
// sample a second of input and output bitrate, video frame rate and viewers, derived from the read
// model's counters. Bounded: `capacity` samples per live stream; a stream's history goes with it.
// Must not know: HTTP, JSON, the supervisor (it is fed StreamViews). Main loop thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "server/control/api_model.h"

namespace estuary::api {

struct HistorySample {
  int64_t t_ms = 0;  // wall clock
  int kbps_in = 0;   // bytes received from the publisher, over the last interval
  int kbps_out = 0;  // bytes sent to every viewer together
  double fps = 0;    // video frames a second
  int viewers = 0;   // clients playing the stream
};

class StreamHistory {
 public:
  static constexpr size_t kDefaultCapacity = 300;  // five minutes at one sample a second
  explicit StreamHistory(size_t capacity = kDefaultCapacity) : capacity_(capacity ? capacity : 1) {}

  // Adds one sample per listed stream (rates from the counters' change since the previous call);
  // streams no longer listed are forgotten. The first call for a stream only sets its baseline.
  void sample(int64_t now_ms, const std::vector<StreamView>& streams);
  // The samples of stream `id`, oldest first; nullptr if the stream is not being tracked.
  const std::deque<HistorySample>* find(const std::string& id) const;
  size_t capacity() const { return capacity_; }
  size_t tracked() const { return tracks_.size(); }

 private:
  struct Track {
    int64_t last_ms = 0;
    uint64_t recv = 0, send = 0, video_frames = 0;
    std::deque<HistorySample> samples;
  };
  size_t capacity_;
  std::map<std::string, Track> tracks_;
};

}  // namespace estuary::api
