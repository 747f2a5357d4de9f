// Owns: the shared packet ring of one track of one stream: the RTP packets its payloader made, once,
// for every viewer; it also serves retransmissions (NACK) and late joiners (from the newest keyframe).
// Packets are numbered by a 64-bit index that never wraps; a slot is reused after `capacity` packets.
// Thread-safe: one streaming thread pushes, the engine thread reads (a mutex per ring, held only to
// copy one packet).
// Must not know: viewers, sockets, SRTP.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace estuary::webrtc::engine {

inline constexpr size_t kMaxRtpPacket = 1400;

class PacketRing {
 public:
  explicit PacketRing(size_t capacity);  // rounded up to a power of two

  // Adds a packet (longer than kMaxRtpPacket: dropped, false). keyframe: a decoder can start here.
  bool push(const uint8_t* data, size_t len, bool keyframe, int64_t arrival_us);
  // Copies packet `index` into out (kMaxRtpPacket bytes); 0 if it is not (or no longer) held.
  size_t copy(uint64_t index, uint8_t* out, bool* keyframe = nullptr, int64_t* arrival_us = nullptr) const;
  // The index the next push gets.
  uint64_t head() const;
  // Index of the newest held keyframe start, or UINT64_MAX if none is held.
  uint64_t newest_keyframe() const;
  // True if index is still held (not overwritten, already pushed).
  bool holds(uint64_t index) const;
  size_t capacity() const { return slots_.size(); }

 private:
  struct Slot {
    uint8_t data[kMaxRtpPacket];
    uint16_t len = 0;
    bool keyframe = false;
    int64_t arrival_us = 0;
  };
  bool holds_locked(uint64_t index) const { return index < head_ && head_ - index <= slots_.size(); }

  mutable std::mutex mu_;
  std::vector<Slot> slots_;
  uint64_t head_ = 0;
  uint64_t keyframe_ = UINT64_MAX;
};

}  // namespace estuary::webrtc::engine
