// Tests transport-wide congestion control for WHIP publishers: the one-byte header extension parser,
// the transport-cc feedback packet builder against hand-computed bytes (a gap, large and negative
// deltas, a run-length chunk, a delta too large for 16 bits), the recorder's unwrap across a sequence
// wrap, duplicates and old packets, and the SDP offer/answer lines.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/protocols/webrtc/engine/sdp_answer.h"
#include "server/protocols/webrtc/engine/twcc.h"
#include "server/protocols/webrtc/sdp_offer.h"

using namespace estuary::webrtc;
using namespace estuary::webrtc::engine;

namespace {

using Bytes = std::vector<uint8_t>;

// An RTP packet with a one-byte header extension block holding `elements` (already padded to words).
Bytes rtp_with_extension(const Bytes& elements, uint8_t csrcs = 0) {
  Bytes p = {uint8_t(0x90 | csrcs), 102, 0x12, 0x34, 0, 0, 0, 1, 0xAA, 0xBB, 0xCC, 0xDD};
  for (int i = 0; i < csrcs * 4; ++i) p.push_back(uint8_t(i));
  p.push_back(0xBE);
  p.push_back(0xDE);
  p.push_back(0);
  p.push_back(uint8_t(elements.size() / 4));
  p.insert(p.end(), elements.begin(), elements.end());
  p.insert(p.end(), {0x65, 0x88, 0x80});  // payload
  return p;
}

}  // namespace

TEST(Twcc, ReadsTheTransportSequenceNumberFromAOneByteExtension) {
  uint16_t seq = 0;
  // id 1 (1 byte: audio level), padding, id 3 (2 bytes: 0x1234), padding to 8 bytes.
  Bytes pkt = rtp_with_extension({0x10, 0x7F, 0x00, 0x31, 0x12, 0x34, 0x00, 0x00});
  ASSERT_TRUE(rtp_extension_u16(pkt.data(), pkt.size(), 3, &seq));
  EXPECT_EQ(seq, 0x1234);
  EXPECT_FALSE(rtp_extension_u16(pkt.data(), pkt.size(), 1, &seq));  // 1 byte long, not 2
  EXPECT_FALSE(rtp_extension_u16(pkt.data(), pkt.size(), 5, &seq));  // absent
  EXPECT_FALSE(rtp_extension_u16(pkt.data(), pkt.size(), 0, &seq));  // not an id
  Bytes with_csrc = rtp_with_extension({0x31, 0xFF, 0xFE, 0x00}, 2);
  ASSERT_TRUE(rtp_extension_u16(with_csrc.data(), with_csrc.size(), 3, &seq));
  EXPECT_EQ(seq, 0xFFFE);
  // A block whose length runs past the packet, an element running past the block, no X bit.
  Bytes cut = rtp_with_extension({0x31, 0x12, 0x34, 0x00});
  cut[15] = 9;
  EXPECT_FALSE(rtp_extension_u16(cut.data(), cut.size(), 3, &seq));
  Bytes over = rtp_with_extension({0x00, 0x00, 0x00, 0x31});
  EXPECT_FALSE(rtp_extension_u16(over.data(), over.size(), 3, &seq));
  Bytes no_x = rtp_with_extension({0x31, 0x12, 0x34, 0x00});
  no_x[0] &= ~0x10;
  EXPECT_FALSE(rtp_extension_u16(no_x.data(), no_x.size(), 3, &seq));
  // A two-byte header block (0x100x) is not read.
  Bytes two = rtp_with_extension({0x03, 0x02, 0x12, 0x34});
  two[12] = 0x10;
  two[13] = 0x00;
  EXPECT_FALSE(rtp_extension_u16(two.data(), two.size(), 3, &seq));
}

TEST(Twcc, FeedbackWithAGapALargeAndANegativeDelta) {
  // Reference 10 (x 64 ms = 640 ms); arrivals in 250 us ticks: 2564, 2566, lost, 2800, 3200, 3196.
  const std::vector<int64_t> arrivals = {641000, 641500, -1, 700000, 800000, 799000};
  size_t used = 0;
  const Bytes fb = build_twcc_feedback(0x11223344, 0x55667788, 100, 5, arrivals, 400, &used);
  EXPECT_EQ(used, 6u);
  const Bytes want = {0xAF, 0xCD, 0x00, 0x07,                          // V=2 P=1 FMT=15, PT 205, 8 words
                      0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,  // SSRCs
                      0x00, 0x64, 0x00, 0x06,                          // base 100, 6 statuses
                      0x00, 0x00, 0x0A, 0x05,                          // reference 10, feedback count 5
                      0xD4, 0x68,                                      // vector: small small none small large large
                      0x04, 0x02, 0xEA, 0x01, 0x90, 0xFF, 0xFC,        // deltas 4, 2, 234, +400, -4
                      0x00, 0x00, 0x03};                               // padding, its count
  EXPECT_EQ(fb, want);
}

TEST(Twcc, FeedbackUsesARunLengthChunkForALongGap) {
  std::vector<int64_t> arrivals(22, -1);
  arrivals[0] = 128000;         // reference 2, delta 0
  arrivals[21] = 128000 + 750;  // 3 ticks later
  size_t used = 0;
  const Bytes fb = build_twcc_feedback(1, 2, 0xFFF0, 0, arrivals, 400, &used);
  EXPECT_EQ(used, 22u);
  const Bytes want = {0x8F, 0xCD, 0x00, 0x06, 0,    0,    0,    1,    0,    0,    0, 2,
                      0xFF, 0xF0, 0x00, 0x16, 0x00, 0x00, 0x02, 0x00, 0xD0, 0x00,  // vector: small + 6 not received
                      0x00, 0x0E,                                                  // run-length: 14 x not received
                      0xD0, 0x00,   // vector: small (+ padding symbols beyond the count)
                      0x00, 0x03};  // deltas 0, 3; no padding needed
  EXPECT_EQ(fb, want);
}

TEST(Twcc, ADeltaBeyondSixteenBitsStartsTheNextPacket) {
  const std::vector<int64_t> arrivals = {64000, 64000 + 40000 * 250};
  size_t used = 0;
  const Bytes fb = build_twcc_feedback(1, 2, 7, 0, arrivals, 400, &used);
  EXPECT_EQ(used, 1u);
  EXPECT_EQ(fb.size(), 24u);  // 20 + 1 chunk + 1 delta + 1 padding byte
  EXPECT_EQ(fb[15], 1);       // one status
  // The recorder sends the second one in a packet of its own, with its own reference time.
  TwccRecorder r;
  r.on_packet(7, arrivals[0]);
  r.on_packet(8, arrivals[1]);
  const auto out = r.feedback(1, 2);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1][13], 8);    // base sequence
  EXPECT_EQ(out[1][18], 157);  // reference: 10.064 s / 64 ms
  EXPECT_EQ(out[1][19], 1);    // feedback count
}

TEST(Twcc, RecorderUnwrapsAcrossTheSequenceWrapAndDropsDuplicatesAndOldPackets) {
  TwccRecorder r;
  EXPECT_TRUE(r.feedback(1, 2).empty());
  r.on_packet(65534, 64000);
  r.on_packet(65535, 64250);
  r.on_packet(65535, 99999);  // duplicate: keeps its first arrival
  r.on_packet(0, 64500);
  r.on_packet(1, 65000);
  auto out = r.feedback(1, 2);
  ASSERT_EQ(out.size(), 1u);
  const Bytes want = {0xAF, 0xCD, 0x00, 0x06, 0,    0,    0,    1,    0,    0,    0,    2,    0xFF, 0xFE,
                      0x00, 0x04, 0x00, 0x00, 0x01, 0x00, 0xD5, 0x40, 0x00, 0x01, 0x01, 0x02, 0x00, 0x02};
  EXPECT_EQ(out[0], want);
  EXPECT_EQ(r.pending(), 0u);
  r.on_packet(65535, 70000);  // already reported: ignored
  EXPECT_EQ(r.pending(), 0u);
  r.on_packet(3, 66000);  // 2 lost: the next feedback starts at 2
  out = r.feedback(1, 2);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0][12], 0);
  EXPECT_EQ(out[0][13], 2);
  EXPECT_EQ(out[0][15], 2);  // not received, received
  EXPECT_EQ(out[0][19], 1);  // feedback count
}

TEST(Twcc, RecorderStaysBoundedAndSplitsLargeFeedback) {
  TwccRecorder r;
  for (int i = 0; i < 10000; ++i) r.on_packet(uint16_t(i * 2), 1000000 + i * 100);  // every other one lost
  EXPECT_EQ(r.pending(), TwccRecorder::kMaxWindow);
  const auto out = r.feedback(1, 2);
  EXPECT_EQ(out.size(), TwccRecorder::kMaxPacketsPerFeedback);
  for (const Bytes& p : out) {
    EXPECT_LE(p.size(), 1200u);
    EXPECT_EQ(p.size() % 4, 0u);
    EXPECT_EQ(size_t(p[2] << 8 | p[3]), p.size() / 4 - 1);
  }
  EXPECT_GT(r.pending(), 0u);  // the rest waits for the next round
  while (!r.feedback(1, 2).empty()) {
  }
  EXPECT_EQ(r.pending(), 0u);
}

TEST(Twcc, AnswerEchoesTheOffersExtensionIdAndTransportCcForAPublisher) {
  const std::string m =
      "c=IN IP4 0.0.0.0\r\na=rtcp-mux\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n"
      "a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\n";
  const std::string offer =
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 102\r\n" +
      m +
      "a=mid:0\r\na=sendonly\r\n"
      "a=extmap:5 " +
      std::string(kTwccExtensionUri) +
      "\r\n"
      "a=rtpmap:102 H264/90000\r\na=rtcp-fb:102 transport-cc\r\n"
      "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" +
      m +
      "a=mid:1\r\na=sendonly\r\n"
      "a=rtpmap:111 opus/48000/2\r\n";
  auto plan = validate_offer(offer, OfferRole::publish);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->media[0].twcc_ext, 5);
  EXPECT_TRUE(plan->media[0].transport_cc);
  EXPECT_EQ(plan->media[1].twcc_ext, 0);  // audio offered neither
  EXPECT_FALSE(plan->media[1].transport_cc);
  AnswerParams ap;
  ap.ufrag = "u";
  ap.pwd = "p";
  ap.fingerprint = "CC:DD";
  ap.receive = true;
  ap.twcc = true;
  const std::string a = build_answer(*plan, ap);
  EXPECT_NE(a.find("a=extmap:5 " + std::string(kTwccExtensionUri) + "\r\n"), std::string::npos) << a;
  EXPECT_NE(a.find("a=rtcp-fb:102 transport-cc\r\n"), std::string::npos) << a;
  EXPECT_EQ(a.find("a=rtcp-fb:111 transport-cc"), std::string::npos) << a;
  ap.twcc = false;  // [rtc] twcc = false: the answer has neither
  const std::string off = build_answer(*plan, ap);
  EXPECT_EQ(off.find("extmap"), std::string::npos) << off;
  EXPECT_EQ(off.find("transport-cc"), std::string::npos) << off;
  ap.twcc = true;
  ap.receive = false;  // never to a WHEP viewer
  EXPECT_EQ(build_answer(*plan, ap).find("transport-cc"), std::string::npos);
}
