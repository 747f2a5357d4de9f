// Owns: building and parsing RTMP protocol control messages and User Control events.
#include "server/protocols/rtmp/protocol_control.h"

#include "server/protocols/rtmp/chunk.h"

namespace estuary::rtmp {

namespace {

void put_u16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

uint32_t read_u32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

void append_control(std::vector<uint8_t>& out, uint8_t type, const std::vector<uint8_t>& payload, uint32_t chunk_size) {
  append_message(out, csid::protocol_control, type, 0, 0, payload.data(), payload.size(), chunk_size);
}

}  // namespace

std::vector<uint8_t> u32_payload(uint32_t v) {
  std::vector<uint8_t> out;
  put_u32(out, v);
  return out;
}

std::vector<uint8_t> set_peer_bandwidth_payload(uint32_t window, PeerBandwidthLimit limit) {
  std::vector<uint8_t> out;
  put_u32(out, window);
  out.push_back(static_cast<uint8_t>(limit));
  return out;
}

std::vector<uint8_t> user_control_payload(UserControlType type, uint32_t value) {
  std::vector<uint8_t> out;
  put_u16(out, static_cast<uint16_t>(type));
  put_u32(out, value);
  return out;
}

std::vector<uint8_t> set_buffer_length_payload(uint32_t stream_id, uint32_t buffer_ms) {
  std::vector<uint8_t> out = user_control_payload(UserControlType::set_buffer_length, stream_id);
  put_u32(out, buffer_ms);
  return out;
}

Result<uint32_t> parse_u32_payload(const uint8_t* payload, size_t size) {
  if (size < 4) return Error{"rtmp: short protocol control message", ErrorReason::invalid, "rtmp"};
  return read_u32(payload);
}

Result<UserControlEvent> parse_user_control(const uint8_t* payload, size_t size) {
  if (size < 2) return Error{"rtmp: short user control message", ErrorReason::invalid, "rtmp"};
  UserControlEvent ev;
  ev.type = static_cast<uint16_t>((payload[0] << 8) | payload[1]);
  // Every known event carries at least one 4-byte value; unknown ones may not.
  if (size >= 6) ev.value = read_u32(payload + 2);
  if (ev.type == static_cast<uint16_t>(UserControlType::set_buffer_length)) {
    if (size < 10) return Error{"rtmp: short set buffer length event", ErrorReason::invalid, "rtmp"};
    ev.value2 = read_u32(payload + 6);
  } else if (ev.type <= static_cast<uint16_t>(UserControlType::ping_response) && size < 6) {
    return Error{"rtmp: short user control event", ErrorReason::invalid, "rtmp"};
  }
  return ev;
}

void append_set_chunk_size(std::vector<uint8_t>& out, uint32_t new_size, uint32_t chunk_size) {
  append_control(out, msg::set_chunk_size, u32_payload(new_size), chunk_size);
}

void append_abort(std::vector<uint8_t>& out, uint32_t aborted_csid, uint32_t chunk_size) {
  append_control(out, msg::abort, u32_payload(aborted_csid), chunk_size);
}

void append_acknowledgement(std::vector<uint8_t>& out, uint32_t sequence, uint32_t chunk_size) {
  append_control(out, msg::acknowledgement, u32_payload(sequence), chunk_size);
}

void append_window_ack_size(std::vector<uint8_t>& out, uint32_t window, uint32_t chunk_size) {
  append_control(out, msg::window_ack_size, u32_payload(window), chunk_size);
}

void append_set_peer_bandwidth(std::vector<uint8_t>& out, uint32_t window, PeerBandwidthLimit limit,
                               uint32_t chunk_size) {
  append_control(out, msg::set_peer_bandwidth, set_peer_bandwidth_payload(window, limit), chunk_size);
}

void append_user_control(std::vector<uint8_t>& out, UserControlType type, uint32_t value, uint32_t chunk_size) {
  append_control(out, msg::user_control, user_control_payload(type, value), chunk_size);
}

}  // namespace estuary::rtmp
