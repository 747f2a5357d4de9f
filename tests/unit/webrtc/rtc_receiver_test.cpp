// Tests the WHIP receive side of the shared engine: RTP header parsing, reception statistics and
// receiver reports, the NACK/PLI we build (read back by the engine's own RTCP parser), and DTLS-SRTP
// in the publisher's direction (the client protects, the server unprotects; tampering is refused).
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <vector>

#include "rtp_fixtures.h"
#include "server/protocols/webrtc/engine/dtls.h"
#include "server/protocols/webrtc/engine/rtp_receiver.h"
#include "server/protocols/webrtc/engine/rtp_wire.h"

using namespace estuary::webrtc::engine;
namespace fixtures = estuary::webrtc::fixtures;

namespace {

std::vector<uint8_t> rtp(uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc, size_t payload = 20) {
  return fixtures::rtp_packet(pt, seq, ts, ssrc, payload, 0x41);
}

uint32_t rd32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

}  // namespace

TEST(RtcReceiver, NackPacksLossesAndParsesBack) {
  const std::vector<uint16_t> lost = {103, 100, 101, 117, 118, 65535, 0, 101};
  auto nack = generic_nack(1, 9, lost);
  ASSERT_GE(nack.size(), 16u);
  EXPECT_EQ(nack[1], 205);
  EXPECT_EQ(nack[0] & 0x1F, 1);
  RtcpFeedback fb = parse_rtcp(nack.data(), nack.size());
  EXPECT_FALSE(fb.malformed);
  std::vector<uint16_t> got;
  for (auto [ssrc, seq] : fb.nacks) {
    EXPECT_EQ(ssrc, 9u);
    got.push_back(seq);
  }
  // Each once (101 twice in the input), across the wrap (65535, 0) too.
  std::vector<uint16_t> want = {100, 101, 103, 117, 118, 65535, 0};
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  // Bounded: one item only.
  auto one = generic_nack(1, 9, {1, 40, 80}, 1);
  EXPECT_EQ(parse_rtcp(one.data(), one.size()).nacks.size(), 1u);
  EXPECT_TRUE(generic_nack(1, 9, {}).empty());

  auto pli = picture_loss(1, 9);
  RtcpFeedback p = parse_rtcp(pli.data(), pli.size());
  ASSERT_EQ(p.keyframe_requests.size(), 1u);
  EXPECT_EQ(p.keyframe_requests[0], 9u);
  EXPECT_EQ(p.plis, 1);
}

TEST(RtcReceiver, StatisticsAndReceiverReport) {
  RtpHeader h;
  auto p = rtp(96, 10, 1000, 0xAABBCCDD);
  ASSERT_TRUE(parse_rtp_header(p.data(), p.size(), &h));
  EXPECT_EQ(h.pt, 96);
  EXPECT_EQ(h.seq, 10);
  EXPECT_EQ(h.ts, 1000u);
  EXPECT_EQ(h.ssrc, 0xAABBCCDDu);
  EXPECT_FALSE(parse_rtp_header(p.data(), 11, &h));
  auto bad = p;
  bad[0] = 0x40;  // version 1
  EXPECT_FALSE(parse_rtp_header(bad.data(), bad.size(), &h));

  RtpReceiver rx;
  int64_t now = 1000000;
  // 65530..65545 across the wrap, 65533 and 2 lost.
  for (uint32_t s = 65530; s <= 65545; ++s) {
    const uint16_t seq = uint16_t(s);
    if (seq == 65533 || seq == 2) continue;
    auto pkt = rtp(96, seq, s * 3000, 7);
    ASSERT_TRUE(parse_rtp_header(pkt.data(), pkt.size(), &h));
    ASSERT_TRUE(rx.on_rtp(h, 90000, now));
    now += 33333;
  }
  EXPECT_EQ(rx.lost(), 2u);
  EXPECT_EQ(rx.ssrc_of_pt(96), 7u);
  EXPECT_EQ(rx.ssrc_of_pt(111), 0u);
  auto rr = rx.receiver_report(42, now);
  RtcpFeedback fb = parse_rtcp(rr.data(), rr.size());
  ASSERT_FALSE(fb.malformed);
  ASSERT_EQ(fb.reports.size(), 1u);
  EXPECT_EQ(fb.reports[0].ssrc, 7u);
  EXPECT_EQ(fb.reports[0].lost_total, 2u);
  EXPECT_EQ(fb.reports[0].fraction_lost, 2 * 256 / 16);
  EXPECT_EQ(rd32(rr.data() + 4), 42u);
  EXPECT_EQ(rd32(rr.data() + 16), 0x10000u + 9);  // one wrap, highest 9
  // Nothing new since: no fractional loss in the next report.
  auto rr2 = rx.receiver_report(42, now);
  EXPECT_EQ(parse_rtcp(rr2.data(), rr2.size()).reports[0].fraction_lost, 0);

  // A sender report from the publisher is echoed as LSR, with DLSR since it came.
  std::vector<uint8_t> sr = {0x80, 200,  0, 6, 0, 0, 0, 7, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
                             0x77, 0x88, 0, 0, 0, 0, 0, 0, 0,    0,    0,    0,    0,    0};
  rx.on_rtcp(sr.data(), sr.size(), now);
  auto rr3 = rx.receiver_report(42, now + 500000);
  ASSERT_EQ(rr3.size(), 32u);
  EXPECT_EQ(rd32(rr3.data() + 24), 0x33445566u);
  EXPECT_EQ(rd32(rr3.data() + 28), 32768u);  // 0.5 s in 1/65536 s

  // The source table is bounded.
  for (uint32_t s = 100; s < 100 + RtpReceiver::kMaxSources - 1; ++s) {
    auto pkt = rtp(111, 1, 0, s);
    ASSERT_TRUE(parse_rtp_header(pkt.data(), pkt.size(), &h));
    EXPECT_TRUE(rx.on_rtp(h, 48000, now));
  }
  auto extra = rtp(111, 1, 0, 999);
  ASSERT_TRUE(parse_rtp_header(extra.data(), extra.size(), &h));
  EXPECT_FALSE(rx.on_rtp(h, 48000, now));
}

// The publisher's direction of DTLS-SRTP: what a client protects the server unprotects (RTP and
// RTCP); a tampered or replayed packet is refused.
TEST(RtcReceiver, SrtpFromClientIsUnprotectedByServer) {
  auto server_ctx = DtlsContext::create(false);
  auto client_ctx = DtlsContext::create(true);
  ASSERT_TRUE(server_ctx && client_ctx);
  std::deque<std::vector<uint8_t>> to_server, to_client;
  DtlsPeer server(*server_ctx, "sha-256 " + (*client_ctx)->fingerprint(),
                  [&](const uint8_t* d, size_t n) { to_client.emplace_back(d, d + n); });
  DtlsPeer client(*client_ctx, "sha-256 " + (*server_ctx)->fingerprint(),
                  [&](const uint8_t* d, size_t n) { to_server.emplace_back(d, d + n); });
  client.start();
  for (int i = 0;
       i < 50 && (server.state() != DtlsPeer::State::connected || client.state() != DtlsPeer::State::connected); ++i) {
    while (!to_server.empty()) {
      auto d = std::move(to_server.front());
      to_server.pop_front();
      server.feed(d.data(), d.size());
    }
    while (!to_client.empty()) {
      auto d = std::move(to_client.front());
      to_client.pop_front();
      client.feed(d.data(), d.size());
    }
  }
  ASSERT_EQ(server.state(), DtlsPeer::State::connected) << server.error();
  ASSERT_EQ(client.state(), DtlsPeer::State::connected) << client.error();

  auto plain = rtp(96, 5, 90000, 1234, 100);
  std::vector<uint8_t> buf(plain.size() + SRTP_MAX_TRAILER_LEN);
  std::copy(plain.begin(), plain.end(), buf.begin());
  int len = int(plain.size());
  ASSERT_TRUE(client.protect_rtp(buf.data(), &len));
  EXPECT_GT(len, int(plain.size()));
  auto tampered = buf;
  tampered[30] ^= 1;
  int tlen = len;
  EXPECT_FALSE(server.unprotect_rtp(tampered.data(), &tlen));
  auto replay = buf;
  int rlen = len;
  ASSERT_TRUE(server.unprotect_rtp(buf.data(), &len));
  EXPECT_EQ(len, int(plain.size()));
  EXPECT_TRUE(std::equal(plain.begin(), plain.end(), buf.begin()));
  EXPECT_FALSE(server.unprotect_rtp(replay.data(), &rlen));  // the same packet again

  // RTCP both ways: the client's SR reaches the server; our NACK reaches the client.
  std::vector<uint8_t> sr = {0x80, 200, 0, 6, 0, 0, 0x04, 0xD2, 1, 2, 3, 4, 5, 6,
                             7,    8,   0, 0, 0, 0, 0,    0,    0, 0, 0, 0, 0, 0};
  std::vector<uint8_t> rbuf(sr.size() + SRTP_MAX_TRAILER_LEN + 4);
  std::copy(sr.begin(), sr.end(), rbuf.begin());
  int rl = int(sr.size());
  ASSERT_TRUE(client.protect_rtcp(rbuf.data(), &rl));
  ASSERT_TRUE(server.unprotect_rtcp(rbuf.data(), &rl));
  EXPECT_EQ(rl, int(sr.size()));
  auto nack = generic_nack(1, 1234, {5, 7});
  std::vector<uint8_t> nbuf(nack.size() + SRTP_MAX_TRAILER_LEN + 4);
  std::copy(nack.begin(), nack.end(), nbuf.begin());
  int nl = int(nack.size());
  ASSERT_TRUE(server.protect_rtcp(nbuf.data(), &nl));
  ASSERT_TRUE(client.unprotect_rtcp(nbuf.data(), &nl));
  EXPECT_EQ(parse_rtcp(nbuf.data(), size_t(nl)).nacks.size(), 2u);
}
