// Owns: end-to-end tests of [play] wait_ms: RTMP, HTTP-FLV, HTTP-TS and RTSP players that arrive before the
// publisher (2 s before, or right after it) start on a keyframe; a wait past wait_ms answers
// not-found; many waiters for a stream that never comes are bounded in count and memory and all
// get their answer. Real binary, real ffmpeg/ffprobe, raw sockets for the crowd.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "harness.h"

using namespace estuary::e2e;
using namespace std::chrono_literals;

namespace {

using Env = std::map<std::string, std::string>;

struct FirstPackets {
  std::string video_codec, audio_codec;
  std::string first_video_flags;  // "K__" for a keyframe
};

// The stream's codecs and the flags of its first video packet (no decoding: what the server sent).
FirstPackets probe_first_packets(const std::string& url, int timeout_s = 20) {
  auto r = run({"ffprobe", "-v", "error", "-rw_timeout", "8000000", "-show_streams", "-show_packets", "-read_intervals",
                "%+#30", "-show_entries", "stream=codec_name,codec_type:packet=codec_type,flags", "-of", "json", url},
               timeout_s);
  FirstPackets out;
  JsonNode* root = parse_json(r.out);
  if (!root) return out;
  JsonObject* obj = json_node_get_object(root);
  if (obj && json_object_has_member(obj, "streams")) {
    JsonArray* arr = json_object_get_array_member(obj, "streams");
    for (guint i = 0; i < json_array_get_length(arr); ++i) {
      JsonObject* s = json_array_get_object_element(arr, i);
      const std::string type = json_object_get_string_member_with_default(s, "codec_type", "");
      const std::string name = json_object_get_string_member_with_default(s, "codec_name", "");
      (type == "video" ? out.video_codec : out.audio_codec) = name;
    }
  }
  if (obj && json_object_has_member(obj, "packets")) {
    JsonArray* arr = json_object_get_array_member(obj, "packets");
    for (guint i = 0; i < json_array_get_length(arr); ++i) {
      JsonObject* p = json_array_get_object_element(arr, i);
      if (std::string(json_object_get_string_member_with_default(p, "codec_type", "")) != "video") continue;
      out.first_video_flags = json_object_get_string_member_with_default(p, "flags", "");
      break;
    }
  }
  json_node_unref(root);
  return out;
}

long rss_kb(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

double metric(const Server& server, const std::string& name) {
  std::string body;
  if (http_request("GET", "http://127.0.0.1:" + std::to_string(server.api_port()) + "/metrics", &body) != 200)
    return -1;
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(name + " ", 0) == 0) return std::atof(line.c_str() + name.size() + 1);
  return -1;
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

void expect_keyframe_start(const FirstPackets& p, const std::string& what) {
  EXPECT_EQ(p.video_codec, "h264") << what;
  EXPECT_EQ(p.audio_codec, "aac") << what;
  ASSERT_FALSE(p.first_video_flags.empty()) << what;
  EXPECT_EQ(p.first_video_flags[0], 'K') << what << ": first video packet flags " << p.first_video_flags;
}

TEST(PlayWait, PlayersBeforeAndRightAfterThePublisherStartOnAKeyframe) {
  Server server(Env{{"ESTUARY_PLAY_WAIT_MS", "12000"}});
  ASSERT_TRUE(server.start());

  // Started 2 s before the publisher (or more).
  FirstPackets early_rtmp, early_flv, early_ts;
  std::thread t1([&] { early_rtmp = probe_first_packets(server.rtmp_url("live/early")); });
  std::thread t2([&] { early_flv = probe_first_packets(server.flv_url("live/early")); });
  std::thread t5([&] {
    early_ts = probe_first_packets("http://127.0.0.1:" + std::to_string(server.http_port()) + "/live/early.ts");
  });
  // RTSP: the DESCRIBE is held until the stream is live, then answered.
  std::vector<ProbeStream> early_rtsp;
  std::thread t6([&] {
    early_rtsp = probe_streams("rtsp://127.0.0.1:" + std::to_string(server.rtsp_port()) + "/live/early", 20);
  });
  std::this_thread::sleep_for(2s);
  // (A loaded machine may take a few seconds to get ffprobe's DESCRIBE in: the publisher waits for it.)
  EXPECT_TRUE(wait_until([&] { return server.log().find("event=rtsp-describe-wait") != std::string::npos; }, 7000))
      << "the RTSP DESCRIBE came first\n"
      << server.log();
  {
    Process pub = start_publisher(server.rtmp_url("live/early"), 320, 240, server.dir() + "/pub1.log", 20);
    t1.join();
    t2.join();
    t5.join();
    t6.join();
  }
  EXPECT_TRUE(has_stream(early_rtsp, "video", "h264")) << "rtsp player started 2 s before the publisher";
  EXPECT_TRUE(has_stream(early_rtsp, "audio", "aac")) << "rtsp player started 2 s before the publisher";
  expect_keyframe_start(early_rtmp, "rtmp player started 2 s before the publisher");
  expect_keyframe_start(early_flv, "http-flv player started 2 s before the publisher");
  expect_keyframe_start(early_ts, "http-ts player started 2 s before the publisher");

  // Started right after the publisher (the stream is accepted but not ready yet, or not even that).
  Process pub = start_publisher(server.rtmp_url("live/late"), 320, 240, server.dir() + "/pub2.log", 20);
  FirstPackets late_rtmp, late_flv;
  std::thread t3([&] { late_rtmp = probe_first_packets(server.rtmp_url("live/late")); });
  std::thread t4([&] { late_flv = probe_first_packets(server.flv_url("live/late")); });
  t3.join();
  t4.join();
  expect_keyframe_start(late_rtmp, "rtmp player started with the publisher");
  expect_keyframe_start(late_flv, "http-flv player started with the publisher");
  const std::string log = server.log();
  EXPECT_GE(count_of(log, "play-wait"), 3u) << log;  // at least the early ones waited
  EXPECT_EQ(count_of(log, "play-wait-timeout"), 0u) << log;
}

TEST(PlayWait, AWaitPastWaitMsAnswersNotFound) {
  Server server(Env{{"ESTUARY_PLAY_WAIT_MS", "1000"}});
  ASSERT_TRUE(server.start());
  const auto t0 = std::chrono::steady_clock::now();
  std::string body;
  EXPECT_EQ(http_request("GET", server.flv_url("live/never"), &body), 404) << body;
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 950ms);
  EXPECT_LT(waited, 4s);
  auto r =
      run({"ffprobe", "-v", "error", "-rw_timeout", "8000000", "-show_streams", server.rtmp_url("live/never")}, 15);
  EXPECT_NE(r.exit_code, 0);
  const auto t2 = std::chrono::steady_clock::now();
  auto rtsp = run({"ffprobe", "-v", "error", "-show_streams",
                   "rtsp://127.0.0.1:" + std::to_string(server.rtsp_port()) + "/live/never"},
                  15);
  EXPECT_NE(rtsp.exit_code, 0);
  EXPECT_NE(rtsp.err.find("404"), std::string::npos) << rtsp.err;
  EXPECT_GE(std::chrono::steady_clock::now() - t2, 950ms) << "the RTSP DESCRIBE waited wait_ms";
  EXPECT_TRUE(wait_until([&] { return count_of(server.log(), "play-wait-timeout") == 3; }, 3000)) << server.log();
  EXPECT_NE(server.log().find("did not go live in time"), std::string::npos) << server.log();
  // HEAD never waits.
  EXPECT_EQ(http_request("HEAD", server.flv_url("live/never"), nullptr), 404);
  // wait_ms = 0: refused at once, as before.
  Server nowait(Env{{"ESTUARY_PLAY_WAIT_MS", "0"}});
  ASSERT_TRUE(nowait.start());
  const auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(http_request("GET", nowait.flv_url("live/never"), &body), 404);
  EXPECT_LT(std::chrono::steady_clock::now() - t1, 900ms);
}

// 2,000 waiting HTTP-FLV viewers of a stream that never comes, 1,800 allowed to wait: the rest are
// refused at once, the waiters cost bounded memory, and every one of them gets an answer.
TEST(PlayWait, ManyWaitersAreBoundedAndAllAnswered) {
  constexpr int kViewers = 2000, kAllowed = 1800;
  // Descriptors for the sockets here and in the server (which inherits the limit).
  rlimit nofile{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &nofile), 0);
  nofile.rlim_cur = std::max<rlim_t>(nofile.rlim_cur, std::min<rlim_t>(nofile.rlim_max, 8192));
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &nofile), 0);
  ASSERT_GE(nofile.rlim_cur, rlim_t(kViewers + 512)) << "the hard descriptor limit is below what this test needs";
  Server server(Env{{"ESTUARY_PLAY_WAIT_MS", "6000"},
                    {"ESTUARY_PLAY_MAX_WAITERS_PER_STREAM", std::to_string(kAllowed)},
                    {"ESTUARY_SERVER_LOG_LEVEL", "warn"}});
  ASSERT_TRUE(server.start());
  const pid_t pid = server.process().pid();
  const long rss_before = rss_kb(pid);
  ASSERT_GT(rss_before, 0);

  std::vector<int> fds;
  const std::string req = "GET /live/never.flv HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  for (int i = 0; i < kViewers; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(uint16_t(server.http_port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(send(fd, req.data(), req.size(), MSG_NOSIGNAL), ssize_t(req.size()));
    fds.push_back(fd);
  }
  EXPECT_TRUE(wait_until([&] { return metric(server, "estuary_play_waiting") == kAllowed; }, 5000))
      << metric(server, "estuary_play_waiting");
  const long rss_waiting = rss_kb(pid);
  // A waiting viewer is a socket, a client record and two closures: far below 64 KiB each.
  EXPECT_LT(rss_waiting - rss_before, kViewers * 64L) << "before " << rss_before << " KiB, waiting " << rss_waiting;

  std::map<int, int> statuses;  // status -> count
  std::vector<std::string> got(fds.size());
  std::vector<bool> done(fds.size(), false);
  size_t answered = 0;
  const auto deadline = std::chrono::steady_clock::now() + 12s;
  while (answered < fds.size() && std::chrono::steady_clock::now() < deadline) {
    std::vector<pollfd> pfds;
    std::vector<size_t> idx;
    for (size_t i = 0; i < fds.size(); ++i)
      if (!done[i]) {
        pfds.push_back({fds[i], POLLIN, 0});
        idx.push_back(i);
      }
    if (poll(pfds.data(), pfds.size(), 200) <= 0) continue;
    for (size_t k = 0; k < pfds.size(); ++k) {
      if (!pfds[k].revents) continue;
      const size_t i = idx[k];
      char buf[512];
      ssize_t n = recv(fds[i], buf, sizeof buf, 0);
      if (n > 0) got[i].append(buf, size_t(n));
      if (n <= 0 || got[i].find("\r\n") != std::string::npos) {
        done[i] = true;
        ++answered;
        const int status = got[i].size() > 12 ? std::atoi(got[i].c_str() + 9) : 0;
        ++statuses[status];
      }
    }
  }
  for (int fd : fds) close(fd);
  EXPECT_EQ(answered, fds.size());
  EXPECT_EQ(statuses[404], kAllowed);
  EXPECT_EQ(statuses[503], kViewers - kAllowed);
  EXPECT_TRUE(wait_until([&] { return metric(server, "estuary_play_waiting") == 0; }, 2000));
  std::string body;
  EXPECT_EQ(http_request("GET", "http://127.0.0.1:" + std::to_string(server.api_port()) + "/api/v1/versions", &body),
            200);
}

}  // namespace
