// Owns: unit tests of the shared engine's UDP batch (engine/udp_batch.h) on real loopback sockets:
// with GSO, consecutive equal-size datagrams to one address (the last may be shorter) become one
// UDP_SEGMENT message and arrive as the same datagrams in order; other addresses and sizes start new
// messages; without GSO every datagram is its own message; a kernel refusal turns GSO off and still
// delivers everything.
#include "server/protocols/webrtc/engine/udp_batch.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

namespace estuary::webrtc::engine {
namespace {

struct Receiver {
  int fd = -1;
  sockaddr_storage addr{};
  socklen_t len = sizeof(sockaddr_in);
  Receiver() {
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(a), sizeof *a);
    socklen_t l = sizeof *a;
    getsockname(fd, reinterpret_cast<sockaddr*>(a), &l);
    timeval tv{0, 300000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Receiver() { close(fd); }
  // Every datagram waiting (up to n), in order.
  std::vector<std::string> read(size_t n) {
    std::vector<std::string> out;
    char buf[2048];
    while (out.size() < n) {
      const ssize_t got = recv(fd, buf, sizeof buf, 0);
      if (got < 0) break;
      out.emplace_back(buf, size_t(got));
    }
    return out;
  }
};

std::string payload(size_t len, int tag) {
  std::string s(len, '\0');
  for (size_t i = 0; i < len; ++i) s[i] = char((tag * 31 + int(i)) & 0xff);
  return s;
}

void put(UdpBatch& b, const Receiver& to, const std::string& data) {
  std::memcpy(b.slot(), data.data(), data.size());
  b.commit(to.addr, to.len, data.size());
}

// Sends to A: 5 x 1200, 300 (the short tail ends the message), 1200; to B: 2 x 1200; returns what each got.
void send_pattern(UdpBatch& batch, Receiver& a, Receiver& b, std::vector<std::string>* want_a,
                  std::vector<std::string>* want_b) {
  for (int i = 0; i < 5; ++i) want_a->push_back(payload(1200, i));
  want_a->push_back(payload(300, 5));
  for (int i = 0; i < 6; ++i) put(batch, a, (*want_a)[size_t(i)]);
  for (int i = 0; i < 2; ++i) {
    want_b->push_back(payload(1200, 10 + i));
    put(batch, b, want_b->back());
  }
  want_a->push_back(payload(1200, 6));
  put(batch, a, want_a->back());
  batch.flush();
}

TEST(UdpBatch, GsoMergesConsecutiveEqualSizeDatagramsToOneAddress) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  Receiver a, b;
  UdpBatch batch(fd, true);
  std::vector<std::string> want_a, want_b;
  send_pattern(batch, a, b, &want_a, &want_b);
  EXPECT_TRUE(batch.gso()) << batch.gso_error();  // Linux >= 4.18 on loopback
  EXPECT_EQ(batch.stats().datagrams, 9u);
  EXPECT_EQ(batch.stats().messages, 3u);      // A's six, B's two, A's last
  EXPECT_EQ(batch.stats().gso_messages, 2u);  // the single one carries no UDP_SEGMENT
  EXPECT_EQ(batch.stats().syscalls, 1u);
  EXPECT_EQ(a.read(want_a.size() + 1), want_a);
  EXPECT_EQ(b.read(want_b.size() + 1), want_b);
  close(fd);
}

TEST(UdpBatch, WithoutGsoEveryDatagramIsItsOwnMessage) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  Receiver a, b;
  UdpBatch batch(fd, false);
  std::vector<std::string> want_a, want_b;
  send_pattern(batch, a, b, &want_a, &want_b);
  EXPECT_EQ(batch.stats().messages, 9u);
  EXPECT_EQ(batch.stats().gso_messages, 0u);
  EXPECT_EQ(a.read(want_a.size() + 1), want_a);
  EXPECT_EQ(b.read(want_b.size() + 1), want_b);
  close(fd);
}

// A socket without UDP checksums (SO_NO_CHECK) cannot be segmented: the kernel answers EINVAL; the
// batch turns GSO off, says why, and sends that message's datagrams one by one (nothing is lost).
TEST(UdpBatch, KernelRefusalTurnsGsoOffAndStillDelivers) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  const int one = 1;
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_NO_CHECK, &one, sizeof one), 0);
  Receiver a, b;
  UdpBatch batch(fd, true);
  std::vector<std::string> want_a, want_b;
  send_pattern(batch, a, b, &want_a, &want_b);
  EXPECT_FALSE(batch.gso());
  EXPECT_NE(batch.gso_error().find("UDP_SEGMENT refused"), std::string::npos) << batch.gso_error();
  EXPECT_EQ(a.read(want_a.size() + 1), want_a);
  EXPECT_EQ(b.read(want_b.size() + 1), want_b);
  // From now on nothing is merged.
  std::vector<std::string> again;
  for (int i = 0; i < 3; ++i) {
    again.push_back(payload(1200, 20 + i));
    put(batch, a, again.back());
  }
  const uint64_t before = batch.stats().messages;
  batch.flush();
  EXPECT_EQ(batch.stats().messages - before, 3u);
  EXPECT_EQ(a.read(4), again);
  close(fd);
}

}  // namespace
}  // namespace estuary::webrtc::engine
