// Owns: end-to-end tests of the LL-HLS fast path (outputs/hls/cmaf_fast_path.h): a player's
// kept-alive connection, once its session is admitted, is served by Estuary's own HTTP/1.1 loop —
// blocking playlist reloads and parts on one connection, answers byte-identical in meaning to
// libsoup's (status, type, a playlist with the awaited part), the session's bytes counted in the API;
// anything else on the same connection (an MPD, a malformed head) goes back to libsoup and is
// answered there; a kicked viewer's next request on the connection is refused; an idle connection is
// closed at the keep-alive deadline; with [hls] fast_path = false nothing changes for the player.
// Real binary, a raw keep-alive client over 127.0.0.1.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <string>
#include <thread>

#include "harness.h"

using namespace estuary::e2e;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// One kept-alive HTTP/1.1 connection; answers must carry Content-Length (as both servers' do here).
class KeepAlive {
 public:
  explicit KeepAlive(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~KeepAlive() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  bool send_raw(const std::string& bytes) {
    return fd_ >= 0 && ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == ssize_t(bytes.size());
  }
  // GET path; the status (0: connection closed or no answer within timeout_ms); body and head filled.
  int get(const std::string& path, std::string* body, std::string* head = nullptr, int timeout_ms = 8000) {
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (!cookie_.empty()) req += "Cookie: estuary_hls=" + cookie_ + "\r\n";
    if (!send_raw(req + "\r\n")) return 0;
    return read_answer(body, head, timeout_ms);
  }
  int read_answer(std::string* body, std::string* head_out, int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill(deadline)) return 0;
    const std::string head = buf_.substr(0, end + 4);
    buf_.erase(0, end + 4);
    std::smatch m;
    size_t length = 0;
    if (std::regex_search(head, m, std::regex("[Cc]ontent-[Ll]ength: *(\\d+)"))) length = std::stoul(m[1]);
    if (std::regex_search(head, m, std::regex("estuary_hls=([A-Za-z0-9_-]+)"))) cookie_ = m[1];
    while (buf_.size() < length)
      if (!fill(deadline)) return 0;
    if (body) *body = buf_.substr(0, length);
    buf_.erase(0, length);
    if (head_out) *head_out = head;
    return std::stoi(head.substr(9, 3));
  }
  // Whether the server closed the connection within timeout_ms.
  bool closed_within(int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) > 0) {
        char c[4096];
        const ssize_t n = recv(fd_, c, sizeof c, 0);
        if (n <= 0) return true;
      }
    }
    return false;
  }

 private:
  bool fill(Clock::time_point deadline) {
    const int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, left) <= 0) return false;
    char c[65536];
    const ssize_t n = recv(fd_, c, sizeof c, 0);
    if (n <= 0) return false;
    buf_.append(c, size_t(n));
    return true;
  }
  int fd_ = -1;
  std::string buf_;
  std::string cookie_;
};

// The preload hint of a playlist: (msn, part), or (-1, -1).
std::pair<long, long> hint_of(const std::string& playlist, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(playlist, m, std::regex("PRELOAD-HINT:TYPE=PART,URI=\"" + name + "-(\\d+)\\.(\\d+)\\.m4s\"")))
    return {-1, -1};
  return {std::stol(m[1]), std::stol(m[2])};
}

// The hls-play client's bytes in /api/v1/clients (-1 when there is none).
long long hls_client_bytes(const Server& server, std::string* id) {
  std::string body;
  if (http_request("GET", "http://127.0.0.1:" + std::to_string(server.api_port()) + "/api/v1/clients", &body) != 200)
    return -1;
  std::smatch m;
  if (!std::regex_search(body, m, std::regex("\"id\":\"([^\"]+)\"[^}]*\"type\":\"hls-play\""))) return -1;
  if (id) *id = m[1];
  std::smatch b;
  const std::string rest = body.substr(size_t(m.position(0)));
  if (!std::regex_search(rest, b, std::regex("\"send_bytes\":(\\d+)"))) return 0;
  return std::stoll(b[1]);
}

class CmafFastPath : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && server) std::fprintf(stderr, "---- server log ----\n%s\n", server->log().c_str());
  }
  void start(std::map<std::string, std::string> env = {}) {
    env.emplace("ESTUARY_HLS_TARGET_DURATION_S", "1");
    server = std::make_unique<Server>(std::move(env));
    ASSERT_TRUE(server->start()) << server->log();
    pub = std::make_unique<Process>(
        start_publisher(server->rtmp_url("live/f"), 320, 240, server->dir() + "/pub.log", 60, 25));
    ASSERT_TRUE(wait_for_stream(*server, "live/f", 10000));
  }
  // Follows the stream like an LL-HLS player for `rounds` parts on one connection: each blocking
  // reload returns a playlist listing the awaited part, each part is a fragment.
  void follow(KeepAlive& c, int rounds) {
    std::string body, head;
    int status = 0;
    for (int i = 0; i < 100 && (status = c.get("/live/f.m3u8", &body)) == 200 && hint_of(body, "f").first < 0; ++i)
      std::this_thread::sleep_for(100ms);
    ASSERT_EQ(status, 200) << body;
    for (int i = 0; i < rounds; ++i) {
      const auto [msn, part] = hint_of(body, "f");
      ASSERT_GE(msn, 0) << body;
      const auto t0 = Clock::now();
      ASSERT_EQ(
          c.get("/live/f.m3u8?_HLS_msn=" + std::to_string(msn) + "&_HLS_part=" + std::to_string(part), &body, &head),
          200);
      EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 1.5) << "a part is made every 0.2 s";
      EXPECT_NE(head.find("application/vnd.apple.mpegurl"), std::string::npos) << head;
      const std::string uri = "f-" + std::to_string(msn) + "." + std::to_string(part) + ".m4s";
      const bool listed = body.find("URI=\"" + uri + "\"") != std::string::npos ||
                          body.find("f-" + std::to_string(msn) + ".m4s") != std::string::npos;
      EXPECT_TRUE(listed) << "the playlist lists the awaited part\n" << body;
      std::string fragment;
      const int st = c.get("/live/" + uri, &fragment, &head);
      ASSERT_TRUE(st == 200 || st == 404) << head;  // 404: a hinted part cut short by a keyframe
      if (st == 200) {
        EXPECT_EQ(fragment.substr(4, 4), "moof");
        EXPECT_NE(head.find("video/mp4"), std::string::npos) << head;
      }
    }
  }
  std::unique_ptr<Server> server;
  std::unique_ptr<Process> pub;
};

TEST_F(CmafFastPath, OneConnectionFollowsTheStreamAndOtherRequestsGoBackToLibsoup) {
  start({{"ESTUARY_SERVER_KEEPALIVE_TIMEOUT_MS", "3000"}});
  KeepAlive c(server->http_port());
  ASSERT_TRUE(c.ok());
  follow(c, 15);
  EXPECT_NE(server->log().find("served by the LL-HLS fast path"), std::string::npos) << "the fast path took it";
  std::string id;
  const long long bytes = hls_client_bytes(*server, &id);
  EXPECT_GT(bytes, 15 * 200) << "the session's bytes are counted";

  // An MPD on the same connection: not the fast path's, libsoup answers it on the same connection.
  std::string mpd, head;
  ASSERT_EQ(c.get("/live/f.mpd", &mpd, &head), 200) << head;
  EXPECT_NE(mpd.find("<MPD"), std::string::npos);
  // ...and the connection (back with libsoup) still serves the playlist.
  follow(c, 3);

  // Idle: closed at the keep-alive deadline (3 s here), by whichever side holds it.
  EXPECT_TRUE(c.closed_within(8000)) << "an idle kept-alive connection is closed";

  // A malformed head on a taken connection: libsoup's answer (400), not a hang.
  KeepAlive bad(server->http_port());
  follow(bad, 2);
  ASSERT_TRUE(bad.send_raw("GET /live/f.m3u8 HTTP/1.1\r\nBad Header: x\r\n\r\n"));
  std::string ignored;
  EXPECT_EQ(bad.read_answer(&ignored, &head, 5000), 400) << head;
}

TEST_F(CmafFastPath, KickedViewerIsRefusedOnItsTakenConnection) {
  start();
  KeepAlive c(server->http_port());
  follow(c, 3);
  std::string id;
  ASSERT_GE(hls_client_bytes(*server, &id), 0);
  ASSERT_FALSE(id.empty());
  std::string body;
  ASSERT_EQ(
      http_request("DELETE", "http://127.0.0.1:" + std::to_string(server->api_port()) + "/api/v1/clients/" + id, &body),
      200)
      << body;
  std::string head;
  EXPECT_EQ(c.get("/live/f.m3u8", &body, &head), 403) << head << body;
}

TEST_F(CmafFastPath, OffByConfigLibsoupServesEverything) {
  start({{"ESTUARY_HLS_FAST_PATH", "false"}});
  KeepAlive c(server->http_port());
  follow(c, 5);
  EXPECT_EQ(server->log().find("served by the LL-HLS fast path"), std::string::npos);
}

}  // namespace
