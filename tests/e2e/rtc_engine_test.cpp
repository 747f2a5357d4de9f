// End-to-end tests of the shared WebRTC engine ([rtc] engine = shared, issue #21) with the
// single-threaded load client of tools/rtcclient (its own ICE/DTLS/SRTP, no webrtcbin): many WHEP
// sessions on the one UDP port get a keyframe first and gap-free RTP, and leave nothing behind;
// hostile datagrams on the port are ignored while sessions keep playing.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "load_client.h"
#include "server/protocols/webrtc/engine/stun.h"

using namespace estuary::e2e;
using namespace estuary::rtcclient;

namespace {

// The shared engine is the default; the harness gives each server its own UDP port for it.
std::map<std::string, std::string> shared_env() { return {{"ESTUARY_RTC_INTERFACES", "127.0.0.1"}}; }

std::string whep_url(const Server& s, const std::string& stream) {
  return "http://127.0.0.1:" + std::to_string(s.api_port()) + "/rtc/v1/whep/?app=live&stream=" + stream;
}

// Inodes of the sockets in /proc/net/<table> (udp, tcp, ...).
std::set<std::string> socket_inodes(const std::string& table) {
  std::set<std::string> out;
  std::ifstream f("/proc/net/" + table);
  std::string line;
  std::getline(f, line);
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string field;
    for (int i = 0; i < 9 && in >> field; ++i) {
    }
    if (in >> field) out.insert(field);  // the 10th column is the inode
  }
  return out;
}

// The server's open fds other than TCP sockets (idle HTTP keep-alive connections of the API are not
// WebRTC state), and among them its UDP sockets.
struct Fds {
  int non_tcp = 0, udp = 0;
};
Fds open_fds(pid_t pid) {
  Fds out;
  const auto tcp = socket_inodes("tcp"), tcp6 = socket_inodes("tcp6");
  const auto udp = socket_inodes("udp"), udp6 = socket_inodes("udp6");
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    std::error_code lec;
    const std::string target = std::filesystem::read_symlink(it->path(), lec).string();
    std::string inode;
    if (target.rfind("socket:[", 0) == 0) inode = target.substr(8, target.size() - 9);
    if (!inode.empty() && (tcp.count(inode) || tcp6.count(inode))) continue;
    ++out.non_tcp;
    if (!inode.empty() && (udp.count(inode) || udp6.count(inode))) ++out.udp;
  }
  return out;
}

long rss_kb(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// A server on the shared engine with an RTMP publisher of live/<stream> (320x240, 25 fps).
struct EngineServer {
  explicit EngineServer(std::map<std::string, std::string> env = shared_env()) : server(std::move(env)) {}
  Server server;
  Process publisher;
  bool start(const std::string& stream) {
    if (!server.start(30000)) return false;  // generous: a loaded CI machine starts slowly
    publisher = start_publisher(server.rtmp_url("live/" + stream), 320, 240, server.dir() + "/ffmpeg.log", 120, 25);
    return wait_for_stream(server, "live/" + stream, 10000);
  }
};

int rtc_clients(const Server& s) {
  std::vector<std::pair<std::string, std::string>> clients;
  if (api_clients(s, &clients) < 0) return -1;
  int n = 0;
  for (auto& [id, type] : clients) n += type == "rtc-play";
  return n;
}

}  // namespace

// 200 WHEP sessions from one client thread: every one connects, gets a keyframe first and gap-free
// video and audio; after DELETE no client entry remains and the server's fds and memory come back.
TEST(RtcEngine, TwoHundredSessionsKeyframeFirstGapFreeAndNothingLeft) {
  EngineServer setup;
  Server& server = setup.server;
  ASSERT_TRUE(setup.start("load")) << server.log();
  // A first round of 50: the feed and its payloader are up and the allocator has seen sessions, so
  // the baseline after it shows what the round of 200 leaves behind.
  LoadOptions warm{whep_url(server, "load"), 50, 1, 0};
  LoadResult w = run_load(warm);
  ASSERT_EQ(w.connected, 50) << describe(w) << "\n" << server.log();
  ASSERT_TRUE(wait_until([&] { return rtc_clients(server) == 0; }, 5000));
  const pid_t pid = server.process().pid();
  const Fds fds_before = open_fds(pid);
  const long rss_before = rss_kb(pid);

  LoadOptions o{whep_url(server, "load"), 200, 3, 0};
  LoadResult r = run_load(o);
  std::printf("load: %s\n", describe(r).c_str());
  EXPECT_EQ(r.answered, 200) << server.log();
  EXPECT_EQ(r.connected, 200);
  EXPECT_EQ(r.keyframe_first, 200);
  EXPECT_EQ(r.gap_free, 200);
  EXPECT_EQ(r.with_audio, 200);
  EXPECT_GT(r.video_packets_min, 20u);
  EXPECT_EQ(r.deleted, 200);
  EXPECT_TRUE(wait_until([&] { return rtc_clients(server) == 0; }, 5000));
  // The one UDP socket serves them all: no fd per session stays (nor was one made).
  EXPECT_TRUE(wait_until([&] { return open_fds(pid).non_tcp <= fds_before.non_tcp + 2; }, 5000))
      << "fds before " << fds_before.non_tcp << ", after " << open_fds(pid).non_tcp;
  EXPECT_EQ(open_fds(pid).udp, fds_before.udp);
  const long rss_after = rss_kb(pid);
  std::printf("server RSS %ld kB before, %ld kB after 200 sessions\n", rss_before, rss_after);
  EXPECT_LT(rss_after - rss_before, 10 * 1024);
}

// Garbage, STUN with a wrong password, DTLS garbage and an RTCP-looking flood on the one port, from
// another socket while sessions play: they keep playing gap-free; a vanished viewer times out.
TEST(RtcEngine, HostileDatagramsAreIgnoredAndVanishedViewersTimeOut) {
  auto env = shared_env();
  env["ESTUARY_RTC_SESSION_TIMEOUT_MS"] = "3000";
  EngineServer setup(env);
  Server& server = setup.server;
  ASSERT_TRUE(setup.start("hostile")) << server.log();

  std::atomic<bool> stop{false};
  std::atomic<int> sent{0};
  std::thread attacker([&] {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(uint16_t(server.rtc_port()));
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    uint8_t tx[12] = {};
    uint8_t buf[1200];
    while (!stop) {
      for (int kind = 0; kind < 5; ++kind) {
        size_t n = 20 + g_random_int_range(0, 1000);
        for (size_t i = 0; i < n; ++i) buf[i] = uint8_t(g_random_int());
        if (kind == 1) buf[0] = 22;    // DTLS-looking
        if (kind == 2) buf[0] = 0x80;  // RTP/RTCP-looking
        if (kind == 3) {
          buf[0] = 0x81;
          buf[1] = 205;  // an RTCP NACK-looking flood (not SRTCP: refused)
        }
        if (kind == 4) {  // well-formed STUN for a guessed ufrag with the wrong password
          auto req = estuary::webrtc::engine::binding_request(tx, "guess:me", "not-the-password-at-all", true);
          std::memcpy(buf, req.data(), req.size());
          n = req.size();
        }
        sendto(fd, buf, n, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
        ++sent;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    close(fd);
  });
  LoadOptions o{whep_url(server, "hostile"), 5, 4, 0};
  LoadResult r = run_load(o);
  stop = true;
  attacker.join();
  std::printf("under %d hostile datagrams: %s\n", sent.load(), describe(r).c_str());
  EXPECT_GT(sent.load(), 1000);
  EXPECT_EQ(r.connected, 5) << server.log();
  EXPECT_EQ(r.keyframe_first, 5);
  EXPECT_EQ(r.gap_free, 5);
  EXPECT_EQ(r.deleted, 5);

  // A viewer that vanishes without DELETE (the client stops sending consent checks): closed after
  // [rtc] session_timeout_ms.
  LoadOptions gone{whep_url(server, "hostile"), 1, 1, 0};
  gone.vanish = true;
  LoadResult g = run_load(gone);
  EXPECT_EQ(g.connected, 1) << describe(g);
  EXPECT_EQ(rtc_clients(server), 1);
  EXPECT_TRUE(wait_until([&] { return rtc_clients(server) == 0; }, 6000)) << server.log();
  EXPECT_NE(server.log().find("vanished without DELETE"), std::string::npos);
}

// 5 % of the RTP the viewers receive is dropped (in the client, before it is read): the holes are
// reported with NACK and resent from the server's ring, so every viewer ends without a gap.
TEST(RtcEngine, InjectedLossIsRepairedByNack) {
  EngineServer setup;
  Server& server = setup.server;
  ASSERT_TRUE(setup.start("loss")) << server.log();
  LoadOptions o{whep_url(server, "loss"), 4, 4, 0};
  o.loss = 0.05;
  LoadResult r = run_load(o);
  std::printf("5%% loss: %s\n", describe(r).c_str());
  EXPECT_EQ(r.connected, 4) << server.log();
  EXPECT_GT(r.dropped, 20u);
  EXPECT_GE(r.repaired, r.dropped / 2);  // a dropped retransmission is asked for again
  EXPECT_EQ(r.gap_free, 4);
  EXPECT_EQ(r.keyframe_first, 4);
}
