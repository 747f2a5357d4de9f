// Owns: the receive side of a WHIP publisher's RTP on the shared engine, as wire logic: the RTP
// header fields the engine demultiplexes on (payload type, SSRC, sequence number), per-SSRC reception
// statistics (RFC 3550 A.1/A.3/A.8: extended highest sequence number, cumulative and fractional loss,
// interarrival jitter, the last sender report for LSR/DLSR), and the RTCP we send back: receiver
// reports, generic NACK (RFC 4585 6.2.1, PID+BLP packed) and PLI (RFC 4585 6.3.1).
// Must not know: sockets, SRTP, GStreamer, sessions. Pure and bounded (at most kMaxSources SSRCs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace estuary::webrtc::engine {

struct RtpHeader {
  uint8_t pt = 0;
  bool marker = false;
  uint16_t seq = 0;
  uint32_t ts = 0;
  uint32_t ssrc = 0;
};
// Parses the fixed RTP header (version 2, at least 12 bytes, a payload after CSRCs/extension).
bool parse_rtp_header(const uint8_t* rtp, size_t len, RtpHeader* out);

// RTCP we send to a publisher.
std::vector<uint8_t> picture_loss(uint32_t sender_ssrc, uint32_t media_ssrc);
// Generic NACK for `seqs` (any order, duplicates ignored), packed into PID+BLP items; at most
// max_items items (the rest are dropped).
std::vector<uint8_t> generic_nack(uint32_t sender_ssrc, uint32_t media_ssrc, std::vector<uint16_t> seqs,
                                  size_t max_items = 64);

// Reception statistics of the sources of one publisher.
class RtpReceiver {
 public:
  static constexpr size_t kMaxSources = 4;
  // One RTP packet (decrypted) arriving at now_us with the track's clock rate; false if the
  // source table is full (the packet should be dropped).
  bool on_rtp(const RtpHeader& h, uint32_t clock_rate, int64_t now_us);
  // A sender report from the publisher (decrypted compound RTCP): remembered for LSR/DLSR.
  void on_rtcp(const uint8_t* data, size_t len, int64_t now_us);
  // A receiver report with one block per source (empty when nothing was received). Updates the
  // "since the last report" counters.
  std::vector<uint8_t> receiver_report(uint32_t sender_ssrc, int64_t now_us);
  // The SSRC last seen with payload type pt (0 = none).
  uint32_t ssrc_of_pt(uint8_t pt) const;
  uint64_t packets() const { return packets_; }
  uint64_t lost() const;  // cumulative, over every source

 private:
  struct Source {
    uint32_t ssrc = 0;
    uint8_t pt = 0;
    uint32_t clock = 90000;
    uint16_t max_seq = 0;
    uint32_t cycles = 0;  // shifted count of sequence number wraps (<< 16)
    uint32_t base_seq = 0;
    uint64_t received = 0;
    uint64_t expected_prior = 0, received_prior = 0;
    double jitter = 0;  // in timestamp units
    int64_t last_transit = 0;
    bool have_transit = false;
    uint32_t lsr = 0;       // middle 32 bits of the last SR's NTP time
    int64_t lsr_at_us = 0;  // when it arrived
  };
  Source* find(uint32_t ssrc);
  std::vector<Source> sources_;
  uint64_t packets_ = 0;
};

}  // namespace estuary::webrtc::engine
