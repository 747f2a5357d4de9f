// Owns: transport-wide congestion control (draft-holmer-rmcat-transport-wide-cc-extensions-01) on the
// receive side of a WHIP publisher, as wire logic: the transport-wide sequence number read from an RTP
// packet's one-byte header extension (RFC 8285, 0xBEDE), a bounded window of (sequence, arrival) pairs
// unwrapped to 64 bits, and the RTCP transport-cc feedback packets (RTPFB, PT 205, FMT 15) built from it.
// Must not know: sockets, SRTP, sessions, clocks (arrival times are given). Pure and bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace estuary::webrtc::engine {

constexpr const char* kTwccExtensionUri = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

// The 16-bit value of the one-byte header extension element `id` (1..14) of an RTP packet; false when the
// packet has no 0xBEDE extension block, the element is missing, malformed or not 2 bytes long.
bool rtp_extension_u16(const uint8_t* rtp, size_t len, int id, uint16_t* out);

// One transport-cc feedback packet. arrivals_us[i] is the arrival of sequence base_seq + i (modulo 2^16),
// or -1 when it was not received; arrivals_us[0] must be received. Statuses are consumed from the front
// until one of these would be exceeded: max_statuses, a receive delta that does not fit 16 bits (the next
// packet starts there with its own reference time). *consumed says how many were used (>= 1).
// Chunks: run-length chunks for runs of 14 or more equal statuses, else two-bit status vector chunks
// (7 symbols; the last one padded with "not received" symbols beyond the status count).
std::vector<uint8_t> build_twcc_feedback(uint32_t sender_ssrc, uint32_t media_ssrc, uint16_t base_seq,
                                         uint8_t feedback_count, const std::vector<int64_t>& arrivals_us,
                                         size_t max_statuses, size_t* consumed);

// The received transport-wide sequence numbers of one session and their arrival times, until reported.
class TwccRecorder {
 public:
  static constexpr size_t kMaxWindow = 2048;            // recorded, not yet reported (oldest dropped beyond)
  static constexpr size_t kMaxStatusesPerPacket = 400;  // <= 20 + 400 * 2 + 58 * 2 bytes per packet
  static constexpr size_t kMaxPacketsPerFeedback = 4;   // the rest waits for the next round
  // A packet with transport-wide sequence seq arrived at arrival_us. Duplicates and packets older than
  // what was already reported are ignored.
  void on_packet(uint16_t seq, int64_t arrival_us);
  // Feedback packets covering everything recorded since the last call (empty when nothing new).
  std::vector<std::vector<uint8_t>> feedback(uint32_t sender_ssrc, uint32_t media_ssrc);
  size_t pending() const { return window_.size(); }
  uint64_t packets_sent() const { return sent_; }

 private:
  std::map<int64_t, int64_t> window_;  // unwrapped sequence -> arrival (us)
  int64_t last_ = -1;                  // the last unwrapped sequence seen (the unwrap reference)
  int64_t next_ = -1;                  // the first sequence not yet reported
  uint8_t count_ = 0;                  // feedback packet count (wraps)
  uint64_t sent_ = 0;
};

}  // namespace estuary::webrtc::engine
