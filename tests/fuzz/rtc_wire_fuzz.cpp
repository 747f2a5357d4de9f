// Owns: the libFuzzer target of the shared WebRTC engine's datagram parsers (what anyone can send to
// the one UDP port): STUN Binding requests with their integrity check, RTCP feedback, the H.264/H.265
// keyframe test on RTP, a WHIP publisher's RTP header and sender reports (reception statistics, the
// receiver report built from them), the transport-wide sequence number in a one-byte header extension and the
// transport-cc feedback built from it, offer credentials, and the ICE-TCP framing (RFC 4571) of the TCP
// port. Input: one datagram (and, as text, an SDP offer).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "server/protocols/webrtc/engine/rtp_receiver.h"
#include "server/protocols/webrtc/engine/rtp_wire.h"
#include "server/protocols/webrtc/engine/sdp_answer.h"
#include "server/protocols/webrtc/engine/stun.h"
#include "server/protocols/webrtc/engine/tcp_framing.h"
#include "server/protocols/webrtc/engine/twcc.h"

using namespace estuary::webrtc::engine;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  classify_datagram(data, size);
  StunRequest req;
  if (parse_binding_request(data, size, &req)) {
    if (req.username.size() > 513) std::abort();
    if (req.has_integrity && req.integrity_offset + 24 > size) std::abort();
    check_integrity(data, size, req, "0123456789abcdefghijkl");
    local_ufrag(req.username);
  }
  uint8_t tx[12];
  std::string mapped;
  parse_binding_success(data, size, tx, &mapped);
  RtcpFeedback fb = parse_rtcp(data, size, 64);
  if (fb.nacks.size() > 64 || fb.packets > 64) std::abort();
  if (fb.reports.size() > kMaxReports || fb.keyframe_requests.size() > kMaxReports) std::abort();
  for (const ReportBlock& b : fb.reports)
    if (rtt_us_from_report(b, ntp_from_unix_us(1700000000000000)) > 61 * 1000000) std::abort();
  h264_keyframe_start(data, size);
  h265_keyframe_start(data, size);
  const size_t off = rtp_payload_offset(data, size);
  if (off != 0 && off >= size) std::abort();
  // A publisher's RTP and RTCP: the header fields, statistics and the report stay bounded.
  RtpHeader h;
  RtpReceiver rx;
  if (parse_rtp_header(data, size, &h)) {
    rx.on_rtp(h, 90000, 1000);
    h.seq = uint16_t(h.seq + 3);
    rx.on_rtp(h, 90000, 2000);
  }
  // The transport-wide sequence number under every one-byte id, recorded; the feedback stays bounded.
  TwccRecorder twcc;
  for (int id = 1; id <= 14; ++id) {
    uint16_t seq;
    if (rtp_extension_u16(data, size, id, &seq)) twcc.on_packet(uint16_t(seq + id * 997), 1000 + id * 300);
  }
  for (size_t i = 0; i + 1 < size && i < 64; i += 2) twcc.on_packet(uint16_t(data[i] << 8 | data[i + 1]), 5000 + i);
  for (const auto& fb : twcc.feedback(1, 2))
    if (fb.size() > 20 + 2 * TwccRecorder::kMaxStatusesPerPacket + 2 * 58 + 3 || fb.size() % 4) std::abort();
  rx.on_rtcp(data, size, 3000);
  if (rx.receiver_report(1, 4000).size() > 8 + 24 * RtpReceiver::kMaxSources) std::abort();
  offer_credentials(std::string_view(reinterpret_cast<const char*>(data), size));
  // The same bytes as an ICE-TCP stream (RFC 4571), split in two reads: frames within the bound.
  FrameReader frames(1500);
  auto check = [](uint8_t*, size_t n) {
    if (n == 0 || n > 1500) std::abort();
  };
  if (frames.feed(data, size / 2, check)) frames.feed(data + size / 2, size - size / 2, check);
  if (frames.buffered() > 1502) std::abort();
  return 0;
}
