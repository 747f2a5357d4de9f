// Owns: RFC 4571 framing of ICE-TCP (RFC 6544): each STUN/DTLS/SRTP packet on a TCP stream is
// preceded by its length in two bytes (network order). FrameReader reassembles frames from what a
// stream delivers, bounded: a frame longer than max_frame is an error (the connection is closed) and
// at most one frame is buffered. frame() writes the header.
// Must not know: sockets, sessions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace estuary::webrtc::engine {

class FrameReader {
 public:
  explicit FrameReader(size_t max_frame) : max_frame_(max_frame) { buf_.reserve(max_frame + 2); }
  // Feeds bytes read from the stream; on_frame gets each complete frame (valid until it returns).
  // false once a frame announces more than max_frame bytes or a zero length (the stream is bad).
  bool feed(const uint8_t* data, size_t len, const std::function<void(uint8_t* frame, size_t len)>& on_frame);
  size_t buffered() const { return buf_.size(); }

 private:
  size_t max_frame_;
  std::vector<uint8_t> buf_;  // the header and the partial frame (never more than max_frame + 2)
};

// Appends one framed packet (length header + data) to out; false if len does not fit 16 bits.
bool append_frame(std::vector<uint8_t>& out, const uint8_t* data, size_t len);

}  // namespace estuary::webrtc::engine
