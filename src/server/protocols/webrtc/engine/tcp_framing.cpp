// Owns: FrameReader and append_frame (see tcp_framing.h).
#include "server/protocols/webrtc/engine/tcp_framing.h"

#include <algorithm>

namespace estuary::webrtc::engine {

bool FrameReader::feed(const uint8_t* data, size_t len,
                       const std::function<void(uint8_t* frame, size_t len)>& on_frame) {
  while (len > 0) {
    if (buf_.size() < 2) {
      buf_.push_back(*data++);
      --len;
      continue;
    }
    const size_t want = size_t(buf_[0]) << 8 | buf_[1];
    if (want == 0 || want > max_frame_) return false;
    const size_t take = std::min(len, want + 2 - buf_.size());
    buf_.insert(buf_.end(), data, data + take);
    data += take;
    len -= take;
    if (buf_.size() == want + 2) {
      on_frame(buf_.data() + 2, want);
      buf_.clear();
    }
  }
  if (buf_.size() >= 2) {
    const size_t want = size_t(buf_[0]) << 8 | buf_[1];
    if (want == 0 || want > max_frame_) return false;
  }
  return true;
}

bool append_frame(std::vector<uint8_t>& out, const uint8_t* data, size_t len) {
  if (len == 0 || len > 0xFFFF) return false;
  out.push_back(uint8_t(len >> 8));
  out.push_back(uint8_t(len));
  out.insert(out.end(), data, data + len);
  return true;
}

}  // namespace estuary::webrtc::engine
