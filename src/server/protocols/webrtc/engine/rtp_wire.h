// Owns: the RTP/RTCP wire details the shared engine needs: where an H.264 keyframe starts in RTP
// (RFC 6184: SPS, STAP-A with SPS, IDR or FU-A start of an IDR; H.265 likewise, RFC 7798), the RTCP feedback a viewer
// sends (RFC 4585 NACK and PLI, RFC 5104 FIR, REMB and receiver reports parsed), and RTCP sender reports. Must not
// know: sockets, SRTP, sessions. Pure and bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace estuary::webrtc::engine {

// True if this RTP packet (header included) begins an H.264 keyframe: the decoder can start here.
bool h264_keyframe_start(const uint8_t* rtp, size_t len);
// The same for H.265 (RFC 7798): a VPS/SPS, an IRAP picture (BLA, IDR, CRA), an aggregation packet
// whose first unit is one of them, or the start fragment of an IRAP picture.
bool h265_keyframe_start(const uint8_t* rtp, size_t len);
// Offset of the payload in an RTP packet (after CSRCs and extension), or 0 if malformed.
size_t rtp_payload_offset(const uint8_t* rtp, size_t len);
// True for an RTCP packet (RFC 5761 demultiplexing on payload type 192..223).
bool is_rtcp(const uint8_t* data, size_t len);

// One receiver report block (RFC 3550 6.4.1).
struct ReportBlock {
  uint32_t ssrc = 0;           // the source it reports on (our SSRC)
  uint8_t fraction_lost = 0;   // /256 since the previous report
  uint32_t lost_total = 0;     // cumulative
  uint32_t lsr = 0, dlsr = 0;  // last SR (middle 32 bits of its NTP time) and the delay since, 1/65536 s
};

struct RtcpFeedback {
  std::vector<std::pair<uint32_t, uint16_t>> nacks;  // (media SSRC, sequence number) lost
  std::vector<uint32_t> keyframe_requests;           // media SSRCs of PLI/FIR
  std::vector<ReportBlock> reports;                  // at most kMaxReports
  int plis = 0, firs = 0;                            // keyframe requests by kind
  int rembs = 0, twcc = 0;                           // REMB and transport-wide CC feedback packets
  uint64_t remb_bps = 0;                             // last REMB estimate (0 = none)
  int receiver_reports = 0;                          // report blocks seen
  uint32_t lost_total = 0;                           // cumulative lost of the last report block
  uint8_t fraction_lost = 0;                         // of the last report block
  uint32_t lsr = 0, dlsr = 0;                        // of the last report block (RTT)
  int packets = 0;                                   // RTCP packets in the compound
  bool malformed = false;
};

constexpr size_t kMaxReports = 32;
// Parses a compound RTCP packet (already decrypted). At most max_nacks losses are kept.
RtcpFeedback parse_rtcp(const uint8_t* data, size_t len, size_t max_nacks = 512);

// An RTCP sender report (no report blocks).
std::vector<uint8_t> sender_report(uint32_t ssrc, uint64_t ntp, uint32_t rtp_ts, uint32_t packets, uint32_t octets);
// NTP timestamp (64-bit fixed point) of a wall-clock time in microseconds since 1970.
uint64_t ntp_from_unix_us(int64_t us);
// Round-trip time in microseconds from a report block answering one of our sender reports, at NTP time
// now_ntp: now - LSR - DLSR (RFC 3550 6.4.1); -1 when the block answers none or the result is absurd.
int64_t rtt_us_from_report(const ReportBlock& b, uint64_t now_ntp);

}  // namespace estuary::webrtc::engine
