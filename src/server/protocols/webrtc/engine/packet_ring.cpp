// Owns: PacketRing (see packet_ring.h).
#include "server/protocols/webrtc/engine/packet_ring.h"

#include <cstring>

namespace estuary::webrtc::engine {

PacketRing::PacketRing(size_t capacity) {
  size_t n = 16;
  while (n < capacity) n <<= 1;
  slots_.resize(n);
}

bool PacketRing::push(const uint8_t* data, size_t len, bool keyframe, int64_t arrival_us) {
  if (len == 0 || len > kMaxRtpPacket) return false;
  std::lock_guard<std::mutex> lock(mu_);
  Slot& s = slots_[head_ & (slots_.size() - 1)];
  std::memcpy(s.data, data, len);
  s.len = uint16_t(len);
  s.keyframe = keyframe;
  s.arrival_us = arrival_us;
  if (keyframe) keyframe_ = head_;
  ++head_;
  if (keyframe_ != UINT64_MAX && !holds_locked(keyframe_)) keyframe_ = UINT64_MAX;
  return true;
}

size_t PacketRing::copy(uint64_t index, uint8_t* out, bool* keyframe, int64_t* arrival_us) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!holds_locked(index)) return 0;
  const Slot& s = slots_[index & (slots_.size() - 1)];
  std::memcpy(out, s.data, s.len);
  if (keyframe) *keyframe = s.keyframe;
  if (arrival_us) *arrival_us = s.arrival_us;
  return s.len;
}

uint64_t PacketRing::head() const {
  std::lock_guard<std::mutex> lock(mu_);
  return head_;
}

uint64_t PacketRing::newest_keyframe() const {
  std::lock_guard<std::mutex> lock(mu_);
  return keyframe_ != UINT64_MAX && holds_locked(keyframe_) ? keyframe_ : UINT64_MAX;
}

bool PacketRing::holds(uint64_t index) const {
  std::lock_guard<std::mutex> lock(mu_);
  return holds_locked(index);
}

}  // namespace estuary::webrtc::engine
