// Owns: tests of the SRT sender against real libsrt sockets on 127.0.0.1: a viewer gets the
// channel header, then the queue from the newest keyframe, in messages of exactly 1316 bytes
// (7 TS packets) even when the channel's packets have other sizes; a closed channel ends the viewer.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "server/protocols/srt/link.h"
#include "server/protocols/srt/sender.h"

namespace estuary::srt {
namespace {

using namespace std::chrono_literals;

// n TS packets whose bytes name their sequence number (sync byte, then the number in the payload).
std::vector<uint8_t> packets(int first, int n) {
  std::vector<uint8_t> out(size_t(n) * 188, 0xff);
  for (int i = 0; i < n; ++i) {
    uint8_t* p = out.data() + size_t(i) * 188;
    p[0] = 0x47;
    p[4] = uint8_t((first + i) >> 8);
    p[5] = uint8_t(first + i);
  }
  return out;
}

int packet_number(const uint8_t* p) { return (p[4] << 8) | p[5]; }

class SrtPair : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(srt_startup(), 0);
    listener = srt_create_socket();
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(srt_bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << srt_getlasterror_str();
    ASSERT_EQ(srt_listen(listener, 4), 0);
    int len = sizeof addr;
    srt_getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
    caller = srt_create_socket();
    int timeout_ms = 3000;
    srt_setsockflag(caller, SRTO_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
    std::thread connector([&] { connected = srt_connect(caller, reinterpret_cast<sockaddr*>(&addr), sizeof addr); });
    sockaddr_storage peer{};
    int plen = sizeof peer;
    SRTSOCKET s = srt_accept(listener, reinterpret_cast<sockaddr*>(&peer), &plen);
    connector.join();
    ASSERT_NE(s, SRT_INVALID_SOCK) << srt_getlasterror_str();
    ASSERT_NE(connected, SRT_ERROR) << srt_getlasterror_str();
    bool no = false;
    srt_setsockflag(s, SRTO_SNDSYN, &no, sizeof no);
    link = std::make_shared<Link>(s, "", "127.0.0.1");
  }
  void TearDown() override {
    link.reset();
    srt_close(caller);
    srt_close(listener);
    srt_cleanup();
  }
  // Messages received until `want` packets arrived or the timeout passed.
  std::vector<std::vector<uint8_t>> receive(size_t want_bytes) {
    std::vector<std::vector<uint8_t>> out;
    size_t got = 0;
    char buf[1500];
    while (got < want_bytes) {
      int n = srt_recvmsg(caller, buf, sizeof buf);
      if (n <= 0) break;
      out.emplace_back(buf, buf + n);
      got += size_t(n);
    }
    return out;
  }
  SRTSOCKET listener = SRT_INVALID_SOCK, caller = SRT_INVALID_SOCK;
  int connected = SRT_ERROR;
  std::shared_ptr<Link> link;
};

TEST_F(SrtPair, HeaderThenKeyframeIn1316ByteMessages) {
  auto channel = fanout::Channel::create("live/x.ts", fanout::ChannelLimits{});
  channel->set_header({fanout::make_payload(packets(9000, 2))});  // "PAT + PMT"
  // Before the newest keyframe: a GOP the viewer must not get.
  channel->push({fanout::make_payload(packets(0, 7)), true, 0});
  channel->push({fanout::make_payload(packets(7, 7)), false, 10});
  // The newest keyframe split at an odd place (as the TS output splits a chunk at a keyframe).
  channel->push({fanout::make_payload(packets(100, 3)), true, 20});
  channel->push({fanout::make_payload(packets(103, 11)), false, 30});

  // More packets in sizes that never fill a message on their own.
  channel->push({fanout::make_payload(packets(114, 5)), false, 40});
  channel->push({fanout::make_payload(packets(119, 2)), false, 50});
  Sender sender;
  sender.start();
  std::atomic<int> closed{-1};
  sender.add(channel, link, "v1", [&](const std::string&, fanout::CloseReason r) { closed = int(r); });

  // 2 header + 3 + 11 + 5 + 2 = 23 packets: three full messages, then the rest once nothing more
  // comes for a moment.
  auto messages = receive(23 * 188);
  ASSERT_EQ(messages.size(), 4u);
  std::vector<int> order;
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    ASSERT_EQ(m.size() % 188, 0u);
    if (i + 1 < messages.size()) {
      EXPECT_EQ(m.size(), ts_message_size) << "message " << i;
    }
    for (size_t off = 0; off < m.size(); off += 188) {
      EXPECT_EQ(m[off], 0x47);
      order.push_back(packet_number(m.data() + off));
    }
  }
  std::vector<int> expected = {9000, 9001};
  for (int n = 100; n < 121; ++n) expected.push_back(n);
  EXPECT_EQ(order, expected);

  // The stream ends: the viewer is told after everything was sent.
  channel->close();
  for (int i = 0; i < 100 && closed == -1; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(closed.load(), int(fanout::CloseReason::ended));
  EXPECT_EQ(sender.viewer_count(), 0u);
  EXPECT_EQ(link->bytes_sent(), 23u * 188);
}

TEST_F(SrtPair, JoinerWithoutKeyframeWaitsForOne) {
  auto channel = fanout::Channel::create("live/y.ts", fanout::ChannelLimits{});
  channel->set_header({fanout::make_payload(packets(9000, 2))});
  channel->push({fanout::make_payload(packets(0, 7)), false, 0});  // no keyframe yet
  Sender sender;
  sender.start();
  sender.add(channel, link, "v1", nullptr);
  std::this_thread::sleep_for(50ms);
  channel->push({fanout::make_payload(packets(7, 7)), false, 10});  // still none: skipped
  channel->push({fanout::make_payload(packets(14, 5)), true, 20});
  auto messages = receive(7 * 188);
  ASSERT_FALSE(messages.empty());
  ASSERT_GE(messages[0].size(), 3u * 188);
  EXPECT_EQ(packet_number(messages[0].data()), 9000);
  EXPECT_EQ(packet_number(messages[0].data() + 2 * 188), 14) << "the first media packet is the keyframe";
  sender.remove("v1");
  for (int i = 0; i < 100 && sender.viewer_count() != 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(sender.viewer_count(), 0u);
}

TEST_F(SrtPair, BrokenPeerClosesTheViewer) {
  auto channel = fanout::Channel::create("live/z.ts", fanout::ChannelLimits{});
  channel->set_header({fanout::make_payload(packets(9000, 2))});
  channel->push({fanout::make_payload(packets(0, 7)), true, 0});
  Sender sender;
  sender.start();
  std::atomic<int> closed{-1};
  sender.add(channel, link, "v1", [&](const std::string&, fanout::CloseReason r) { closed = int(r); });
  receive(9 * 188);
  link->close();  // as the connection does when the peer is gone
  for (int i = 0; i < 200 && closed == -1; ++i) {
    channel->push({fanout::make_payload(packets(7, 7)), false, 10});
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(closed.load(), int(fanout::CloseReason::peer_closed));
}

}  // namespace
}  // namespace estuary::srt
