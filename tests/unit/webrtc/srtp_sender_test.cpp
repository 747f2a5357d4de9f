// SrtpSender (OpenSSL SRTP protect of outgoing RTP) against libsrtp2's unprotect: every packet of a stream that
// wraps its sequence number, with a NACK retransmission of a lost older number after the wrap, decrypts and
// authenticates to the original bytes; a flipped byte does not authenticate.
#include <gtest/gtest.h>
#include <srtp2/srtp.h>

#include <cstring>
#include <vector>

#include "server/protocols/webrtc/engine/srtp_sender.h"

using estuary::webrtc::engine::SrtpSender;

namespace {

std::vector<uint8_t> rtp(uint16_t seq, uint32_t ssrc, size_t payload) {
  std::vector<uint8_t> p(12 + payload + 16);
  p[0] = 0x80;
  p[1] = 102;
  p[2] = uint8_t(seq >> 8);
  p[3] = uint8_t(seq);
  p[7] = uint8_t(seq);  // timestamp
  for (int i = 0; i < 4; ++i) p[8 + i] = uint8_t(ssrc >> (24 - 8 * i));
  for (size_t i = 0; i < payload; ++i) p[12 + i] = uint8_t(i * 7 + seq);
  return p;
}

struct Receiver {
  srtp_t s = nullptr;
  explicit Receiver(uint8_t* master) {
    srtp_init();
    srtp_policy_t policy;
    std::memset(&policy, 0, sizeof policy);
    srtp_crypto_policy_set_rtp_default(&policy.rtp);
    srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
    policy.ssrc.type = ssrc_any_inbound;
    policy.key = master;
    policy.window_size = 1024;
    EXPECT_EQ(srtp_create(&s, &policy), srtp_err_status_ok);
  }
  ~Receiver() { srtp_dealloc(s); }
};

}  // namespace

TEST(SrtpSender, LibsrtpUnprotectsEveryPacketAcrossTheSequenceWrapAndARetransmission) {
  uint8_t master[30];
  for (int i = 0; i < 30; ++i) master[i] = uint8_t(i * 13 + 5);
  SrtpSender tx;
  ASSERT_TRUE(tx.init(master));
  Receiver rx(master);
  const uint32_t ssrc = 0x11223344;
  uint16_t seq = 65500;
  int ok = 0;
  auto send_and_check = [&](uint16_t s, size_t payload) {
    auto p = rtp(s, ssrc, payload);
    const auto plain = std::vector<uint8_t>(p.begin(), p.begin() + 12 + payload);
    int len = int(12 + payload);
    ASSERT_TRUE(tx.protect(p.data(), &len));
    ASSERT_EQ(len, int(12 + payload + 10));
    ASSERT_NE(std::memcmp(p.data() + 12, plain.data() + 12, payload), 0);  // encrypted
    ASSERT_EQ(srtp_unprotect(rx.s, p.data(), &len), srtp_err_status_ok) << "seq " << s;
    ASSERT_EQ(len, int(12 + payload));
    EXPECT_EQ(std::memcmp(p.data(), plain.data(), plain.size()), 0);
    ++ok;
  };
  // Wraps after 36 packets; 65520 is "lost" on the way (protected, not delivered).
  for (int i = 0; i < 100; ++i, ++seq) {
    if (seq != 65520) {
      send_and_check(seq, 200 + size_t(i) * 10);
      continue;
    }
    auto lost = rtp(seq, ssrc, 300);
    int len = 312;
    ASSERT_TRUE(tx.protect(lost.data(), &len));
  }
  send_and_check(65520, 300);  // its NACK retransmission after the wrap: the ROC it was first sent with
  for (int i = 0; i < 10; ++i) send_and_check(seq++, 1100);
  EXPECT_EQ(ok, 110);
  // A changed byte does not authenticate.
  auto p = rtp(seq, ssrc, 500);
  int len = 512;
  ASSERT_TRUE(tx.protect(p.data(), &len));
  p[40] ^= 1;
  EXPECT_NE(srtp_unprotect(rx.s, p.data(), &len), srtp_err_status_ok);
}
