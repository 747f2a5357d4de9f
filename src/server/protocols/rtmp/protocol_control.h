// Owns: RTMP protocol control messages (Set Chunk Size, Abort, Acknowledgement, Window
// Acknowledgement Size, Set Peer Bandwidth) and User Control events: payload builders, parsers, and
// helpers that append whole control messages (chunk stream 2, message stream 0) to an output buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/result.h"

namespace estuary::rtmp {

enum class UserControlType : uint16_t {
  stream_begin = 0,
  stream_eof = 1,
  stream_dry = 2,
  set_buffer_length = 3,
  stream_is_recorded = 4,
  ping_request = 6,
  ping_response = 7,
};

struct UserControlEvent {
  uint16_t type = 0;    // a UserControlType value; unknown types are kept, not rejected
  uint32_t value = 0;   // stream id, or the ping timestamp
  uint32_t value2 = 0;  // buffer length in ms (set_buffer_length only)
};

enum class PeerBandwidthLimit : uint8_t { hard = 0, soft = 1, dynamic = 2 };

// Payloads.
std::vector<uint8_t> u32_payload(uint32_t v);  // set chunk size, abort, acknowledgement, window ack size
std::vector<uint8_t> set_peer_bandwidth_payload(uint32_t window, PeerBandwidthLimit limit);
std::vector<uint8_t> user_control_payload(UserControlType type, uint32_t value);
std::vector<uint8_t> set_buffer_length_payload(uint32_t stream_id, uint32_t buffer_ms);

// Parsers (Error on a short payload).
Result<uint32_t> parse_u32_payload(const uint8_t* payload, size_t size);
Result<UserControlEvent> parse_user_control(const uint8_t* payload, size_t size);

// Whole messages appended to out as chunks of chunk_size.
void append_set_chunk_size(std::vector<uint8_t>& out, uint32_t new_size, uint32_t chunk_size);
void append_abort(std::vector<uint8_t>& out, uint32_t aborted_csid, uint32_t chunk_size);
void append_acknowledgement(std::vector<uint8_t>& out, uint32_t sequence, uint32_t chunk_size);
void append_window_ack_size(std::vector<uint8_t>& out, uint32_t window, uint32_t chunk_size);
void append_set_peer_bandwidth(std::vector<uint8_t>& out, uint32_t window, PeerBandwidthLimit limit,
                               uint32_t chunk_size);
void append_user_control(std::vector<uint8_t>& out, UserControlType type, uint32_t value, uint32_t chunk_size);

// Tracks bytes received against the peer's acknowledgement window. due() is true once
// at least a window's worth of bytes arrived since the last acknowledgement.
class AckTracker {
 public:
  void set_window(uint32_t window) { window_ = window; }
  uint32_t window() const { return window_; }
  void add(uint64_t bytes) { total_ += bytes; }
  uint64_t total() const { return total_; }
  bool due() const { return window_ > 0 && total_ - last_acked_ >= window_; }
  // The sequence number to send (total bytes, modulo 2^32); marks it acknowledged.
  uint32_t take_sequence() {
    last_acked_ = total_;
    return static_cast<uint32_t>(total_);
  }

 private:
  uint32_t window_ = 0;  // 0 until the peer sends Window Acknowledgement Size
  uint64_t total_ = 0;
  uint64_t last_acked_ = 0;
};

}  // namespace estuary::rtmp
