// Owns: end-to-end tests of live pipeline reload (issue #19, part 3) against the real binary: two
// transcodes run for live/x; the ladder's bitrate is changed in pipelines.d and SIGHUP sent. Only
// that transcode is replaced (in place: its rendition stays published by the same client), an
// HTTP-FLV viewer of the rendition (curl) stays connected on one FLV stream and receives the new
// bitrate, and viewers of the source and of the unchanged transcode are untouched. A bad
// pipelines.d is refused (SIGHUP and POST /api/v1/reload) and the old set stays; SRS's
// GET /api/v1/raw?rpc=reload reloads too. With [pipelines] watch, a ConfigMap-style update of
// pipelines.d is applied without a signal.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "harness.h"

using namespace estuary::e2e;
using namespace std::chrono_literals;

namespace {

std::string api(const Server& s, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(s.api_port()) + path;
}

long file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? long(st.st_size) : -1;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(200ms);
  }
  return done();
}

// kbit/s a growing file receives over `seconds`.
double rate_kbps(const std::string& path, int seconds) {
  long before = file_size(path);
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  return double(file_size(path) - before) * 8 / 1000 / seconds;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// "[pipeline NAME]" transcode of live/* into {name}_SUFFIX at the given size and bitrate.
std::string transcode_conf(const std::string& name, const std::string& suffix, int width, int height, int kbps) {
  return "[pipeline " + name +
         "]\nmatch=live/*\ntrigger=publish\noutput=transcode\n"
         "launch=estuarysrc name=src stream={name} estuarysink name=out stream={name}_" +
         suffix +
         "\n"
         "video=src.video ! queue ! h264parse ! @h264dec ! @scale width=" +
         std::to_string(width) + " height=" + std::to_string(height) + " ! @h264enc bitrate=" + std::to_string(kbps) +
         " gop=15 tune=latency preset=fastest ! h264parse ! out.\n"
         "audio=src.audio ! queue ! aacparse ! out.\n";
}

// Client id of the publisher of the stream named `stream`, from /api/v1/clients ("name").
std::string publisher_of(const Server& s, const std::string& stream) {
  std::string body;
  if (http_request("GET", api(s, "/api/v1/clients?count=100"), &body) != 200) return "";
  JsonNode* root = parse_json(body);
  if (!root) return "";
  std::string id;
  JsonArray* arr = json_object_get_array_member(json_node_get_object(root), "clients");
  for (guint i = 0; arr && i < json_array_get_length(arr); ++i) {
    JsonObject* o = json_array_get_object_element(arr, i);
    if (json_object_get_boolean_member_with_default(o, "publish", false) &&
        std::string(json_object_get_string_member_with_default(o, "name", "")) == stream)
      id = json_object_get_string_member_with_default(o, "id", "");
  }
  json_node_unref(root);
  return id;
}

TEST(PipelineReload, ChangedTranscodeIsReplacedViewersStayOthersUntouched) {
  const std::string dir = make_temp_dir() + "/pipelines.d";
  ASSERT_EQ(run({"mkdir", "-p", dir}, 5).exit_code, 0);
  std::ofstream(dir + "/ladder.conf") << transcode_conf("ladder", "low", 320, 240, 120);
  std::ofstream(dir + "/mini.conf") << transcode_conf("mini", "mini", 160, 120, 100);
  Server server({}, {"--pipelines", dir});
  ASSERT_TRUE(server.start()) << server.log();
  Process source = start_publisher(server.rtmp_url("live/x"), 320, 240, server.dir() + "/ffmpeg.log", 90, 25);
  ASSERT_TRUE(wait_for_stream(server, "live/x_low", 20000)) << server.log();
  ASSERT_TRUE(wait_for_stream(server, "live/x_mini", 20000)) << server.log();
  const std::string low_publisher = publisher_of(server, "x_low");
  const std::string mini_publisher = publisher_of(server, "x_mini");
  ASSERT_FALSE(low_publisher.empty());
  ASSERT_FALSE(mini_publisher.empty());

  // Three HTTP-FLV viewers: the rendition to change, the source, the unchanged rendition.
  const std::string low_file = server.dir() + "/low.flv", src_file = server.dir() + "/src.flv",
                    mini_file = server.dir() + "/mini.flv";
  Process low_viewer({"curl", "-s", "-N", "-o", low_file, server.flv_url("live/x_low")});
  Process src_viewer({"curl", "-s", "-N", "-o", src_file, server.flv_url("live/x")});
  Process mini_viewer({"curl", "-s", "-N", "-o", mini_file, server.flv_url("live/x_mini")});
  ASSERT_TRUE(
      wait_until([&] { return file_size(low_file) > 0 && file_size(src_file) > 0 && file_size(mini_file) > 0; }, 10s));
  std::this_thread::sleep_for(3s);
  const double before = rate_kbps(low_file, 6);
  EXPECT_LT(before, 400) << "the 120 kbit/s rendition";

  // Change the ladder's bitrate only, and reload.
  const size_t log_mark = server.log().size();
  std::ofstream(dir + "/ladder.conf") << transcode_conf("ladder", "low", 320, 240, 1500);
  server.process().signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return server.log().find("transcode-reload", log_mark) != std::string::npos; }, 10s))
      << server.log().substr(log_mark);
  std::this_thread::sleep_for(3s);
  const double after = rate_kbps(low_file, 6);
  std::printf("rendition viewer: %.0f kbit/s before the reload, %.0f kbit/s after\n", before, after);
  EXPECT_GT(after, 3 * before) << "before " << before << " kbit/s, after " << after << " kbit/s\n"
                               << server.log().substr(log_mark);

  const std::string since = server.log().substr(log_mark);
  EXPECT_NE(since.find("changed=ladder added=- removed=-"), std::string::npos) << since;
  EXPECT_NE(since.find("pipeline ladder: replaced in place, viewers kept"), std::string::npos) << since;
  EXPECT_EQ(count(since, "pipeline-reload"), 1u) << since;  // the mini transcode is not touched
  EXPECT_EQ(since.find("output-stop"), std::string::npos) << since;
  EXPECT_EQ(since.find("unpublish"), std::string::npos) << since;
  // The renditions are still published by the same clients; every viewer is still connected.
  EXPECT_EQ(publisher_of(server, "x_low"), low_publisher);
  EXPECT_EQ(publisher_of(server, "x_mini"), mini_publisher);
  EXPECT_TRUE(low_viewer.running());
  EXPECT_TRUE(src_viewer.running());
  EXPECT_TRUE(mini_viewer.running());
  // One FLV stream per viewer: the rendition's viewer was not sent a new header.
  EXPECT_EQ(count(read_file(low_file), std::string("FLV\x01", 4)), 1u);
  const long src_size = file_size(src_file), mini_size = file_size(mini_file);
  std::this_thread::sleep_for(2s);
  EXPECT_GT(file_size(src_file), src_size);
  EXPECT_GT(file_size(mini_file), mini_size);

  // A bad file is refused (SIGHUP and POST /api/v1/reload); the running set stays.
  const size_t bad_mark = server.log().size();
  std::ofstream(dir + "/broken.conf") << "[pipeline broken]\nlaunch=nosuchelement ! fakesink\n";
  server.process().signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return server.log().find("rejected", bad_mark) != std::string::npos; }, 10s));
  std::string body;
  EXPECT_EQ(http_request("POST", api(server, "/api/v1/reload"), &body), 400) << body;
  EXPECT_NE(body.find("\"code\":1"), std::string::npos) << body;
  EXPECT_NE(body.find("nosuchelement"), std::string::npos) << body;
  EXPECT_EQ(server.log().find("pipeline-reload", bad_mark), std::string::npos);
  EXPECT_GT(rate_kbps(low_file, 3), 3 * before);  // still the new ladder
  // Fixed again: SRS's raw?rpc=reload applies it (nothing changed: nothing restarts).
  ASSERT_EQ(run({"rm", dir + "/broken.conf"}, 5).exit_code, 0);
  const size_t ok_mark = server.log().size();
  EXPECT_EQ(http_request("GET", api(server, "/api/v1/raw?rpc=reload"), &body), 200) << body;
  EXPECT_NE(body.find("\"code\":0"), std::string::npos) << body;
  EXPECT_EQ(http_request("POST", api(server, "/api/v1/reload"), &body), 200) << body;
  EXPECT_EQ(server.log().find("pipeline-reload", ok_mark), std::string::npos) << server.log().substr(ok_mark);
  EXPECT_EQ(http_request("GET", api(server, "/api/v1/raw?rpc=nope"), &body), 400) << body;
  EXPECT_NE(body.find("only rpc=reload"), std::string::npos) << body;
  EXPECT_TRUE(low_viewer.running());
}

// [pipelines] watch: a pipelines.d laid out like a Kubernetes ConfigMap volume (files are symlinks
// through ..data to a timestamped directory) is updated the way the kubelet does it — a new
// directory, a new ..data symlink renamed over the old one, then the new key's symlink — and the
// server reloads by itself: the added transcode starts for the running stream, the other is kept.
TEST(PipelineReload, WatchedConfigMapUpdateIsAppliedWithoutASignal) {
  const std::string dir = make_temp_dir() + "/pipelines.d";
  ASSERT_EQ(run({"mkdir", "-p", dir + "/..v1", dir + "/..v2"}, 5).exit_code, 0);
  std::ofstream(dir + "/..v1/ladder.conf") << transcode_conf("ladder", "low", 320, 240, 120);
  ASSERT_EQ(run({"ln", "-s", "..v1", dir + "/..data"}, 5).exit_code, 0);
  ASSERT_EQ(run({"ln", "-s", "..data/ladder.conf", dir + "/ladder.conf"}, 5).exit_code, 0);
  Server server({{"ESTUARY_PIPELINES_WATCH", "true"}}, {"--pipelines", dir});
  ASSERT_TRUE(server.start()) << server.log();
  EXPECT_NE(server.log().find("watching " + dir), std::string::npos) << server.log();
  Process source = start_publisher(server.rtmp_url("live/x"), 320, 240, server.dir() + "/ffmpeg.log", 60, 25);
  ASSERT_TRUE(wait_for_stream(server, "live/x_low", 20000)) << server.log();
  const std::string low_publisher = publisher_of(server, "x_low");

  std::ofstream(dir + "/..v2/ladder.conf") << transcode_conf("ladder", "low", 320, 240, 120);
  std::ofstream(dir + "/..v2/mini.conf") << transcode_conf("mini", "mini", 160, 120, 100);
  ASSERT_EQ(run({"ln", "-s", "..v2", dir + "/..data_tmp"}, 5).exit_code, 0);
  ASSERT_EQ(run({"mv", "-T", dir + "/..data_tmp", dir + "/..data"}, 5).exit_code, 0);
  ASSERT_EQ(run({"ln", "-s", "..data/mini.conf", dir + "/mini.conf"}, 5).exit_code, 0);

  ASSERT_TRUE(wait_for_stream(server, "live/x_mini", 20000)) << server.log();
  const std::string log = server.log();
  EXPECT_NE(log.find("configuration directory changed, reloading"), std::string::npos) << log;
  EXPECT_NE(log.find("pipeline mini: starting (new in pipelines.d)"), std::string::npos) << log;
  EXPECT_EQ(log.find("pipeline ladder:"), std::string::npos) << log;  // unchanged: not touched
  EXPECT_EQ(publisher_of(server, "x_low"), low_publisher);
}

}  // namespace
