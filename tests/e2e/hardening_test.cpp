// Owns: end-to-end tests of hostile input: MPEG-TS whose PES headers are garbage after a valid
// PAT/PMT (the bytes that made GStreamer 1.22's tsdemux abort the whole server) arriving from an
// SRT publisher, an HTTP-TS pull and a looped file source — each is ended with a clear log line
// while the server and a healthy stream live on; request-smuggling shapes on the HTTP and API
// ports; idle and one-byte-a-second connections to RTMP, HTTP, API and RTSP closed at their
// deadlines (fds back to the baseline) without keeping a viewer out; the per-address cap.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <srt/srt.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "harness.h"

using namespace estuary::e2e;
using namespace std::chrono_literals;

namespace {

std::string fixture(const std::string& name) { return source_root() + "/tests/e2e/fixtures/" + name; }

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Publishes bytes as they are (no remux) over SRT with libsrt, in live-mode messages of 7 TS
// packets, paced, until the server ends the connection; true when the server accepted it.
bool srt_publish_raw(const Server& s, const std::string& stream_id, const std::string& bytes) {
  SRTSOCKET sock = srt_create_socket();
  srt_setsockflag(sock, SRTO_STREAMID, stream_id.data(), int(stream_id.size()));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(uint16_t(s.srt_port()));
  const bool connected = srt_connect(sock, reinterpret_cast<sockaddr*>(&a), sizeof a) != SRT_ERROR;
  // Sending stops when the server ends the publisher (it may do so as soon as the guard gives up, before
  // the last bytes): that is the outcome wanted, not a failure of the connection.
  for (size_t off = 0; connected && off < bytes.size(); off += 1316) {
    if (srt_sendmsg(sock, bytes.data() + off, int(std::min<size_t>(1316, bytes.size() - off)), -1, 1) == SRT_ERROR)
      break;
    std::this_thread::sleep_for(2ms);
  }
  std::this_thread::sleep_for(500ms);
  srt_close(sock);
  return connected;
}

bool wait_for_log(const Server& s, const std::string& text, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 100) {
    if (s.log().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

class Hardening : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { srt_startup(); }
  static void TearDownTestSuite() { srt_cleanup(); }
};

}  // namespace

TEST_F(Hardening, GarbagePesHeadersOverSrtEndThatPublisherOnlyAndTheServerLivesOn) {
  Server server;
  ASSERT_TRUE(server.start()) << server.log();
  Process healthy = start_publisher(server.rtmp_url("live/healthy"), 320, 180, server.dir() + "/ffmpeg.log", 60);
  ASSERT_TRUE(wait_for_stream(server, "live/healthy", 15000)) << server.log();

  const std::string garbage = read_all(fixture("garbage-pes-headers.ts"));
  ASSERT_GT(garbage.size(), 10000u);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(srt_publish_raw(server, "#!::r=live/attack,m=publish", garbage));
  EXPECT_TRUE(wait_for_log(server, "malformed MPEG-TS", 5000)) << server.log();
  ASSERT_TRUE(server.process().running()) << server.log();
  // The attacker's stream is gone, the healthy one still plays.
  auto streams = probe_streams(server.flv_url("live/healthy"));
  bool video = false;
  for (const auto& st : streams) video = video || (st.codec_type == "video" && st.codec_name == "h264");
  EXPECT_TRUE(video) << server.log();
  EXPECT_EQ(api_stream_count(server), 1) << server.log();
}

TEST_F(Hardening, GarbagePesHeadersFromAPulledHttpTsAndALoopedFileEndThoseSourcesOnly) {
  const std::string dir = make_temp_dir();
  const std::string served = dir + "/www";
  ASSERT_EQ(run({"mkdir", "-p", served}, 5).exit_code, 0);
  ASSERT_EQ(run({"cp", fixture("garbage-pes-headers.ts"), served + "/bad.ts"}, 5).exit_code, 0);
  const int web_port = free_tcp_port();
  Process web({"python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", served, std::to_string(web_port)},
              dir + "/web.log");
  const std::string conf = dir + "/estuary.conf";
  std::ofstream(conf) << "[source web]\nstream = pull/web\nretry_min_ms = 500\nurl = http://127.0.0.1:" << web_port
                      << "/bad.ts\n"
                      << "[source file]\nstream = pull/file\nretry_min_ms = 500\nurl = file://" << served
                      << "/bad.ts\n";
  Server server({}, {"--config", conf});
  ASSERT_TRUE(server.start()) << server.log();
  Process healthy = start_publisher(server.rtmp_url("live/healthy"), 320, 180, server.dir() + "/ffmpeg.log", 60);
  ASSERT_TRUE(wait_for_stream(server, "live/healthy", 15000)) << server.log();
  EXPECT_TRUE(wait_for_log(server, "stream=pull/web client=- event=ts-guard", 15000)) << server.log();
  EXPECT_TRUE(wait_for_log(server, "stream=pull/file client=- event=ts-guard", 15000)) << server.log();
  std::this_thread::sleep_for(3s);  // the sources retry: every attempt meets the guard
  ASSERT_TRUE(server.process().running()) << server.log();
  auto streams = probe_streams(server.flv_url("live/healthy"));
  bool video = false;
  for (const auto& st : streams) video = video || (st.codec_type == "video" && st.codec_name == "h264");
  EXPECT_TRUE(video) << server.log();
}

namespace {

// A raw TCP connection to 127.0.0.1:port, optionally from source address `from`; -1 on failure.
int tcp_connect(int port, const char* from = nullptr) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (from) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, from, &src.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      close(fd);
      return -1;
    }
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads until the peer closes or timeout_ms passes; *closed tells which.
std::string read_until_close(int fd, int timeout_ms, bool* closed) {
  std::string got;
  *closed = false;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    const int left =
        int(std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count());
    if (poll(&p, 1, std::max(left, 1)) <= 0) continue;
    char buf[4096];
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      *closed = true;
      break;
    }
    got.append(buf, size_t(n));
  }
  return got;
}

// True when the peer has closed fd (EOF or reset) — without waiting.
bool peer_closed(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 0) <= 0) return false;
  char buf[256];
  const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

int open_fds(pid_t pid) {
  int n = 0;
  if (DIR* d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (readdir(d)) ++n;
    closedir(d);
  }
  return n - 2;  // . and ..
}

void raise_fd_limit() {
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = std::min<rlim_t>(r.rlim_max, 65536);
  setrlimit(RLIMIT_NOFILE, &r);
}

int count_responses(const std::string& bytes) {
  static const std::regex status_line("HTTP/1\\.[01] [0-9]{3} ");
  return int(std::distance(std::sregex_iterator(bytes.begin(), bytes.end(), status_line), std::sregex_iterator()));
}

bool ffprobe_sees_video(const Server& s, const std::string& path) {
  for (const auto& st : probe_streams(s.flv_url(path)))
    if (st.codec_type == "video") return true;
  return false;
}

}  // namespace

TEST_F(Hardening, SmugglingShapesGetOneRefusalAndAClosedConnectionNeverASecondResponse) {
  Server server(std::map<std::string, std::string>{{"ESTUARY_SERVER_HEADER_TIMEOUT_MS", "2000"}});
  ASSERT_TRUE(server.start()) << server.log();
  const std::string smuggled = "GET /api/v1/versions HTTP/1.1\r\nHost: x\r\n\r\n";
  auto request = [&](const std::string& headers, const std::string& body) {
    return "GET /api/v1/versions HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n" + body;
  };
  const std::string chunked_end = "0\r\n\r\n";
  const std::vector<std::pair<std::string, std::string>> shapes = {
      {"CL+TE", request("Content-Length: " + std::to_string(chunked_end.size() + smuggled.size()) +
                            "\r\nTransfer-Encoding: chunked\r\n",
                        chunked_end + smuggled)},
      {"TE+CL", request("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", chunked_end + smuggled)},
      {"two CL", request("Content-Length: 0\r\nContent-Length: 5\r\n", smuggled)},
      {"xchunked", request("Transfer-Encoding: xchunked\r\n", chunked_end + smuggled)},
      {"negative CL", request("Content-Length: -1\r\n", smuggled)},
      {"huge CL", request("Content-Length: 99999999999999999999\r\n", smuggled)},
      {"hex CL", request("Content-Length: 0x5\r\n", smuggled)},
  };
  for (int port : {server.http_port(), server.api_port()}) {
    for (const auto& [name, bytes] : shapes) {
      int fd = tcp_connect(port);
      ASSERT_GE(fd, 0);
      ASSERT_EQ(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), ssize_t(bytes.size()));
      bool closed = false;
      const std::string got = read_until_close(fd, 5000, &closed);
      close(fd);
      EXPECT_TRUE(closed) << name << " on port " << port << ": connection left open";
      EXPECT_LE(count_responses(got), 1) << name << " on port " << port << ": a second response\n" << got;
      if (count_responses(got) == 1) {
        // 400; libsoup itself answers an unknown transfer coding 501 (RFC 9112 6.1) and closes.
        const bool refused =
            got.rfind("HTTP/1.1 400", 0) == 0 || (name == "xchunked" && got.rfind("HTTP/1.1 501", 0) == 0);
        EXPECT_TRUE(refused) << name << " on port " << port << ":\n" << got;
      }
    }
  }
  // An ordinary keep-alive pair of requests still gets both answers.
  int fd = tcp_connect(server.api_port());
  const std::string two = smuggled + smuggled;
  ASSERT_EQ(send(fd, two.data(), two.size(), MSG_NOSIGNAL), ssize_t(two.size()));
  bool closed = false;
  EXPECT_EQ(count_responses(read_until_close(fd, 1500, &closed)), 2);
  close(fd);
}

TEST_F(Hardening, IdleAndSlowConnectionsAreClosedAtTheirDeadlinesAndKeepNoViewerOut) {
  raise_fd_limit();  // the server inherits it: the attack must meet the deadlines, not the fd limit
  Server server({{"ESTUARY_SERVER_HEADER_TIMEOUT_MS", "3000"},
                 {"ESTUARY_SERVER_KEEPALIVE_TIMEOUT_MS", "3000"},
                 {"ESTUARY_RTMP_HANDSHAKE_TIMEOUT_MS", "3000"}});
  ASSERT_TRUE(server.start()) << server.log();
  Process healthy = start_publisher(server.rtmp_url("live/healthy"), 320, 180, server.dir() + "/ffmpeg.log", 90);
  ASSERT_TRUE(wait_for_stream(server, "live/healthy", 15000)) << server.log();
  std::this_thread::sleep_for(1s);
  const int baseline = open_fds(server.process().pid());

  // Per port: 250 that send nothing and 250 that send a request head one byte a second.
  constexpr int kEach = 250;
  const std::vector<std::pair<int, std::string>> ports = {
      {server.http_port(), "GET /live/healthy.flv HTTP/1.1\r\nHost: x\r\n\r\n"},
      {server.api_port(), "GET /api/v1/versions HTTP/1.1\r\nHost: x\r\n\r\n"},
      {server.rtsp_port(), "OPTIONS rtsp://127.0.0.1/live/healthy RTSP/1.0\r\nCSeq: 1\r\n\r\n"},
      {server.rtmp_port(), std::string(1537, '\x03')}};
  struct Attacker {
    int port;
    int fd;
    const std::string* trickle;  // nullptr: idle
    size_t sent = 0;
  };
  std::vector<Attacker> attackers;
  for (const auto& [port, trickle] : ports) {
    for (int i = 0; i < 2 * kEach; ++i) {
      int fd = tcp_connect(port);
      ASSERT_GE(fd, 0) << "connect " << i << " to " << port;
      attackers.push_back({port, fd, i % 2 ? &trickle : nullptr});
    }
  }
  std::this_thread::sleep_for(1s);
  EXPECT_GT(open_fds(server.process().pid()), baseline + 500) << "the attack connections are open";
  // While they are held, a viewer starts and the API answers.
  EXPECT_TRUE(ffprobe_sees_video(server, "live/healthy")) << server.log();
  std::string body;
  EXPECT_EQ(http_request("GET", "http://127.0.0.1:" + std::to_string(server.api_port()) + "/api/v1/versions", &body),
            200);
  // Trickle one byte a second to the slow ones until every attacker has been closed (or 15 s).
  size_t open_left = attackers.size();
  for (int second = 0; second < 15 && open_left > 0; ++second) {
    open_left = 0;
    for (auto& a : attackers) {
      if (a.fd < 0) continue;
      if (peer_closed(a.fd)) {
        close(a.fd);
        a.fd = -1;
        continue;
      }
      ++open_left;
      if (a.trickle && a.sent < a.trickle->size()) {
        send(a.fd, a.trickle->data() + a.sent, 1, MSG_NOSIGNAL);
        ++a.sent;
      }
    }
    std::this_thread::sleep_for(1s);
  }
  std::map<int, int> still_open;  // by port
  for (auto& a : attackers)
    if (a.fd >= 0) {
      ++still_open[a.port];
      close(a.fd);
    }
  for (const auto& [port, n] : still_open)
    ADD_FAILURE() << n << " connections to port " << port << " still open after 15 s";
  std::this_thread::sleep_for(1s);
  EXPECT_LE(open_fds(server.process().pid()), baseline + 10) << "baseline " << baseline;
  std::string healthy_log;
  std::istringstream lines(server.log());
  for (std::string line; std::getline(lines, line);)
    if (line.find("live/healthy") != std::string::npos) healthy_log += line + "\n";
  const std::string all = server.log();
  EXPECT_TRUE(ffprobe_sees_video(server, "live/healthy")) << healthy_log << "\nTAIL:\n"
                                                          << all.substr(all.size() > 3000 ? all.size() - 3000 : 0);
}

// libsoup 3.2 never releases a connection its client closes between requests (CLOSE_WAIT for the
// life of the process: one fd per request from clients that do not reuse connections). Every
// completed request's connection must come back by keepalive_timeout_ms + a second.
TEST_F(Hardening, ConnectionsClosedByTheClientAfterTheirResponseGiveTheirDescriptorsBack) {
  Server server(std::map<std::string, std::string>{{"ESTUARY_SERVER_KEEPALIVE_TIMEOUT_MS", "1500"}});
  ASSERT_TRUE(server.start()) << server.log();
  std::this_thread::sleep_for(500ms);
  const int baseline = open_fds(server.process().pid());
  std::string body;
  const std::string api = "http://127.0.0.1:" + std::to_string(server.api_port());
  const std::string http = "http://127.0.0.1:" + std::to_string(server.http_port());
  for (int i = 0; i < 100; ++i) {  // each on its own connection, closed by the client after the answer
    ASSERT_EQ(http_request("GET", api + "/api/v1/versions", &body), 200);
    EXPECT_EQ(http_request("GET", http + "/console/", &body), 200);
  }
  int now = open_fds(server.process().pid());
  for (int i = 0; i < 40 && now > baseline + 5; ++i) {
    std::this_thread::sleep_for(100ms);
    now = open_fds(server.process().pid());
  }
  EXPECT_LE(now, baseline + 5) << "baseline " << baseline << " after 200 requests: descriptors kept";
}

TEST_F(Hardening, ConnectionsBeyondThePerAddressCapAreRefusedAnotherAddressStillConnects) {
  raise_fd_limit();
  Server server(std::map<std::string, std::string>{{"ESTUARY_SERVER_MAX_CONNECTIONS_PER_IP", "50"},
                                                   {"ESTUARY_SERVER_HEADER_TIMEOUT_MS", "20000"}});
  ASSERT_TRUE(server.start()) << server.log();
  std::vector<int> fds;
  for (int i = 0; i < 1000; ++i) {
    int fd = tcp_connect(server.http_port());
    ASSERT_GE(fd, 0);
    // libsoup starts a connection's first request when it accepts it; one byte makes sure.
    send(fd, "G", 1, MSG_NOSIGNAL);
    fds.push_back(fd);
  }
  std::this_thread::sleep_for(1500ms);
  int refused = 0;
  for (int fd : fds) refused += peer_closed(fd) ? 1 : 0;
  // At most 50 stay open (the harness's own API connection from 127.0.0.1 may hold one of them).
  EXPECT_GE(refused, 1000 - 50) << server.log();
  EXPECT_LE(refused, 1000 - 45) << server.log();
  // Another address (127.0.0.2 is loopback too) is served while 127.0.0.1 is at its cap.
  int other = tcp_connect(server.http_port(), "127.0.0.2");
  ASSERT_GE(other, 0);
  const std::string req = "GET /crossdomain.xml HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  send(other, req.data(), req.size(), MSG_NOSIGNAL);
  bool closed = false;
  const std::string got = read_until_close(other, 5000, &closed);
  EXPECT_EQ(count_responses(got), 1) << got;
  EXPECT_EQ(got.find("HTTP/1.1 503"), std::string::npos) << got;
  close(other);
  // 127.0.0.1 gets its connections back once its own are closed.
  for (int fd : fds) close(fd);
  std::string body;
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    std::this_thread::sleep_for(100ms);
    status = http_request("GET", "http://127.0.0.1:" + std::to_string(server.api_port()) + "/api/v1/versions", &body);
  }
  EXPECT_EQ(status, 200);
  EXPECT_NE(server.log().find("max_connections_per_ip"), std::string::npos);
}

TEST_F(Hardening, AFatalSignalLeavesABacktraceInTheLogAndTheProcessDiesOfIt) {
  Server server;
  ASSERT_TRUE(server.start()) << server.log();
  // What a segmentation fault would raise; sent from outside, the handler cannot tell the difference
  // in what it must do: write the backtrace, then die of the same signal.
  server.process().signal(SIGSEGV);
  const int status = server.process().wait(10000);
  ASSERT_NE(status, -1) << "still running";
  EXPECT_EQ(status, 128 + SIGSEGV) << "died of SIGSEGV";
  const std::string log = server.log();
  EXPECT_NE(log.find("event=crash the server received SIGSEGV"), std::string::npos) << log;
  EXPECT_NE(log.find("event=crash end of backtrace"), std::string::npos) << log;
  // Frames name the binary and, for exported code, the function (the binary links with -rdynamic).
  EXPECT_NE(log.find("estuary("), std::string::npos) << log;
  EXPECT_NE(log.find("main"), std::string::npos) << log;
}

TEST_F(Hardening, VersionPrintsHowTheBinaryWasBuilt) {
  RunResult r = run({build_root() + "/src/server/estuary", "--version"}, 10);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Estuary 0.1.0 (commit "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("build: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sanitizers: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("GStreamer 1."), std::string::npos) << r.out;
}

namespace {

long rss_kb(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// Opens n SRT publisher connections that complete the handshake and never send, then closes them.
int srt_half_open(const Server& s, int n) {
  std::vector<SRTSOCKET> socks;
  int connected = 0;
  for (int i = 0; i < n; ++i) {
    SRTSOCKET sock = srt_create_socket();
    const std::string sid = "#!::r=live/half" + std::to_string(i) + ",m=publish";
    srt_setsockflag(sock, SRTO_STREAMID, sid.data(), int(sid.size()));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(uint16_t(s.srt_port()));
    if (srt_connect(sock, reinterpret_cast<sockaddr*>(&a), sizeof a) != SRT_ERROR) ++connected;
    socks.push_back(sock);
  }
  std::this_thread::sleep_for(2s);
  for (SRTSOCKET sock : socks) srt_close(sock);
  return connected;
}

}  // namespace

TEST_F(Hardening, ThreeHundredHalfOpenSrtSessionsLeaveRssWhereItStarted) {
  Server server;
  ASSERT_TRUE(server.start()) << server.log();
  std::this_thread::sleep_for(2s);
  const long before = rss_kb(server.process().pid());
  ASSERT_GT(before, 0);
  EXPECT_EQ(srt_half_open(server, 300), 300);
  // Sessions end (the peer-idle timeout), then the freed memory is handed back (a few seconds after
  // the last one).
  long after = 0;
  for (int i = 0; i < 30; ++i) {
    std::this_thread::sleep_for(1s);
    after = rss_kb(server.process().pid());
    if (after <= before + 10 * 1024 && api_clients(server) == 0) break;
  }
  EXPECT_LE(after, before + 10 * 1024) << "RSS " << before << " kB -> " << after << " kB";
  EXPECT_EQ(api_clients(server), 0);
}
