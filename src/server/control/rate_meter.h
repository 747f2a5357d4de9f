// Owns: a 30-second sliding average of a byte counter (SRS's kbps.recv_30s / send_30s), fed by a
// once-per-second sample on the control thread.
#pragma once

#include <array>
#include <cstdint>

namespace estuary::server {

class RateMeter {
 public:
  void sample(uint64_t total_bytes, int64_t now_us) {
    samples_[next_ % samples_.size()] = {total_bytes, now_us};
    ++next_;
  }
  int kbps() const {
    if (next_ < 2) return 0;
    const auto& newest = samples_[(next_ - 1) % samples_.size()];
    const size_t span = next_ < samples_.size() ? next_ - 1 : samples_.size() - 1;
    const auto& oldest = samples_[(next_ - 1 - span) % samples_.size()];
    const int64_t dt = newest.us - oldest.us;
    if (dt <= 0 || newest.bytes < oldest.bytes) return 0;
    return int((newest.bytes - oldest.bytes) * 8 * 1000 / uint64_t(dt));  // bytes/us*8e3 = kbit/s
  }

 private:
  struct Sample {
    uint64_t bytes = 0;
    int64_t us = 0;
  };
  std::array<Sample, 31> samples_{};
  size_t next_ = 0;
};

}  // namespace estuary::server
