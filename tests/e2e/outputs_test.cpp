// Owns: end-to-end tests of the HTTP-TS, HLS and DVR outputs: RTMP in (ffmpeg), HTTP-TS, HLS
// playlists and segments, and recorded files out, checked with ffprobe. Real binary, real clients.
// H.265 is not covered here: no ingest carries it yet (FLV/RTMP cannot in GStreamer 1.22); the
// SRT ingest issue adds that test.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <sstream>
#include <thread>

#include "harness.h"

using namespace estuary::e2e;
using namespace std::chrono_literals;

namespace {

const ProbeStream* find_type(const std::vector<ProbeStream>& streams, const std::string& type) {
  for (const auto& s : streams)
    if (s.codec_type == type) return &s;
  return nullptr;
}

void expect_h264_aac(const std::vector<ProbeStream>& streams, const std::string& what) {
  const ProbeStream* v = find_type(streams, "video");
  const ProbeStream* a = find_type(streams, "audio");
  ASSERT_NE(v, nullptr) << what << ": no video";
  ASSERT_NE(a, nullptr) << what << ": no audio";
  EXPECT_EQ(v->codec_name, "h264") << what;
  EXPECT_EQ(a->codec_name, "aac") << what;
}

// Container duration reported by ffprobe (-1 on failure).
double probe_duration(const std::string& url) {
  auto r = run({"ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", url}, 20);
  try {
    return std::stod(r.out);
  } catch (...) {
    return -1;
  }
}

// Duration from decoding every video frame (first to last timestamp), robust to bogus headers.
double decoded_duration(const std::string& path) {
  auto r = run(
      {"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time", "-of", "csv=p=0", path},
      30);
  double first = -1, last = -1;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    try {
      double t = std::stod(line);
      if (first < 0 || t < first) first = t;
      last = std::max(last, t);
    } catch (...) {
    }
  }
  return first < 0 ? -1 : last - first;
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') out.push_back(dir + "/" + e->d_name);
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string http_base(const Server& s) { return "http://127.0.0.1:" + std::to_string(s.http_port()); }
std::string api_base(const Server& s) { return "http://127.0.0.1:" + std::to_string(s.api_port()); }

struct Playlist {
  long sequence = -1;
  std::vector<std::string> segments;
  std::vector<double> durations;
};

Playlist get_playlist(const Server& s, const std::string& path) {
  Playlist p;
  std::string body;
  if (http_request("GET", http_base(s) + path, &body) != 200) return p;
  std::smatch m;
  if (std::regex_search(body, m, std::regex("#EXT-X-MEDIA-SEQUENCE:(\\d+)"))) p.sequence = std::stol(m[1]);
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("#EXTINF:", 0) == 0) p.durations.push_back(std::stod(line.substr(8)));
    if (!line.empty() && line[0] != '#') p.segments.push_back(line);
  }
  return p;
}

class Outputs : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && server) std::fprintf(stderr, "---- server log ----\n%s\n", server->log().c_str());
  }
  void start(std::map<std::string, std::string> env = {}) {
    server = std::make_unique<Server>(std::move(env));
    ASSERT_TRUE(server->start()) << server->log();
  }
  std::string pub_log(const std::string& name) { return server->dir() + "/" + name + ".log"; }
  std::unique_ptr<Server> server;
};

TEST_F(Outputs, HttpTsPlaysAndLateJoinerStartsOnKeyframe) {
  start();
  Process pub = start_publisher(server->rtmp_url("live/ts"), 320, 240, pub_log("pub"), 30, 50);
  ASSERT_TRUE(wait_for_stream(*server, "live/ts", 10000));
  expect_h264_aac(probe_streams(http_base(*server) + "/live/ts.ts"), "http-ts");
  // GOP of 2 s: a join 3.3 s in lands mid-GOP; the channel must start the joiner on a keyframe.
  std::this_thread::sleep_for(1300ms);
  EXPECT_EQ(first_video_frame_is_key(http_base(*server) + "/live/ts.ts"), 1);
  // The stream begins with PAT then PMT.
  auto r =
      run({"sh", "-c", "curl -s -m 2 " + http_base(*server) + "/live/ts.ts | head -c 376 | od -An -tx1 -N4 -j0"}, 5);
  EXPECT_NE(r.out.find("47 40 00"), std::string::npos) << r.out;
}

TEST_F(Outputs, HlsPlaylistSlidesAndSegmentsStartOnKeyframes) {
  start({{"ESTUARY_HLS_VARIANT", "ts"}});  // MPEG-TS HLS (CMAF variants: e2e_cmaf)
  // GOP 1 s, target 2 s: segments of 2 s (within one GOP).
  Process pub = start_publisher(server->rtmp_url("live/t"), 320, 240, pub_log("pub"), 40, 25);
  ASSERT_TRUE(wait_for_stream(*server, "live/t", 10000));
  Playlist first;
  for (int i = 0; i < 100 && first.segments.size() < 2; ++i) {
    std::this_thread::sleep_for(200ms);
    first = get_playlist(*server, "/live/t.m3u8");
  }
  ASSERT_GE(first.segments.size(), 2u);
  std::map<std::string, std::string> headers;
  std::string body;
  ASSERT_EQ(http_request("GET", http_base(*server) + "/live/t.m3u8", &body, &headers), 200);
  EXPECT_EQ(headers["Cache-Control"], "no-cache");
  EXPECT_EQ(headers["Access-Control-Allow-Origin"], "*");
  expect_h264_aac(probe_streams(http_base(*server) + "/live/t.m3u8"), "hls");
  std::this_thread::sleep_for(12s);
  Playlist later = get_playlist(*server, "/live/t.m3u8");
  EXPECT_GT(later.sequence, first.sequence) << "media sequence did not grow";
  EXPECT_LE(later.segments.size(), 5u);
  // The oldest segment seen at first has left the window: 404.
  ASSERT_FALSE(first.segments.empty());
  EXPECT_EQ(http_request("GET", http_base(*server) + "/live/" + first.segments.front(), &body), 404);
  for (size_t i = 0; i < later.segments.size(); ++i) {
    const std::string url = http_base(*server) + "/live/" + later.segments[i];
    headers.clear();
    if (http_request("GET", url, &body, &headers) != 200) continue;  // may just have slid out
    EXPECT_NE(headers["Cache-Control"].find("max-age"), std::string::npos);
    EXPECT_EQ(first_video_frame_is_key(url), 1) << later.segments[i];
    EXPECT_NEAR(later.durations[i], 2.0, 1.05) << later.segments[i];
  }
}

// [hls] always: the playlist is made from publish on, with nobody watching (on demand there would be
// no playlist of the first publish to continue).
TEST_F(Outputs, HlsRestartGivesDiscontinuity) {
  start({{"ESTUARY_HLS_VARIANT", "ts"}, {"ESTUARY_HLS_ALWAYS", "true"}});
  {
    Process pub = start_publisher(server->rtmp_url("live/r"), 320, 240, pub_log("pub1"), 6, 25);
    ASSERT_TRUE(wait_for_stream(*server, "live/r", 10000));
    pub.wait(12000);
  }
  Playlist before = get_playlist(*server, "/live/r.m3u8");
  ASSERT_FALSE(before.segments.empty()) << "playlist should outlive the publisher for dispose_s";
  Process pub2 = start_publisher(server->rtmp_url("live/r"), 320, 240, pub_log("pub2"), 20, 25);
  ASSERT_TRUE(wait_for_stream(*server, "live/r", 10000));
  std::string body;
  bool found = false;
  for (int i = 0; i < 50 && !found; ++i) {
    std::this_thread::sleep_for(200ms);
    http_request("GET", http_base(*server) + "/live/r.m3u8", &body);
    found = body.find("#EXT-X-DISCONTINUITY\n") != std::string::npos;
  }
  EXPECT_TRUE(found) << body;
  Playlist after = get_playlist(*server, "/live/r.m3u8");
  EXPECT_GE(after.sequence, before.sequence);
}

std::map<std::string, std::string> dvr_env(const std::string& dir, const std::string& format, const std::string& plan) {
  return {{"ESTUARY_DVR_ENABLED", "true"},  {"ESTUARY_DVR_PLAN", plan},
          {"ESTUARY_DVR_SEGMENT_S", "4"},   {"ESTUARY_DVR_FORMAT", format},
          {"ESTUARY_HLS_ENABLED", "false"}, {"ESTUARY_DVR_PATH", dir + "/[app]/[stream]-[2006][01][02]-[timestamp]"}};
}

TEST_F(Outputs, DvrSegmentPlanWritesPlayableFiles) {
  const std::string rec = make_temp_dir();
  start(dvr_env(rec, "ts", "segment"));
  {
    Process pub = start_publisher(server->rtmp_url("live/seg"), 320, 240, pub_log("pub"), 14, 25);
    ASSERT_TRUE(wait_for_stream(*server, "live/seg", 10000));
    pub.wait(20000);
  }
  std::this_thread::sleep_for(1500ms);
  auto files = files_in(rec + "/live");
  ASSERT_GE(files.size(), 3u);
  EXPECT_NE(server->log().find("dvr-file-closed"), std::string::npos);
  for (size_t i = 0; i + 1 < files.size(); ++i) {  // the last file ends with the publisher
    expect_h264_aac(probe_streams(files[i]), files[i]);
    EXPECT_NEAR(decoded_duration(files[i]), 4.0, 1.05) << files[i];
    EXPECT_EQ(first_video_frame_is_key(files[i]), 1) << files[i];
  }
}

TEST_F(Outputs, DvrSessionPlanIsOneFileApiListsIt) {
  const std::string rec = make_temp_dir();
  start(dvr_env(rec, "mp4", "session"));
  Process pub = start_publisher(server->rtmp_url("live/ses"), 320, 240, pub_log("pub"), 8, 25);
  ASSERT_TRUE(wait_for_stream(*server, "live/ses", 10000));
  std::this_thread::sleep_for(3s);
  std::string body;
  ASSERT_EQ(http_request("GET", api_base(*server) + "/api/v1/streams", &body), 200);
  EXPECT_NE(body.find("\"dvr\""), std::string::npos) << body;
  EXPECT_NE(body.find(".mp4"), std::string::npos) << body;
  EXPECT_NE(body.find("\"recording\":true"), std::string::npos) << body;
  pub.wait(15000);
  std::this_thread::sleep_for(1500ms);
  auto files = files_in(rec + "/live");
  ASSERT_EQ(files.size(), 1u);
  expect_h264_aac(probe_streams(files[0]), files[0]);
  EXPECT_NEAR(decoded_duration(files[0]), 8.0, 1.5) << files[0];
}

// flvmux writes one more onMetaData for every TAG event (the publisher's metadata, the parsers'
// bitrate tags); ffprobe then shows a bogus "text"/"data" stream. A recording is its media only.
TEST_F(Outputs, DvrFlvProbesAsExactlyItsMediaStreams) {
  const std::string rec = make_temp_dir();
  start(dvr_env(rec, "flv", "segment"));
  {
    Process pub = start_publisher(server->rtmp_url("live/meta"), 320, 240, pub_log("pub"), 10, 25);
    ASSERT_TRUE(wait_for_stream(*server, "live/meta", 10000));
    pub.wait(20000);
  }
  std::this_thread::sleep_for(1500ms);
  auto files = files_in(rec + "/live");
  ASSERT_GE(files.size(), 2u);
  for (const auto& f : files) {
    auto streams = probe_streams(f);
    std::string kinds;
    for (const auto& s : streams) kinds += s.codec_type + ":" + s.codec_name + " ";
    EXPECT_EQ(streams.size(), 2u) << f << ": " << kinds;
    expect_h264_aac(streams, f);
  }
}

TEST_F(Outputs, DvrFilesSurviveKill9) {
  for (const char* format : {"flv", "ts", "mp4"}) {
    SCOPED_TRACE(format);
    const std::string rec = make_temp_dir();
    start(dvr_env(rec, format, "session"));
    Process pub = start_publisher(server->rtmp_url("live/k"), 320, 240, pub_log("pub"), 30, 25);
    ASSERT_TRUE(wait_for_stream(*server, "live/k", 10000));
    auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(6s);
    server->process().signal(SIGKILL);
    const double recorded = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    server->process().wait(3000);
    auto files = files_in(rec + "/live");
    ASSERT_EQ(files.size(), 1u);
    const double d = decoded_duration(files[0]);
    EXPECT_NEAR(d, recorded, 2.0) << files[0];
    const double container = probe_duration(files[0]);
    EXPECT_GT(container, 0) << files[0];
  }
}

TEST_F(Outputs, DvrUnwritablePathStopsRecorderNotStream) {
  start({{"ESTUARY_DVR_ENABLED", "true"},
         {"ESTUARY_HLS_ENABLED", "false"},
         {"ESTUARY_DVR_PATH", "/proc/estuary-no-such-dir/[stream]"}});
  Process pub = start_publisher(server->rtmp_url("live/bad"), 320, 240, pub_log("pub"), 30, 25);
  ASSERT_TRUE(wait_for_stream(*server, "live/bad", 10000));
  std::this_thread::sleep_for(1s);
  std::string body;
  ASSERT_EQ(http_request("GET", api_base(*server) + "/api/v1/streams", &body), 200);
  EXPECT_NE(body.find("\"error\":\"cannot create directory"), std::string::npos) << body;
  EXPECT_NE(server->log().find("dvr-error"), std::string::npos);
  expect_h264_aac(probe_streams(server->flv_url("live/bad")), "http-flv while the recorder failed");
  // Recording can be stopped and started again through the API.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(body, m, std::regex("\"id\":\"(vid-[^\"]+)\"")));
  EXPECT_EQ(http_request("DELETE", api_base(*server) + "/api/v1/dvr/" + m[1].str(), &body), 200) << body;
  EXPECT_EQ(http_request("DELETE", api_base(*server) + "/api/v1/dvr/vid-nope", &body), 404) << body;
}

}  // namespace
