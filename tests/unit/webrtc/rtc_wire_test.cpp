// Tests the shared WebRTC engine's pure wire layer: STUN (ICE-lite), RTCP feedback, H.264 keyframe
// detection in RTP, the packet ring and the SDP answer.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>

#include "server/protocols/webrtc/engine/packet_ring.h"
#include "server/protocols/webrtc/engine/rtp_wire.h"
#include "server/protocols/webrtc/engine/sdp_answer.h"
#include "server/protocols/webrtc/engine/stun.h"
#include "server/protocols/webrtc/engine/tcp_framing.h"
#include "server/protocols/webrtc/sdp_offer.h"

using namespace estuary::webrtc;
using namespace estuary::webrtc::engine;

namespace {

const uint8_t kTx[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

sockaddr_storage v4(const char* ip, int port) {
  sockaddr_storage ss{};
  auto* a = reinterpret_cast<sockaddr_in*>(&ss);
  a->sin_family = AF_INET;
  a->sin_port = htons(uint16_t(port));
  inet_pton(AF_INET, ip, &a->sin_addr);
  return ss;
}

}  // namespace

TEST(RtcStun, RequestRoundTripsWithIntegrityAndFingerprint) {
  auto req = binding_request(kTx, "srv1:cli1", "serverpassword123456789", true);
  StunRequest parsed;
  ASSERT_TRUE(parse_binding_request(req.data(), req.size(), &parsed));
  EXPECT_EQ(parsed.username, "srv1:cli1");
  EXPECT_EQ(local_ufrag(parsed.username), "srv1");
  EXPECT_TRUE(parsed.use_candidate);
  EXPECT_TRUE(parsed.has_fingerprint);
  EXPECT_TRUE(check_integrity(req.data(), req.size(), parsed, "serverpassword123456789"));
  EXPECT_FALSE(check_integrity(req.data(), req.size(), parsed, "wrongpassword123456789x"));
  EXPECT_EQ(classify_datagram(req.data(), req.size()), PacketKind::stun);

  auto resp = binding_success(parsed, v4("192.0.2.7", 40000), "serverpassword123456789");
  uint8_t tx[12];
  std::string mapped;
  ASSERT_TRUE(parse_binding_success(resp.data(), resp.size(), tx, &mapped));
  EXPECT_EQ(std::memcmp(tx, kTx, 12), 0);
  EXPECT_EQ(mapped, "192.0.2.7:40000");
}

TEST(RtcStun, CorruptedOrTruncatedRequestsAreRefused) {
  auto req = binding_request(kTx, "srv1:cli1", "serverpassword123456789", false);
  StunRequest parsed;
  for (size_t cut = 0; cut < req.size(); ++cut) EXPECT_FALSE(parse_binding_request(req.data(), cut, &parsed)) << cut;
  auto bad = req;
  bad[25] ^= 0x40;  // inside USERNAME: the FINGERPRINT no longer matches
  EXPECT_FALSE(parse_binding_request(bad.data(), bad.size(), &parsed));
  // A valid FINGERPRINT over a forged USERNAME still fails MESSAGE-INTEGRITY.
  auto forged = binding_request(kTx, "srv1:cli1", "attackerpassword1234567", false);
  ASSERT_TRUE(parse_binding_request(forged.data(), forged.size(), &parsed));
  EXPECT_FALSE(check_integrity(forged.data(), forged.size(), parsed, "serverpassword123456789"));
  const uint8_t dtls[] = {22, 0xfe, 0xfd, 0, 0};
  EXPECT_EQ(classify_datagram(dtls, sizeof dtls), PacketKind::dtls);
  const uint8_t rtp[] = {0x80, 96, 0, 1};
  EXPECT_EQ(classify_datagram(rtp, sizeof rtp), PacketKind::rtp_rtcp);
  EXPECT_EQ(classify_datagram(rtp, 0), PacketKind::unknown);
}

TEST(RtcStun, Crc32MatchesKnownValue) {
  const char* s = "123456789";
  EXPECT_EQ(crc32(reinterpret_cast<const uint8_t*>(s), 9), 0xCBF43926u);
}

TEST(RtcRtp, H265KeyframeStartsAreFound) {
  auto pkt = [](std::vector<uint8_t> payload) {
    std::vector<uint8_t> p = {0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
    p.insert(p.end(), payload.begin(), payload.end());
    return p;
  };
  auto vps = pkt({0x40, 0x01});                                   // type 32
  auto idr = pkt({0x26, 0x01});                                   // IDR_W_RADL (19)
  auto cra = pkt({0x2A, 0x01});                                   // CRA (21)
  auto ap_vps = pkt({0x60, 0x01, 0x00, 0x04, 0x40, 0x01, 0, 0});  // AP (48), first unit VPS
  auto fu_idr_start = pkt({0x62, 0x01, 0x93});                    // FU (49), S bit, type 19
  auto fu_idr_middle = pkt({0x62, 0x01, 0x13});
  auto trail = pkt({0x02, 0x01});  // TRAIL_R (1)
  EXPECT_TRUE(h265_keyframe_start(vps.data(), vps.size()));
  EXPECT_TRUE(h265_keyframe_start(idr.data(), idr.size()));
  EXPECT_TRUE(h265_keyframe_start(cra.data(), cra.size()));
  EXPECT_TRUE(h265_keyframe_start(ap_vps.data(), ap_vps.size()));
  EXPECT_TRUE(h265_keyframe_start(fu_idr_start.data(), fu_idr_start.size()));
  EXPECT_FALSE(h265_keyframe_start(fu_idr_middle.data(), fu_idr_middle.size()));
  EXPECT_FALSE(h265_keyframe_start(trail.data(), trail.size()));
  EXPECT_FALSE(h265_keyframe_start(ap_vps.data(), 16));  // AP cut before its first unit
  EXPECT_FALSE(h265_keyframe_start(vps.data(), 13));     // half a payload header
}

TEST(RtcRtp, H264KeyframeStartsAreFound) {
  auto pkt = [](std::vector<uint8_t> payload) {
    std::vector<uint8_t> p = {0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
    p.insert(p.end(), payload.begin(), payload.end());
    return p;
  };
  auto sps = pkt({0x67, 0x42});
  auto stap_sps = pkt({0x78, 0x00, 0x05, 0x67, 0x42, 0, 0, 0});
  auto fu_idr_start = pkt({0x7C, 0x85, 0});
  auto fu_idr_middle = pkt({0x7C, 0x05, 0});
  auto slice = pkt({0x41, 0x9a});
  EXPECT_TRUE(h264_keyframe_start(sps.data(), sps.size()));
  EXPECT_TRUE(h264_keyframe_start(stap_sps.data(), stap_sps.size()));
  EXPECT_TRUE(h264_keyframe_start(fu_idr_start.data(), fu_idr_start.size()));
  EXPECT_FALSE(h264_keyframe_start(fu_idr_middle.data(), fu_idr_middle.size()));
  EXPECT_FALSE(h264_keyframe_start(slice.data(), slice.size()));
  EXPECT_FALSE(h264_keyframe_start(sps.data(), 12));  // header only
  auto ext = pkt({0xBE, 0xDE, 0, 1, 1, 2, 3, 4, 0x67});
  ext[0] |= 0x10;
  EXPECT_EQ(rtp_payload_offset(ext.data(), ext.size()), 20u);
  EXPECT_TRUE(h264_keyframe_start(ext.data(), ext.size()));
  ext[15] = 9;  // extension longer than the packet
  EXPECT_EQ(rtp_payload_offset(ext.data(), ext.size()), 0u);
}

TEST(RtcRtcp, NackPliFirRembAndReportsAreParsed) {
  std::vector<uint8_t> c;
  // RR with one report block: fraction lost 25, cumulative 7.
  std::vector<uint8_t> rr = {0x81, 201, 0, 7, 0, 0, 0, 1, 0, 0, 0, 9, 25, 0, 0, 7,
                             0,    0,   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0};
  // NACK for SSRC 9: PID 100, BLP 0b101 -> 100, 101, 103.
  std::vector<uint8_t> nack = {0x81, 205, 0, 3, 0, 0, 0, 1, 0, 0, 0, 9, 0, 100, 0, 5};
  std::vector<uint8_t> pli = {0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 9};
  std::vector<uint8_t> fir = {0x84, 206, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 11, 1, 0, 0, 0};
  std::vector<uint8_t> remb = {0x8F, 206,          0,    5,    0, 0, 0, 1, 0, 0, 0, 0, 'R', 'E', 'M', 'B',
                               1,    (3 << 2) | 0, 0x01, 0x00, 0, 0, 0, 9};
  for (auto* v : {&rr, &nack, &pli, &fir, &remb}) c.insert(c.end(), v->begin(), v->end());
  RtcpFeedback fb = parse_rtcp(c.data(), c.size());
  EXPECT_FALSE(fb.malformed);
  EXPECT_EQ(fb.packets, 5);
  ASSERT_EQ(fb.nacks.size(), 3u);
  EXPECT_EQ(fb.nacks[0], std::make_pair(9u, uint16_t(100)));
  EXPECT_EQ(fb.nacks[1].second, 101);
  EXPECT_EQ(fb.nacks[2].second, 103);
  ASSERT_EQ(fb.keyframe_requests.size(), 2u);
  EXPECT_EQ(fb.keyframe_requests[1], 11u);
  EXPECT_EQ(fb.remb_bps, 256u << 3);
  EXPECT_EQ(fb.receiver_reports, 1);
  EXPECT_EQ(fb.fraction_lost, 25);
  EXPECT_EQ(fb.lost_total, 7u);
  ASSERT_EQ(fb.reports.size(), 1u);
  EXPECT_EQ(fb.reports[0].ssrc, 9u);
  EXPECT_EQ(fb.reports[0].lost_total, 7u);
  EXPECT_EQ(fb.plis, 1);
  EXPECT_EQ(fb.firs, 1);
  EXPECT_EQ(fb.rembs, 1);
  EXPECT_EQ(fb.twcc, 0);
  EXPECT_TRUE(is_rtcp(c.data(), c.size()));
  // A length past the end is malformed, and nothing beyond it is read.
  auto bad = nack;
  bad[3] = 50;
  EXPECT_TRUE(parse_rtcp(bad.data(), bad.size()).malformed);
  // The NACK bound holds.
  EXPECT_EQ(parse_rtcp(nack.data(), nack.size(), 2).nacks.size(), 2u);
}

// RTT from a report block: now - LSR - DLSR in 1/65536 s; a block answering no SR, or a result that
// is negative or beyond a minute, gives none. Transport-wide CC feedback is counted.
TEST(RtcRtcp, RoundTripFromReportBlockAndTwccCounted) {
  const uint64_t sr_ntp = ntp_from_unix_us(1700000000000000);
  const uint64_t now_ntp = ntp_from_unix_us(1700000000000000 + 250000);  // 250 ms later
  ReportBlock b;
  b.lsr = uint32_t(sr_ntp >> 16);
  b.dlsr = 65536 / 10;  // the peer held it 100 ms
  const int64_t rtt = rtt_us_from_report(b, now_ntp);
  EXPECT_NEAR(double(rtt), 150000, 50);
  b.dlsr = 65536;  // held longer than the time since: negative
  EXPECT_EQ(rtt_us_from_report(b, now_ntp), -1);
  b.lsr = 0;
  EXPECT_EQ(rtt_us_from_report(b, now_ntp), -1);
  std::vector<uint8_t> twcc = {0x8F, 205, 0, 4, 0, 0, 0, 1, 0, 0, 0, 9, 0, 1, 0, 2, 0, 0, 0, 0};
  RtcpFeedback fb = parse_rtcp(twcc.data(), twcc.size());
  EXPECT_FALSE(fb.malformed);
  EXPECT_EQ(fb.twcc, 1);
  EXPECT_TRUE(fb.nacks.empty());
}

TEST(RtcRtcp, SenderReportLayout) {
  auto sr = sender_report(0x01020304, 0x1122334455667788ull, 90000, 10, 1000);
  ASSERT_EQ(sr.size(), 28u);
  EXPECT_EQ(sr[1], 200);
  EXPECT_EQ(sr[4], 1);
  EXPECT_EQ(sr[8], 0x11);
  EXPECT_EQ(ntp_from_unix_us(0) >> 32, 2208988800ull);
}

TEST(RtcRing, KeepsNewestPacketsAndKeyframe) {
  PacketRing ring(16);
  uint8_t p[kMaxRtpPacket] = {};
  for (int i = 0; i < 40; ++i) {
    p[0] = uint8_t(i);
    ASSERT_TRUE(ring.push(p, 100, i == 30, i));
  }
  EXPECT_EQ(ring.head(), 40u);
  EXPECT_FALSE(ring.holds(23));
  EXPECT_TRUE(ring.holds(24));
  EXPECT_FALSE(ring.holds(40));
  EXPECT_EQ(ring.newest_keyframe(), 30u);
  uint8_t out[kMaxRtpPacket];
  bool key = false;
  int64_t at = 0;
  ASSERT_EQ(ring.copy(30, out, &key, &at), 100u);
  EXPECT_EQ(out[0], 30);
  EXPECT_TRUE(key);
  EXPECT_EQ(at, 30);
  EXPECT_EQ(ring.copy(3, out), 0u);
  EXPECT_FALSE(ring.push(p, kMaxRtpPacket + 1, false, 0));
  for (int i = 0; i < 16; ++i) ring.push(p, 10, false, 0);
  EXPECT_EQ(ring.newest_keyframe(), UINT64_MAX);  // overwritten
}

TEST(RtcAnswer, AnswerIsIceLitePassiveBundleOnOnePort) {
  const char* offer =
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\n"
      "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\na=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\n"
      "a=rtpmap:102 H264/90000\r\na=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=recvonly\r\na=rtcp-mux\r\n"
      "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\na=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\n"
      "a=rtpmap:111 opus/48000/2\r\n";
  auto creds = offer_credentials(offer);
  ASSERT_TRUE(creds) << creds.error().message;
  EXPECT_EQ(creds->ufrag, "abcd");
  EXPECT_EQ(creds->fingerprint, "sha-256 AA:BB");
  auto plan = validate_offer(offer, OfferRole::play, StreamTracks{true, true, 66});
  ASSERT_TRUE(plan) << plan.error().message;
  AnswerParams ap;
  ap.ufrag = "srvu";
  ap.pwd = "srvpassword";
  ap.fingerprint = "CC:DD";
  ap.addresses = {"127.0.0.1"};
  ap.port = 8000;
  ap.video_ssrc = 1111;
  ap.audio_ssrc = 2222;
  ap.cname = "x";
  const std::string a = build_answer(*plan, ap);
  for (const char* want :
       {"a=ice-lite", "a=group:BUNDLE 0 1", "a=setup:passive", "a=fingerprint:sha-256 CC:DD", "a=rtpmap:102 H264/90000",
        "profile-level-id=42e01f", "a=rtpmap:111 opus/48000/2", "a=sendonly", "a=ssrc:1111 cname:x",
        "a=candidate:1 1 udp 2130706430 127.0.0.1 8000 typ host", "a=rtcp-fb:102 nack pli"})
    EXPECT_NE(a.find(want), std::string::npos) << want << "\n" << a;
  EXPECT_EQ(a.find("a=recvonly"), std::string::npos);
  EXPECT_EQ(a.find(" tcp "), std::string::npos);  // no tcp_port: no ICE-TCP candidate

  // To a WHIP publisher: receive only, the same payload types and feedback, no SSRCs or msid of ours.
  ap.receive = true;
  const std::string recv = build_answer(*plan, ap);
  for (const char* want : {"a=ice-lite", "a=setup:passive", "a=recvonly", "a=rtcp-fb:102 nack pli", "a=rtcp-mux",
                           "a=rtpmap:111 opus/48000/2"})
    EXPECT_NE(recv.find(want), std::string::npos) << want << "\n" << recv;
  for (const char* absent : {"a=sendonly", "a=ssrc:", "a=msid"})
    EXPECT_EQ(recv.find(absent), std::string::npos) << absent << "\n" << recv;
  ap.receive = false;

  // ICE-TCP (RFC 6544): passive TCP host candidates beside the UDP ones, at a lower priority; with
  // no UDP port, TCP ones only.
  ap.tcp_port = 8000;
  const std::string both = build_answer(*plan, ap);
  EXPECT_NE(both.find("a=candidate:1 1 udp 2130706430 127.0.0.1 8000 typ host"), std::string::npos) << both;
  EXPECT_NE(both.find("a=candidate:2 1 tcp 1518280445 127.0.0.1 8000 typ host tcptype passive"), std::string::npos)
      << both;
  ap.port = 0;
  const std::string tcp_only = build_answer(*plan, ap);
  EXPECT_EQ(tcp_only.find(" udp "), std::string::npos) << tcp_only;
  EXPECT_NE(tcp_only.find(" tcp "), std::string::npos) << tcp_only;

  // WHEP of an H.265 stream to an offer with H265: answered H265 with the offer's parameters.
  std::string hevc_offer = offer;
  hevc_offer.replace(hevc_offer.find("a=rtpmap:102 H264/90000"), 23,
                     "a=rtpmap:102 H264/90000\r\na=rtpmap:104 H265/90000\r\n"
                     "a=fmtp:104 level-id=93;profile-id=1;tier-flag=0;tx-mode=SRST");
  hevc_offer.replace(hevc_offer.find(" 102"), 4, " 102 104");
  StreamTracks hevc{true, true, 0};
  hevc.hevc = true;
  auto hplan = validate_offer(hevc_offer, OfferRole::play, hevc);
  ASSERT_TRUE(hplan) << hplan.error().message << "\n" << hevc_offer;
  const std::string ha = build_answer(*hplan, ap);
  EXPECT_NE(ha.find("m=video 9 UDP/TLS/RTP/SAVPF 104\r\n"), std::string::npos) << ha;
  EXPECT_NE(ha.find("a=rtpmap:104 H265/90000"), std::string::npos) << ha;
  EXPECT_NE(ha.find("a=fmtp:104 level-id=93;profile-id=1;tier-flag=0;tx-mode=SRST"), std::string::npos) << ha;
  EXPECT_NE(ha.find("a=rtcp-fb:104 nack pli"), std::string::npos) << ha;
  EXPECT_EQ(ha.find("H264"), std::string::npos) << ha;

  std::string no_fp = offer;
  for (size_t at; (at = no_fp.find("a=fingerprint")) != std::string::npos;) no_fp.replace(at, 2, "x=");
  EXPECT_FALSE(offer_credentials(no_fp));
  std::string passive = offer;
  for (size_t at; (at = passive.find("actpass")) != std::string::npos;) passive.replace(at, 7, "passive");
  EXPECT_FALSE(offer_credentials(passive));
}

// RFC 4571 framing: frames come out whole however the stream splits them; a frame over the bound or
// of length zero makes the stream bad, and nothing more than one frame is ever buffered.
TEST(RtcTcpFraming, ReassemblesSplitFramesAndRefusesOversized) {
  std::vector<uint8_t> stream;
  const uint8_t a[] = {1, 2, 3}, b[] = {9};
  ASSERT_TRUE(append_frame(stream, a, sizeof a));
  ASSERT_TRUE(append_frame(stream, b, sizeof b));
  EXPECT_EQ(stream.size(), 2u + 3 + 2 + 1);
  EXPECT_FALSE(append_frame(stream, a, 0));
  FrameReader r(1500);
  std::vector<std::vector<uint8_t>> got;
  auto on = [&](uint8_t* f, size_t n) { got.emplace_back(f, f + n); };
  for (uint8_t byte : stream) ASSERT_TRUE(r.feed(&byte, 1, on));  // one byte at a time
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::vector<uint8_t>(a, a + 3));
  EXPECT_EQ(got[1], std::vector<uint8_t>(b, b + 1));
  EXPECT_EQ(r.buffered(), 0u);
  const uint8_t big[] = {0x05, 0xDD};  // 1501 bytes announced
  FrameReader r2(1500);
  EXPECT_FALSE(r2.feed(big, sizeof big, on));
  const uint8_t zero[] = {0, 0, 1};
  FrameReader r3(1500);
  EXPECT_FALSE(r3.feed(zero, sizeof zero, on));
}
