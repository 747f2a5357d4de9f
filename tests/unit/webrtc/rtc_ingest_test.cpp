// Tests the WHIP ingest pipeline of the shared engine without a network: RTP pushed as the engine
// thread does, with a packet missing, makes the jitter buffer ask for it (a NACK for exactly that
// sequence number and SSRC reaches the feedback), and a keyframe request from downstream (the
// session's request_keyframe, or the depayloader after a loss) reaches it as a PLI.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "rtp_fixtures.h"
#include "server/protocols/webrtc/rtc_ingest.h"

using namespace estuary::webrtc;
using namespace std::chrono_literals;

namespace {

// A non-IDR slice as a single NAL unit packet.
std::vector<uint8_t> h264_rtp(uint16_t seq, uint32_t ts, uint32_t ssrc) {
  auto p = estuary::webrtc::fixtures::rtp_packet(96, seq, ts, ssrc, 188, 0x9a);
  p[1] |= 0x80;  // marker
  p[12] = 0x41;
  return p;
}

template <typename F>
bool eventually(F pred, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

}  // namespace

TEST(RtcIngest, LossBecomesNackAndKeyframeRequestsBecomePli) {
  OfferPlan plan;
  MediaPlan m;
  m.kind = "video";
  m.mid = "0";
  m.pt = 96;
  m.encoding = "H264";
  m.clock_rate = 90000;
  plan.media = {m};
  plan.video = 0;
  std::mutex mu;
  std::vector<std::pair<uint32_t, uint16_t>> nacks;
  std::atomic<int> keyframes{0};
  IngestFeedback fb;
  fb.keyframe = [&]() { ++keyframes; };
  fb.resend = [&](uint32_t ssrc, uint16_t seq) {
    std::lock_guard<std::mutex> lock(mu);
    nacks.emplace_back(ssrc, seq);
  };
  auto ingest = EngineIngest::create("unit", plan, "unit/ingest", 1 << 20, 200, fb);
  ASSERT_TRUE(ingest) << ingest.error().message;
  ASSERT_TRUE((*ingest)->start());
  auto push = (*ingest)->input();
  const uint32_t ssrc = 0x5eed;
  uint32_t ts = 1000;
  for (uint16_t seq = 65520; seq != 20; ++seq, ts += 3000) {  // across the wrap; 65530 never arrives
    if (seq != 65530) {
      auto p = h264_rtp(seq, ts, ssrc);
      push(p.data(), p.size(), true);
    }
    std::this_thread::sleep_for(33ms);
  }
  EXPECT_TRUE(eventually(
      [&]() {
        std::lock_guard<std::mutex> lock(mu);
        for (auto [s, q] : nacks)
          if ((s == ssrc || s == 0) && q == 65530) return true;
        return false;
      },
      3000ms));
  const int before = keyframes.load();
  request_keyframe((*ingest)->media());
  EXPECT_TRUE(eventually([&]() { return keyframes.load() > before; }, 2000ms));
  (*ingest)->stop();
}
