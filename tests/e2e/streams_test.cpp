// Owns: end-to-end tests of many streams per machine (issue #20): HLS/CMAF outputs that start on the
// first HLS request and stop after [hls] linger_s ([hls] always = false, the default), and 100
// concurrent RTMP publishers that are all live in the API and each play over HTTP-FLV from a
// keyframe, with the server's thread count bounded. The real estuary binary on 127.0.0.1, real
// ffmpeg/ffprobe, and the load tool (build/tools/loadtool/estuary-load) as publisher and player.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "harness.h"

using namespace estuary::e2e;
using namespace std::chrono_literals;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string api(const Server& server, const std::string& path) {
  std::string body;
  if (http_request("GET", "http://127.0.0.1:" + std::to_string(server.api_port()) + path, &body) != 200) return "";
  return body;
}

// Output names of app/stream in /api/v1/streams ("" entries when the stream is absent).
std::vector<std::string> stream_outputs(const Server& server, const std::string& app, const std::string& name) {
  std::vector<std::string> out;
  JsonNode* root = parse_json(api(server, "/api/v1/streams?count=1000"));
  if (!root) return out;
  JsonArray* arr = json_object_get_array_member(json_node_get_object(root), "streams");
  for (guint i = 0; arr && i < json_array_get_length(arr); ++i) {
    JsonObject* s = json_array_get_object_element(arr, i);
    if (std::string(json_object_get_string_member_with_default(s, "app", "")) != app ||
        std::string(json_object_get_string_member_with_default(s, "name", "")) != name)
      continue;
    JsonArray* outputs = json_object_has_member(s, "outputs") ? json_object_get_array_member(s, "outputs") : nullptr;
    for (guint j = 0; outputs && j < json_array_get_length(outputs); ++j)
      out.emplace_back(json_array_get_string_element(outputs, j));
  }
  json_node_unref(root);
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Streams of `app` whose publish is active in /api/v1/streams (-1 on error).
int live_streams(const Server& server, const std::string& app) {
  JsonNode* root = parse_json(api(server, "/api/v1/streams?count=1000"));
  if (!root) return -1;
  int n = 0;
  JsonArray* arr = json_object_get_array_member(json_node_get_object(root), "streams");
  for (guint i = 0; arr && i < json_array_get_length(arr); ++i) {
    JsonObject* s = json_array_get_object_element(arr, i);
    JsonObject* pub = json_object_get_object_member(s, "publish");
    if (std::string(json_object_get_string_member_with_default(s, "app", "")) == app && pub &&
        json_object_get_boolean_member_with_default(pub, "active", false))
      ++n;
  }
  json_node_unref(root);
  return n;
}

// Streams of `app` whose /api/v1/streams "memory" reports a GOP cache within its cap.
int streams_with_gop_memory(const Server& server, const std::string& app) {
  JsonNode* root = parse_json(api(server, "/api/v1/streams?count=1000"));
  if (!root) return -1;
  int n = 0;
  JsonArray* arr = json_object_get_array_member(json_node_get_object(root), "streams");
  for (guint i = 0; arr && i < json_array_get_length(arr); ++i) {
    JsonObject* s = json_array_get_object_element(arr, i);
    JsonObject* mem = json_object_has_member(s, "memory") ? json_object_get_object_member(s, "memory") : nullptr;
    if (std::string(json_object_get_string_member_with_default(s, "app", "")) != app || !mem) continue;
    const int64_t gop = json_object_get_int_member_with_default(mem, "gop_cache_bytes", -1);
    if (gop > 0 && gop <= json_object_get_int_member_with_default(mem, "gop_cache_max_bytes", -1)) ++n;
  }
  json_node_unref(root);
  return n;
}

int threads_of(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
  return -1;
}

class Streams : public ::testing::Test {
 public:
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
  std::string m3u8(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server->http_port()) + "/" + path + ".m3u8";
  }
  std::unique_ptr<Server> server;
};

// Runs one on-demand HLS check for an [hls] variant: no HLS output while nobody asks, a playable
// playlist on the first request (held until the first segment), the output gone after linger_s.
void expect_hls_on_demand(Streams& t, const std::string& variant, const std::string& kind) {
  Server& server = *t.server;
  Process pub = start_publisher(server.rtmp_url("live/od"), 640, 360, server.dir() + "/pub.log", 40);
  ASSERT_TRUE(wait_for_stream(server, "live/od", 15000)) << slurp(server.dir() + "/pub.log");
  std::this_thread::sleep_for(1500ms);  // what would have started on publish has started
  EXPECT_FALSE(has(stream_outputs(server, "live", "od"), kind)) << variant << ": HLS output runs without a viewer";
  const auto t0 = std::chrono::steady_clock::now();
  auto streams = probe_streams(t.m3u8("live/od"), 30);
  const double first_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  bool video = false, audio = false;
  for (const auto& s : streams) {
    if (s.codec_type == "video" && s.codec_name == "h264" && s.width == 640 && s.height == 360) video = true;
    if (s.codec_type == "audio" && s.codec_name == "aac") audio = true;
  }
  EXPECT_TRUE(video && audio) << variant << ": the first request did not give a playable playlist";
  std::fprintf(stderr, "%s: first playlist probed in %.1f s\n", variant.c_str(), first_s);
  EXPECT_TRUE(has(stream_outputs(server, "live", "od"), kind)) << variant << ": output not running after a request";
  // linger_s = 2: gone within a few seconds of the last request.
  EXPECT_TRUE(wait_until([&] { return !has(stream_outputs(server, "live", "od"), kind); }, 8000))
      << variant << ": HLS output still running after its linger";
  EXPECT_NE(server.log().find("no viewers"), std::string::npos);
  EXPECT_TRUE(pub.running());
}

}  // namespace

// [hls] always = false (default), variant lowlatency (CMAF) and ts (hlssink2).
TEST_F(Streams, HlsStartsOnFirstRequestAndStopsAfterLinger) {
  start({{"ESTUARY_HLS_LINGER_S", "2"}});
  expect_hls_on_demand(*this, "lowlatency", "cmaf");
  server.reset();
  start({{"ESTUARY_HLS_LINGER_S", "2"}, {"ESTUARY_HLS_VARIANT", "ts"}});
  expect_hls_on_demand(*this, "ts", "hls");
}

// [hls] always = true keeps today's behaviour: the output runs from publish on.
TEST_F(Streams, HlsAlwaysRunsFromPublish) {
  start({{"ESTUARY_HLS_ALWAYS", "true"}});
  Process pub = start_publisher(server->rtmp_url("live/al"), 320, 240, server->dir() + "/pub.log", 20);
  ASSERT_TRUE(wait_for_stream(*server, "live/al", 15000)) << slurp(server->dir() + "/pub.log");
  EXPECT_TRUE(wait_until([&] { return has(stream_outputs(*server, "live", "al"), "cmaf"); }, 5000));
}

namespace {

// 640x360 15 fps H.264 (1 s GOP, ~300 kb/s) + AAC, 10 s, looped by each publisher. "" on failure.
std::string small_media(const std::string& dir) {
  const std::string path = dir + "/small.flv";
  auto r = run({"ffmpeg",
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=640x360:rate=15",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:sample_rate=44100",
                "-t",
                "10",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                "-b:v",
                "300k",
                "-maxrate",
                "300k",
                "-bufsize",
                "300k",
                "-g",
                "15",
                "-keyint_min",
                "15",
                "-sc_threshold",
                "0",
                "-c:a",
                "aac",
                "-b:a",
                "48k",
                "-f",
                "flv",
                path},
               60);
  return r.exit_code == 0 ? path : "";
}

// The load tool's "RESULT {json}" line of a log, parsed (nullptr when absent). The caller unrefs.
JsonNode* load_result(const std::string& log) {
  const std::string text = slurp(log);
  const size_t pos = text.rfind("RESULT ");
  if (pos == std::string::npos) return nullptr;
  const size_t eol = text.find('\n', pos);
  return parse_json(text.substr(pos + 7, eol == std::string::npos ? std::string::npos : eol - pos - 7));
}

int64_t errors_of(JsonObject* r, const char* member) {
  JsonObject* e = json_object_get_object_member(r, "errors");
  return e ? json_object_get_int_member_with_default(e, member, -1) : -1;
}

}  // namespace

// 100 RTMP publishers (the load tool, one process each) at once: all live in the API; one HTTP-FLV
// player per stream receives valid FLV from a keyframe on; the server's threads stay within a bound.
TEST_F(Streams, HundredRtmpPublishersLiveAndPlayableWithBoundedThreads) {
  constexpr int kStreams = 100;
  // Threads per stream above the idle server (measured 2026-12-07: idle 11, 100 publishers 11, with
  // one HTTP-FLV player each 110): none per publisher (the RTMP ingest pushes from the RTMP thread)
  // and, per watched stream, the FLV output's one (its estuarysrc task: Estuary writes H.264 + AAC FLV
  // itself, no queues or flvmux; they made it four before). HLS, off until requested, adds none.
  // kSlack covers GLib/GStreamer pool threads that come and go.
  constexpr int kPublishThreadsPerStream = 0;
  constexpr int kPlayThreadsPerStream = 1;
  constexpr int kSlack = 16;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
    rl.rlim_cur = std::min<rlim_t>(4096, rl.rlim_max);
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  start({{"ESTUARY_SERVER_LOG_LEVEL", "warn"}});
  const std::string media = small_media(server->dir());
  ASSERT_FALSE(media.empty());
  const pid_t pid = server->process().pid();
  const int idle_threads = threads_of(pid);
  const std::string tool = build_root() + "/tools/loadtool/estuary-load";
  std::vector<Process> publishers, players;
  for (int i = 0; i < kStreams; ++i)
    publishers.emplace_back(std::vector<std::string>{tool, "--publish", server->rtmp_url("many/s" + std::to_string(i)),
                                                     "--file", media, "--loop", "--duration", "60"},
                            server->dir() + "/pub" + std::to_string(i) + ".log");
  EXPECT_TRUE(wait_until([&] { return live_streams(*server, "many") == kStreams; }, 40000))
      << live_streams(*server, "many") << " of " << kStreams << " live";
  const int publish_threads = threads_of(pid);
  // Per-stream memory in the API (the bus's GOP cache of a 1 s GOP) and in /metrics.
  EXPECT_EQ(streams_with_gop_memory(*server, "many"), kStreams);
  EXPECT_NE(api(*server, "/metrics").find("estuary_stream_buffered_bytes{app=\"many\""), std::string::npos);
  for (int i = 0; i < kStreams; ++i)
    players.emplace_back(std::vector<std::string>{tool, "--play", server->flv_url("many/s" + std::to_string(i)),
                                                  "--players", "1", "--warmup", "1", "--duration", "7"},
                         server->dir() + "/play" + std::to_string(i) + ".log");
  std::this_thread::sleep_for(3500ms);
  const int play_threads = threads_of(pid);
  int ok = 0;
  std::string first_bad;
  for (int i = 0; i < kStreams; ++i) {
    const std::string log = server->dir() + "/play" + std::to_string(i) + ".log";
    players[size_t(i)].wait(30000);
    JsonNode* root = load_result(log);
    JsonObject* r = root ? json_node_get_object(root) : nullptr;
    const bool good = r && json_object_get_int_member_with_default(r, "connected", -1) == 1 &&
                      json_object_get_int_member_with_default(r, "receiving", -1) == 1 &&
                      errors_of(r, "bad_start") == 0 && errors_of(r, "framing") == 0;
    if (good)
      ++ok;
    else if (first_bad.empty())
      first_bad = "s" + std::to_string(i) + ": " + slurp(log);
    if (root) json_node_unref(root);
  }
  EXPECT_EQ(ok, kStreams) << first_bad;
  EXPECT_EQ(live_streams(*server, "many"), kStreams);
  std::fprintf(stderr, "threads: idle %d, %d publishers %d, with one HTTP-FLV player each %d\n", idle_threads, kStreams,
               publish_threads, play_threads);
  EXPECT_LE(publish_threads - idle_threads, kPublishThreadsPerStream * kStreams + kSlack);
  EXPECT_LE(play_threads - idle_threads, kPlayThreadsPerStream * kStreams + kSlack);
}
