// Owns: end-to-end fan-out scale tests (issue #3): hundreds of RTMP and HTTP-FLV players on one
// stream, a player that stops reading, and a connect/disconnect loop. The real estuary binary on
// 127.0.0.1, driven by the real load tool (build/tools/loadtool/estuary-load) whose "RESULT {json}"
// line carries the measurements asserted here.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <dirent.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.h"

using namespace estuary::e2e;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

void raise_nofile() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

std::string load_tool() { return build_root() + "/tools/loadtool/estuary-load"; }

// 640x360 25 fps H.264 (1 s GOP, ~1.2 Mb/s constant bitrate with a small VBV so that keyframes stay
// small next to the measuring window) + AAC, 20 s, generated once for all tests and looped by the
// load tool's publisher. Returns "" when ffmpeg fails.
const std::string& test_media() {
  static std::string path;
  if (!path.empty() && access(path.c_str(), R_OK) == 0) return path;
  path.clear();
  {
    // Our own directory (not /tmp/estuary-e2e-*), removed when the test program exits.
    static std::string dir;
    char tmpl[] = "/tmp/estuary-scale-media-XXXXXX";
    if (dir.empty() || access(dir.c_str(), W_OK) != 0) {
      const char* d = mkdtemp(tmpl);
      if (!d) return path;
      dir = d;
      std::atexit([] { [[maybe_unused]] int rc = std::system(("rm -rf '" + dir + "'").c_str()); });
    }
    std::string p = dir + "/media.flv";
    auto r = run({"ffmpeg",
                  "-hide_banner",
                  "-loglevel",
                  "error",
                  "-y",
                  "-f",
                  "lavfi",
                  "-i",
                  "testsrc2=size=640x360:rate=25",
                  "-f",
                  "lavfi",
                  "-i",
                  "sine=frequency=440:sample_rate=44100",
                  "-t",
                  "20",
                  "-c:v",
                  "libx264",
                  "-preset",
                  "ultrafast",
                  "-pix_fmt",
                  "yuv420p",
                  "-b:v",
                  "1200k",
                  "-minrate",
                  "1200k",
                  "-maxrate",
                  "1200k",
                  "-bufsize",
                  "200k",
                  "-x264-params",
                  "nal-hrd=cbr",
                  "-g",
                  "25",
                  "-keyint_min",
                  "25",
                  "-sc_threshold",
                  "0",
                  "-c:a",
                  "aac",
                  "-b:a",
                  "64k",
                  "-f",
                  "flv",
                  p},
                 120);
    if (r.exit_code == 0)
      path = p;
    else
      std::fprintf(stderr, "ffmpeg failed (%d): %s\n", r.exit_code, r.err.c_str());
  }
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The load tool's RESULT line, parsed (nullptr when absent). The caller unrefs.
JsonNode* load_result(const std::string& log_path) {
  std::string text = read_file(log_path);
  size_t pos = text.rfind("RESULT ");
  if (pos == std::string::npos) return nullptr;
  size_t eol = text.find('\n', pos);
  return parse_json(text.substr(pos + 7, eol == std::string::npos ? std::string::npos : eol - pos - 7));
}

int64_t get_int(JsonObject* o, const char* member) { return json_object_get_int_member_with_default(o, member, -1); }
double get_double(JsonObject* o, const char* object, const char* member) {
  JsonObject* sub = json_object_get_object_member(o, object);
  return sub ? json_object_get_double_member_with_default(sub, member, -1) : -1;
}
int64_t get_nested_int(JsonObject* o, const char* object, const char* member) {
  JsonObject* sub = json_object_get_object_member(o, object);
  return sub ? json_object_get_int_member_with_default(sub, member, -1) : -1;
}

// VmRSS of pid in kB (-1 when unreadable).
long rss_kb(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

int fd_count(pid_t pid) {
  DIR* d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!d) return -1;
  int n = 0;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n;
}

// Viewer clients (everything but the publisher) in /api/v1/clients; -1 on error.
int viewer_clients(const Server& server, std::vector<std::string>* ids = nullptr) {
  std::vector<std::pair<std::string, std::string>> clients;
  if (api_clients(server, &clients) < 0) return -1;
  int n = 0;
  for (auto& [id, type] : clients) {
    if (type == "fmle-publish") continue;
    ++n;
    if (ids) ids->push_back(id);
  }
  return n;
}

// Sum of a Prometheus counter over all its label sets (-1 when absent).
double metric_sum(const Server& server, const std::string& name) {
  std::string body;
  if (http_request("GET", "http://127.0.0.1:" + std::to_string(server.api_port()) + "/metrics", &body) != 200)
    return -1;
  std::istringstream in(body);
  std::string line;
  double sum = -1;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) != 0) continue;
    char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != '{' && next != ' ') continue;
    size_t sp = line.rfind(' ');
    sum = (sum < 0 ? 0 : sum) + std::atof(line.c_str() + sp + 1);
  }
  return sum;
}

int connect_loopback(int port, int rcvbuf = 0) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(uint16_t(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t w = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (w <= 0) return false;
    off += size_t(w);
  }
  return true;
}

std::string flv_request(const Server& server, const std::string& path) {
  return "GET /" + path + ".flv HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(server.http_port()) +
         "\r\nConnection: close\r\n\r\n";
}

class Scale : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { raise_nofile(); }
  void TearDown() override {
    if (HasFailure() && server) {
      std::string log = server->log();
      if (log.size() > 20000) log = "...\n" + log.substr(log.size() - 20000);
      std::fprintf(stderr, "---- server log (tail) ----\n%s\n", log.c_str());
    }
  }
  void start(std::map<std::string, std::string> env = {}) {
    server = std::make_unique<Server>(std::move(env));
    ASSERT_TRUE(server->start()) << server->log();
  }
  // The load tool in the background; its output goes to DIR/NAME.log.
  Process load(const std::string& name, std::vector<std::string> args) {
    args.insert(args.begin(), load_tool());
    return Process(args, log_path(name));
  }
  std::string log_path(const std::string& name) const { return server->dir() + "/" + name + ".log"; }
  std::string publish_url() const { return server->rtmp_url("live/scale"); }
  std::unique_ptr<Server> server;
};

// Checks one player run: everyone connected and receiving valid FLV from a keyframe on, at equal
// rates (minimum within 2 % of the mean over the same window, measured after all were connected).
void expect_players_ok(JsonObject* r, int players, const std::string& what) {
  ASSERT_NE(r, nullptr) << what << ": no RESULT line";
  EXPECT_EQ(get_int(r, "players"), players) << what;
  EXPECT_EQ(get_int(r, "connected"), players) << what;
  EXPECT_EQ(get_int(r, "receiving"), players) << what;
  EXPECT_EQ(get_int(r, "failed"), 0) << what;
  EXPECT_EQ(get_nested_int(r, "errors", "framing"), 0) << what;
  EXPECT_EQ(get_nested_int(r, "errors", "bad_start"), 0) << what;
  EXPECT_EQ(get_nested_int(r, "errors", "connect"), 0) << what;
  EXPECT_EQ(get_nested_int(r, "errors", "closed_early"), 0) << what;
  EXPECT_GE(json_object_get_double_member_with_default(r, "window_s", 0), 8.0) << what;
  const double mean = get_double(r, "bitrate_kbps", "mean"), min = get_double(r, "bitrate_kbps", "min");
  EXPECT_GT(mean, 500) << what << ": players received less than the stream's bitrate";
  EXPECT_GE(min, 0.98 * mean) << what << ": a player received more than 2 % less than the mean";
}

}  // namespace

// 200 HTTP-FLV and 200 RTMP players on one stream for 10 s (after all are connected): every
// player receives valid FLV from a keyframe on, and all receive the same number of bytes (2 %).
TEST_F(Scale, FourHundredPlayersReceiveValidFlvAtEqualRates) {
  const std::string media = test_media();
  ASSERT_FALSE(media.empty());
  start();
  Process pub = load("publisher", {"--publish", publish_url(), "--file", media, "--loop", "--duration", "40"});
  ASSERT_TRUE(wait_for_stream(*server, "live/scale", 10000)) << read_file(log_path("publisher"));
  std::this_thread::sleep_for(1s);  // a keyframe or two in the channel
  const std::string pid = std::to_string(server->process().pid());
  // 200 connections/s: all are connected after 1 s; 2 s warm-up; 10 s window; 13 s in all.
  std::vector<std::string> common = {"--players", "200",        "--ramp", "200",          "--warmup",
                                     "2",         "--duration", "13",     "--server-pid", pid};
  std::vector<std::string> flv_args = {"--play", server->flv_url("live/scale")};
  std::vector<std::string> rtmp_args = {"--play", publish_url()};
  flv_args.insert(flv_args.end(), common.begin(), common.end());
  rtmp_args.insert(rtmp_args.end(), common.begin(), common.end());
  Process flv = load("flv", flv_args);
  Process rtmp = load("rtmp", rtmp_args);
  EXPECT_EQ(flv.wait(40000), 0) << read_file(log_path("flv"));
  EXPECT_EQ(rtmp.wait(40000), 0) << read_file(log_path("rtmp"));
  EXPECT_TRUE(pub.running()) << read_file(log_path("publisher"));
  std::fprintf(stderr, "---- http-flv ----\n%s---- rtmp ----\n%s", read_file(log_path("flv")).c_str(),
               read_file(log_path("rtmp")).c_str());
  for (const char* name : {"flv", "rtmp"}) {
    JsonNode* root = load_result(log_path(name));
    ASSERT_NE(root, nullptr) << name << ": " << read_file(log_path(name));
    expect_players_ok(json_node_get_object(root), 200, name);
    json_node_unref(root);
  }
}

// A player whose socket receive buffer is full is skipped to the next keyframe, then dropped after
// max_behind_ms; the other players keep the full rate and the server's memory stays bounded.
TEST_F(Scale, StalledPlayerIsSkippedThenDroppedOthersKeepFullRate) {
  const std::string media = test_media();
  ASSERT_FALSE(media.empty());
  constexpr int kMaxBehindMs = 2000;
  start({{"ESTUARY_FANOUT_MAX_BEHIND_MS", std::to_string(kMaxBehindMs)}, {"ESTUARY_FANOUT_MAX_BACKLOG_KB", "256"}});
  const pid_t spid = server->process().pid();
  // Publisher and 4 normal players in one load tool, so the publisher's and the players' bitrates
  // are measured over the same window: players start 2 s after publishing, window from +4 s to 18 s.
  Process normal = load("normal", {"--publish", publish_url(), "--file", media, "--loop", "--play",
                                   server->flv_url("live/scale"), "--players", "4", "--play-delay", "2", "--warmup",
                                   "2", "--duration", "18", "--server-pid", std::to_string(spid)});
  ASSERT_TRUE(wait_for_stream(*server, "live/scale", 10000)) << read_file(log_path("normal"));
  std::this_thread::sleep_for(500ms);
  const long rss_before = rss_kb(spid);
  ASSERT_GT(rss_before, 0);

  // The stalled player: a 4 KB receive buffer, one request, never a read.
  const auto t_connect = Clock::now();
  int slow = connect_loopback(server->http_port(), 4096);
  ASSERT_GE(slow, 0);
  ASSERT_TRUE(send_all(slow, flv_request(*server, "live/scale")));
  std::string slow_id;
  for (auto deadline = Clock::now() + 5s; slow_id.empty() && Clock::now() < deadline;) {
    std::vector<std::string> ids;
    viewer_clients(*server, &ids);
    if (ids.size() == 1)
      slow_id = ids[0];  // before the normal players start
    else
      std::this_thread::sleep_for(50ms);
  }
  ASSERT_FALSE(slow_id.empty()) << "the stalled player never showed up in /api/v1/clients";

  // Time to fill the socket buffers at ~1.3 Mb/s, then max_behind_ms, plus slack for a loaded machine.
  bool gone = false;
  const auto deadline = t_connect + std::chrono::milliseconds(kMaxBehindMs) + 6s;
  while (!gone && Clock::now() < deadline) {
    std::vector<std::string> ids;
    if (viewer_clients(*server, &ids) >= 0) gone = std::find(ids.begin(), ids.end(), slow_id) == ids.end();
    if (!gone) std::this_thread::sleep_for(100ms);
  }
  const double dropped_after_ms = std::chrono::duration<double, std::milli>(Clock::now() - t_connect).count();
  EXPECT_TRUE(gone) << "the stalled player " << slow_id << " was not dropped within " << dropped_after_ms << " ms";
  std::fprintf(stderr, "stalled player %s gone after %.0f ms\n", slow_id.c_str(), dropped_after_ms);
  close(slow);

  // The drop is accounted for: skipped bytes and a dropped viewer in /metrics (while the stream and
  // its output still exist), and the log says why.
  EXPECT_GT(metric_sum(*server, "estuary_output_dropped_bytes_total"), 0);
  EXPECT_GE(metric_sum(*server, "estuary_output_dropped_viewers_total"), 1);
  const std::string log = server->log();
  const size_t skip = log.find("client=" + slow_id + " event=viewer-skip");
  const size_t drop = log.find("client=" + slow_id + " event=viewer-close reason=too_slow");
  EXPECT_NE(skip, std::string::npos) << "the stalled player was never skipped to a keyframe";
  EXPECT_NE(drop, std::string::npos) << "the stalled player was not closed as too_slow";
  EXPECT_LT(skip, drop) << "skip to keyframe must come before the drop";

  EXPECT_EQ(normal.wait(40000), 0) << read_file(log_path("normal"));
  const long rss_after = rss_kb(spid);
  std::fprintf(stderr, "%sserver RSS %ld kB -> %ld kB\n", read_file(log_path("normal")).c_str(), rss_before, rss_after);
  EXPECT_LT(rss_after - rss_before, 30 * 1024) << "server RSS grew by " << (rss_after - rss_before) << " kB";

  JsonNode* root = load_result(log_path("normal"));
  ASSERT_NE(root, nullptr) << read_file(log_path("normal"));
  JsonObject* r = json_node_get_object(root);
  EXPECT_EQ(get_int(r, "receiving"), 4);
  EXPECT_EQ(get_int(r, "failed"), 0);
  EXPECT_EQ(get_nested_int(r, "errors", "framing"), 0);
  EXPECT_EQ(get_nested_int(r, "errors", "bad_start"), 0);
  const double pub_kbps = get_double(r, "publisher", "kbps");
  const double min_kbps = get_double(r, "bitrate_kbps", "min");
  EXPECT_GT(pub_kbps, 500);
  EXPECT_GE(min_kbps, 0.9 * pub_kbps) << "a normal player fell below the publish rate while one was stalled";
  json_node_unref(root);
}

// 1000 HTTP-FLV connects and disconnects (10 rounds of 100 concurrent, half closed with a reset)
// and 200 RTMP plays leave no clients, descriptors or memory behind.
TEST_F(Scale, ConnectDisconnectLoopLeavesNothingBehind) {
  const std::string media = test_media();
  ASSERT_FALSE(media.empty());
  start();
  const pid_t spid = server->process().pid();
  Process pub = load("publisher", {"--publish", publish_url(), "--file", media, "--loop", "--duration", "90"});
  ASSERT_TRUE(wait_for_stream(*server, "live/scale", 10000)) << read_file(log_path("publisher"));
  std::this_thread::sleep_for(1s);

  const std::string request = flv_request(*server, "live/scale");
  // One round: n connections at once, each reads at least min_bytes (or 5 s pass), then closes.
  auto round = [&](int n, size_t min_bytes, bool reset_half) {
    std::vector<int> fds;
    std::vector<size_t> got(size_t(n), 0);
    for (int i = 0; i < n; ++i) {
      int fd = connect_loopback(server->http_port());
      if (fd < 0) continue;
      if (!send_all(fd, request)) {
        close(fd);
        continue;
      }
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
      fds.push_back(fd);
    }
    int satisfied = 0;
    std::vector<bool> done(fds.size(), false);
    char buf[16384];
    for (auto deadline = Clock::now() + 5s; satisfied < int(fds.size()) && Clock::now() < deadline;) {
      std::vector<pollfd> pfds;
      std::vector<size_t> idx;
      for (size_t i = 0; i < fds.size(); ++i)
        if (!done[i]) {
          pfds.push_back({fds[i], POLLIN, 0});
          idx.push_back(i);
        }
      if (poll(pfds.data(), pfds.size(), 100) <= 0) continue;
      for (size_t k = 0; k < pfds.size(); ++k) {
        if (!pfds[k].revents) continue;
        size_t i = idx[k];
        ssize_t r = recv(fds[i], buf, sizeof buf, 0);
        if (r > 0) got[i] += size_t(r);
        if (r == 0 || (r < 0 && errno != EAGAIN) || got[i] >= min_bytes) {
          done[i] = true;
          ++satisfied;
        }
      }
    }
    int enough = 0;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (got[i] >= min_bytes) ++enough;
      if (reset_half && i % 2 == 1) {
        linger lg{1, 0};
        setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      }
      close(fds[i]);
    }
    return enough;
  };

  // Warm up the allocator and the thread pools before taking the baseline.
  round(50, 4096, true);
  std::this_thread::sleep_for(1s);
  for (auto deadline = Clock::now() + 10s; viewer_clients(*server) != 0 && Clock::now() < deadline;)
    std::this_thread::sleep_for(100ms);
  const int fds_before = fd_count(spid);
  const long rss_before = rss_kb(spid);
  ASSERT_GT(fds_before, 0);

  int connections = 0, enough = 0;
  for (int i = 0; i < 10; ++i) {
    enough += round(100, 8192, true);
    connections += 100;
  }
  EXPECT_GE(enough, connections * 99 / 100) << "players that did not get 8 KB of the stream";
  // RTMP: 4 runs of 50 players for 2 s each.
  for (int i = 0; i < 4; ++i) {
    auto r = run(
        {load_tool(), "--play", publish_url(), "--players", "50", "--ramp", "500", "--warmup", "0", "--duration", "2"},
        30);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("\"connected\":50"), std::string::npos) << r.out;
  }

  int viewers = -1, fds_after = -1;
  for (auto deadline = Clock::now() + 10s; Clock::now() < deadline;) {
    viewers = viewer_clients(*server);
    fds_after = fd_count(spid);
    if (viewers == 0 && std::abs(fds_after - fds_before) <= 5) break;
    std::this_thread::sleep_for(200ms);
  }
  const long rss_after = rss_kb(spid);
  std::fprintf(stderr, "fds %d -> %d, RSS %ld kB -> %ld kB\n", fds_before, fds_after, rss_before, rss_after);
  EXPECT_EQ(viewers, 0) << "viewer clients left in /api/v1/clients";
  std::vector<std::pair<std::string, std::string>> all;
  EXPECT_EQ(api_clients(*server, &all), 1) << "only the publisher should remain";
  EXPECT_LE(std::abs(fds_after - fds_before), 5) << "server descriptors: " << fds_before << " -> " << fds_after;
  // libsoup 3.2 keeps ~340 bytes per accepted connection; 5 MB allows for that and allocator noise.
  EXPECT_LT(rss_after - rss_before, 5 * 1024) << "server RSS grew by " << (rss_after - rss_before) << " kB";
  EXPECT_TRUE(pub.running()) << read_file(log_path("publisher"));
}
