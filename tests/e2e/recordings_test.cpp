// Owns: end-to-end tests of the recordings (issue #17, part 3): DVR segments of two publishes with
// a gap between them, listed by /api/v1/recordings with wall-clock times; the HLS VOD playlist over
// the range read by ffprobe with the gap marked; a 5 s clip that is an MP4 of 5 ± 1 s starting on a
// keyframe; DELETE of a recording (refused while it is written); retention removing the oldest
// files and never the open one; the index rebuilt from disk after a restart; ".." refused everywhere;
// HLS VOD over FLV recordings (the default format: each file a segment remuxed to MPEG-TS on
// request, timestamps following the wall clock); byte ranges of a recording download; HLS VOD over
// fragmented MP4 recordings (fMP4 playlist: each file's init section as EXT-X-MAP and its fragments
// as a byte range of the file).
#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace estuary::e2e {
namespace {

using namespace std::chrono_literals;

std::string api(const Server& s, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(s.api_port()) + path;
}

struct Rec {
  std::string id, stream, format;
  int64_t start_ms = 0, end_ms = 0, size = 0;
  bool open = false;
};

std::vector<Rec> list(const Server& s, const std::string& query, int64_t* total = nullptr) {
  std::string body;
  std::vector<Rec> out;
  if (http_request("GET", api(s, "/api/v1/recordings" + query), &body) != 200) return out;
  JsonNode* root = parse_json(body);
  if (!root) return out;
  JsonObject* o = json_node_get_object(root);
  if (total) *total = json_object_get_int_member_with_default(o, "total", -1);
  JsonArray* arr = json_object_has_member(o, "recordings") ? json_object_get_array_member(o, "recordings") : nullptr;
  for (guint i = 0; arr && i < json_array_get_length(arr); ++i) {
    JsonObject* r = json_array_get_object_element(arr, i);
    Rec x;
    x.id = json_object_get_string_member_with_default(r, "id", "");
    x.stream = json_object_get_string_member_with_default(r, "stream", "");
    x.format = json_object_get_string_member_with_default(r, "format", "");
    x.start_ms = json_object_get_int_member_with_default(r, "start_ms", 0);
    x.end_ms = json_object_get_int_member_with_default(r, "end_ms", 0);
    x.size = json_object_get_int_member_with_default(r, "size", 0);
    x.open = json_object_get_boolean_member_with_default(r, "open", FALSE);
    out.push_back(x);
  }
  json_node_unref(root);
  return out;
}

std::vector<std::string> media_files(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') out.push_back(e->d_name);
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::map<std::string, std::string> dvr_env(const std::string& dir, int segment_s) {
  return {{"ESTUARY_DVR_ENABLED", "true"},  {"ESTUARY_DVR_FORMAT", "ts"},
          {"ESTUARY_DVR_PLAN", "segment"},  {"ESTUARY_DVR_SEGMENT_S", std::to_string(segment_s)},
          {"ESTUARY_HLS_ENABLED", "false"}, {"ESTUARY_DVR_PATH", dir + "/[app]/[stream]-[timestamp]"}};
}

double probe_number(const std::vector<std::string>& args, int timeout_s = 30) {
  auto r = run(args, timeout_s);
  try {
    return std::stod(r.out);
  } catch (...) {
    return -1;
  }
}

// The HTTP status curl gets for a path sent exactly as written (no dot-segment removal).
int raw_status(const std::string& method, const std::string& url) {
  auto r = run({"curl", "-s", "--path-as-is", "-o", "/dev/null", "-w", "%{http_code}", "-X", method, url}, 10);
  return std::atoi(r.out.c_str());
}

// Publishes `stream` for first_s seconds, records nothing for 5 s, publishes it again for second_s
// seconds (each publish waited to its end). False, with a failure reported, when a publish never
// went live.
bool publish_twice_with_a_gap(const Server& server, const std::string& stream, int first_s, int second_s) {
  int n = 0;
  for (int seconds : {first_s, second_s}) {
    if (n > 0) std::this_thread::sleep_for(5s);  // nothing recorded for a while
    const std::string log = server.dir() + "/pub" + std::to_string(++n) + ".log";
    Process pub = start_publisher(server.rtmp_url(stream), 320, 240, log, seconds, 25);
    if (!wait_for_stream(server, stream, 10000)) {
      ADD_FAILURE() << stream << " did not go live\n" << server.log();
      return false;
    }
    pub.wait(20000);
  }
  return true;
}

// The recordings of `stream`, once the last one is closed (up to 5 s).
std::vector<Rec> closed_recordings(const Server& server, const std::string& stream) {
  std::vector<Rec> recs;
  for (int i = 0; i < 50 && (recs.empty() || recs.back().open); ++i) {
    std::this_thread::sleep_for(100ms);
    recs = list(server, "?stream=" + stream + "&count=1000");
  }
  return recs;
}

// Asks for a 5 s clip from `from_ms`: an MP4 of 5 ± 1 s with video and audio, first frame a keyframe.
void expect_clip_of_5s(const Server& server, const std::string& stream, int64_t from_ms) {
  const std::string clip_url =
      api(server, "/api/v1/recordings/clip?stream=" + stream + "&from=" + std::to_string(from_ms) +
                      "&to=" + std::to_string(from_ms + 5000));
  const std::string clip = server.dir() + "/clip.mp4";
  auto got = run({"curl", "-s", "-o", clip, "-w", "%{http_code} %{content_type}", clip_url}, 60);
  ASSERT_EQ(got.out.substr(0, 3), "200") << got.out << "\n" << server.log();
  EXPECT_NE(got.out.find("video/mp4"), std::string::npos);
  auto fmt = run({"ffprobe", "-v", "error", "-show_entries", "format=format_name", "-of", "csv=p=0", clip}, 20);
  EXPECT_NE(fmt.out.find("mp4"), std::string::npos) << fmt.out;
  const double clip_s =
      probe_number({"ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", clip});
  EXPECT_NEAR(clip_s, 5.0, 1.0) << clip;
  std::printf("clip of 5 s asked: %.2f s\n", clip_s);
  EXPECT_EQ(first_video_frame_is_key(clip), 1);
  auto clip_streams = probe_streams(clip);
  EXPECT_EQ(clip_streams.size(), 2u);
  EXPECT_TRUE(has_stream(clip_streams, "video", "h264"));
  EXPECT_TRUE(has_stream(clip_streams, "audio", "aac"));
}

TEST(Recordings, ListVodClipDeleteAndRestart) {
  const std::string rec = make_temp_dir();
  {
    // A secret beside the DVR root: nothing in the API may reach it.
    std::ofstream(rec + "/secret.ts") << "not a recording";
  }
  auto env = dvr_env(rec + "/dvr", 3);
  Server server(env);
  ASSERT_TRUE(server.start()) << server.log();
  ASSERT_TRUE(publish_twice_with_a_gap(server, "live/r", 10, 7));
  std::this_thread::sleep_for(2s);

  int64_t total = -1;
  std::vector<Rec> recs = list(server, "?stream=live/r&count=1000", &total);
  ASSERT_GE(recs.size(), 5u) << server.log();
  EXPECT_EQ(total, int64_t(recs.size()));
  int gaps = 0;
  for (size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(recs[i].stream, "live/r");
    EXPECT_EQ(recs[i].format, "ts");
    EXPECT_FALSE(recs[i].open);
    EXPECT_GT(recs[i].end_ms, recs[i].start_ms);
    EXPECT_GT(recs[i].size, 0);
    if (i > 0) {
      EXPECT_GE(recs[i].start_ms, recs[i - 1].start_ms);
      if (recs[i].start_ms - recs[i - 1].end_ms > 3000) ++gaps;
    }
  }
  EXPECT_EQ(gaps, 1) << "one stretch without a publisher";
  // Pagination and time ranges.
  std::vector<Rec> page = list(server, "?stream=live/r&start=1&count=2", &total);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].id, recs[1].id);
  std::vector<Rec> late = list(server, "?stream=live/r&from=" + std::to_string(recs.back().start_ms));
  EXPECT_GE(late.size(), 1u);
  EXPECT_LT(late.size(), recs.size());
  std::string body;
  EXPECT_EQ(http_request("GET", api(server, "/api/v1/recordings?from=yesterday"), &body), 400) << body;

  // VOD over everything: plays in ffprobe; the gap is marked.
  const int64_t from = recs.front().start_ms - 1000, to = recs.back().end_ms + 1000;
  const std::string range = "stream=live/r&from=" + std::to_string(from) + "&to=" + std::to_string(to);
  ASSERT_EQ(http_request("GET", api(server, "/api/v1/recordings/vod.m3u8?" + range), &body), 200) << body;
  EXPECT_NE(body.find("#EXT-X-PLAYLIST-TYPE:VOD"), std::string::npos);
  EXPECT_NE(body.find("#EXT-X-PROGRAM-DATE-TIME:"), std::string::npos);
  EXPECT_NE(body.find("# nothing recorded for"), std::string::npos) << body;
  EXPECT_NE(body.find("#EXT-X-DISCONTINUITY"), std::string::npos);
  EXPECT_NE(body.find("#EXT-X-ENDLIST"), std::string::npos);
  auto streams = probe_streams(api(server, "/api/v1/recordings/vod.m3u8?" + range), 30);
  ASSERT_EQ(streams.size(), 2u) << body;
  const double frames =
      probe_number({"ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries",
                    "stream=nb_read_packets", "-of", "csv=p=0", api(server, "/api/v1/recordings/vod.m3u8?" + range)},
                   60);
  double recorded_s = 0;
  for (const auto& r : recs) recorded_s += double(r.end_ms - r.start_ms) / 1000;
  EXPECT_NEAR(frames / 25.0, recorded_s, 2.5) << "every recorded second plays (and the gap takes none)";

  // A 5 s clip from the middle of the first publish: MP4, 5 ± 1 s, first frame a keyframe.
  expect_clip_of_5s(server, "live/r", recs.front().start_ms + 2500);
  // Bounded: over an hour, or a reversed range, is refused.
  EXPECT_EQ(
      http_request("GET", api(server, "/api/v1/recordings/clip?stream=live/r&from=0&to=" + std::to_string(7200 * 1000)),
                   &body),
      400);
  EXPECT_EQ(http_request("GET", api(server, "/api/v1/recordings/clip?stream=live/r&from=10&to=5"), &body), 400);

  // Files: one recording can be fetched; ".." in any form is refused and reaches nothing.
  ASSERT_EQ(http_request("GET", api(server, "/api/v1/recordings/files/" + recs[0].id), &body), 200);
  EXPECT_EQ(int64_t(body.size()), recs[0].size);
  for (const char* bad : {"/api/v1/recordings/files/../secret.ts", "/api/v1/recordings/files/live/../../secret.ts",
                          "/api/v1/recordings/files/%2e%2e/secret.ts", "/api/v1/recordings/files/..%2fsecret.ts",
                          "/api/v1/recordings/files//etc/passwd"}) {
    EXPECT_NE(raw_status("GET", api(server, bad)), 200) << bad;
    EXPECT_NE(raw_status("DELETE", api(server, bad)), 200) << bad;
  }
  EXPECT_TRUE(g_file_test((rec + "/secret.ts").c_str(), G_FILE_TEST_EXISTS));

  // DELETE removes the file and its entry.
  ASSERT_EQ(http_request("DELETE", api(server, "/api/v1/recordings/files/" + recs[0].id), &body), 200) << body;
  EXPECT_FALSE(g_file_test((rec + "/dvr/" + recs[0].id).c_str(), G_FILE_TEST_EXISTS));
  EXPECT_EQ(list(server, "?stream=live/r&count=1000").size(), recs.size() - 1);
  EXPECT_EQ(http_request("DELETE", api(server, "/api/v1/recordings/files/" + recs[0].id), &body), 404);

  // Restart: the index comes back from disk with the same times.
  server.stop();
  Server again(env);
  ASSERT_TRUE(again.start()) << again.log();
  std::vector<Rec> after;
  for (int i = 0; i < 50 && after.size() != recs.size() - 1; ++i) {
    std::this_thread::sleep_for(100ms);
    after = list(again, "?stream=live/r&count=1000");
  }
  ASSERT_EQ(after.size(), recs.size() - 1) << again.log();
  EXPECT_EQ(after[0].id, recs[1].id);
  EXPECT_EQ(after[0].start_ms, recs[1].start_ms);
  EXPECT_EQ(after[0].end_ms, recs[1].end_ms);
}

TEST(Recordings, DeleteRefusedWhileWrittenAndRetentionSparesTheOpenFile) {
  const std::string rec = make_temp_dir();
  auto env = dvr_env(rec, 2);
  env["ESTUARY_DVR_MAX_MB"] = "1";
  Server server(env);
  ASSERT_TRUE(server.start()) << server.log();
  Process pub = start_publisher(server.rtmp_url("live/ret"), 640, 360, server.dir() + "/pub.log", 40, 25);
  ASSERT_TRUE(wait_for_stream(server, "live/ret", 10000)) << server.log();
  std::this_thread::sleep_for(1500ms);
  std::vector<Rec> first = list(server, "?stream=live/ret");
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(first[0].open);
  std::string body;
  EXPECT_EQ(http_request("DELETE", api(server, "/api/v1/recordings/files/" + first[0].id), &body), 409) << body;
  EXPECT_TRUE(g_file_test((rec + "/" + first[0].id).c_str(), G_FILE_TEST_EXISTS));

  // Record well past 1 MiB: the oldest files go, the one being written never does.
  bool removed_oldest = false;
  for (int i = 0; i < 300; ++i) {
    std::this_thread::sleep_for(100ms);
    std::vector<Rec> now = list(server, "?stream=live/ret&count=1000");
    for (const auto& r : now)
      if (r.open) {
        EXPECT_TRUE(g_file_test((rec + "/" + r.id).c_str(), G_FILE_TEST_EXISTS)) << r.id;
      }
    if (!now.empty() && now.front().id != first[0].id && now.size() >= 2) {
      removed_oldest = true;
      int64_t closed_bytes = 0;
      for (const auto& r : now)
        if (!r.open) closed_bytes += r.size;
      EXPECT_LE(closed_bytes, 1 << 20);
      if (i > 150) break;
    }
  }
  EXPECT_TRUE(removed_oldest) << server.log();
  EXPECT_FALSE(g_file_test((rec + "/" + first[0].id).c_str(), G_FILE_TEST_EXISTS)) << "the oldest went first";
  EXPECT_NE(server.log().find("dvr-retention"), std::string::npos);
  // What remains is the newest: every file left started after every file removed.
  std::vector<Rec> left = list(server, "?stream=live/ret&count=1000");
  ASSERT_FALSE(left.empty());
  auto on_disk = media_files(rec + "/live");
  EXPECT_EQ(on_disk.size(), left.size());
}

// FLV (the default DVR format) is clipped too, by our own tag reader: a clip across two segment
// files is an MP4 of the asked length from a keyframe, and a range with nothing recorded is 404.
TEST(Recordings, FlvRecordingsAreClippedAcrossFiles) {
  const std::string rec = make_temp_dir();
  auto env = dvr_env(rec + "/dvr", 3);
  env["ESTUARY_DVR_FORMAT"] = "flv";
  Server server(env);
  ASSERT_TRUE(server.start()) << server.log();
  {
    Process pub = start_publisher(server.rtmp_url("live/f"), 320, 240, server.dir() + "/pub.log", 10, 25);
    ASSERT_TRUE(wait_for_stream(server, "live/f", 10000)) << server.log();
    pub.wait(20000);
  }
  std::vector<Rec> recs;
  for (int i = 0; i < 50 && (recs.empty() || recs.back().open); ++i) {
    std::this_thread::sleep_for(100ms);
    recs = list(server, "?stream=live/f&count=1000");
  }
  ASSERT_GE(recs.size(), 2u) << server.log();
  EXPECT_EQ(recs[0].format, "flv");
  // From 1.5 s into the first file: the 5 s reach into the second (segments are about 3 s).
  expect_clip_of_5s(server, "live/f", recs[0].start_ms + 1500);
  std::string body;
  const int64_t after = recs.back().end_ms + 60000;
  EXPECT_EQ(http_request("GET",
                         api(server, "/api/v1/recordings/clip?stream=live/f&from=" + std::to_string(after) +
                                         "&to=" + std::to_string(after + 5000)),
                         &body),
            404)
      << body;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// First packet time (s) of the stream `which` ("v:0") of a file or URL; -1 on failure.
double start_time(const std::string& url, const char* which) {
  return probe_number(
      {"ffprobe", "-v", "error", "-select_streams", which, "-show_entries", "stream=start_time", "-of", "csv=p=0", url},
      30);
}

// The default DVR format, FLV: 3-second segments of two publishes with a gap play as HLS VOD
// (every file a remuxed MPEG-TS segment starting on a keyframe, PTS continuing with the wall
// clock from file to file) for the whole range; the gap is marked; a download answers byte ranges.
TEST(Recordings, FlvRecordingsPlayAsHlsVodAndDownloadsAnswerRanges) {
  const std::string rec = make_temp_dir();
  auto env = dvr_env(rec + "/dvr", 3);
  env.erase("ESTUARY_DVR_FORMAT");  // the default: FLV
  Server server(env);
  ASSERT_TRUE(server.start()) << server.log();
  ASSERT_TRUE(publish_twice_with_a_gap(server, "live/v", 7, 4));
  std::vector<Rec> recs = closed_recordings(server, "live/v");
  ASSERT_GE(recs.size(), 3u) << server.log();
  double recorded_s = 0;
  for (const auto& r : recs) {
    EXPECT_EQ(r.format, "flv");
    EXPECT_FALSE(r.open);
    recorded_s += double(r.end_ms - r.start_ms) / 1000;
  }

  std::string body;
  const int64_t from = recs.front().start_ms - 1000, to = recs.back().end_ms + 1000;
  const std::string vod = api(
      server, "/api/v1/recordings/vod.m3u8?stream=live/v&from=" + std::to_string(from) + "&to=" + std::to_string(to));
  ASSERT_EQ(http_request("GET", vod, &body), 200) << body << server.log();
  EXPECT_NE(body.find("#EXT-X-PLAYLIST-TYPE:VOD"), std::string::npos);
  EXPECT_NE(body.find("#EXT-X-PROGRAM-DATE-TIME:"), std::string::npos);
  EXPECT_NE(body.find("# nothing recorded for"), std::string::npos) << body;
  EXPECT_NE(body.find("#EXT-X-DISCONTINUITY"), std::string::npos);
  EXPECT_NE(body.find("#EXT-X-ENDLIST"), std::string::npos);
  EXPECT_NE(body.find("segments/" + recs[0].id + ".ts\n"), std::string::npos) << body;

  // The playlist plays: H.264 + AAC, as long as what was recorded, every frame there.
  auto streams = probe_streams(vod, 30);
  ASSERT_EQ(streams.size(), 2u) << body << server.log();
  EXPECT_TRUE(has_stream(streams, "video", "h264"));
  EXPECT_TRUE(has_stream(streams, "audio", "aac"));
  const double duration =
      probe_number({"ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", vod}, 60);
  EXPECT_NEAR(duration, recorded_s, 1.0) << body;
  const double frames = probe_number({"ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
                                      "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", vod},
                                     90);
  EXPECT_NEAR(frames / 25.0, recorded_s, 2.5) << "every recorded second plays (and the gap takes none)";
  auto decoded = run({"ffmpeg", "-v", "error", "-i", vod, "-f", "null", "-"}, 90);
  EXPECT_EQ(decoded.exit_code, 0) << decoded.err;
  std::printf("FLV VOD: %zu files, %.2f s recorded, playlist %.2f s, %.0f video frames\n", recs.size(), recorded_s,
              duration, frames);

  // One segment: MPEG-TS from a keyframe; its PTS is the wall clock's time of day, and the next
  // file of the same publish continues it.
  const std::string seg0 = server.dir() + "/seg0.ts", seg1 = server.dir() + "/seg1.ts";
  auto got = run({"curl", "-s", "-o", seg0, "-w", "%{http_code} %{content_type} %{time_total}",
                  api(server, "/api/v1/recordings/segments/" + recs[0].id + ".ts")},
                 30);
  ASSERT_EQ(got.out.substr(0, 3), "200") << got.out << server.log();
  EXPECT_NE(got.out.find("video/mp2t"), std::string::npos) << got.out;
  std::printf("first segment (%.1f s of FLV): %s\n", double(recs[0].end_ms - recs[0].start_ms) / 1000, got.out.c_str());
  auto fmt = run({"ffprobe", "-v", "error", "-show_entries", "format=format_name", "-of", "csv=p=0", seg0}, 20);
  EXPECT_NE(fmt.out.find("mpegts"), std::string::npos) << fmt.out;
  EXPECT_EQ(first_video_frame_is_key(seg0), 1);
  double wall_s = double(recs[0].start_ms % (86400 * 1000)) / 1000;
  if (wall_s < 3600) wall_s += 86400;  // before 01:00 UTC the time of day is a day on
  const double t0 = start_time(seg0, "v:0");
  EXPECT_NEAR(t0, wall_s, 1.0) << "PTS follows the wall clock (time of day)";
  ASSERT_LT(recs[1].start_ms - recs[0].end_ms, 1000) << "the first two files are of one publish";
  {
    ASSERT_EQ(
        run({"curl", "-s", "-o", seg1, api(server, "/api/v1/recordings/segments/" + recs[1].id + ".ts")}, 30).exit_code,
        0);
    const double t1 = start_time(seg1, "v:0");
    EXPECT_NEAR(t1 - t0, double(recs[1].start_ms - recs[0].start_ms) / 1000, 0.3) << "continuous from file to file";
    std::printf("segment PTS %.3f s (time of day %.3f s), next file's %.3f s (%.3f s later; the index says %.3f s)\n",
                t0, wall_s, t1, t1 - t0, double(recs[1].start_ms - recs[0].start_ms) / 1000);
  }
  // Refused: a segment of no recording, a path leaving the root.
  EXPECT_EQ(http_request("GET", api(server, "/api/v1/recordings/segments/live/nothing.flv.ts"), &body), 404);
  EXPECT_NE(raw_status("GET", api(server, "/api/v1/recordings/segments/../secret.flv.ts")), 200);

  // Byte ranges of a download: exactly the bytes asked; 416 past the end; a multi-range gets it all.
  const std::string on_disk = read_file(rec + "/dvr/" + recs[0].id);
  ASSERT_EQ(int64_t(on_disk.size()), recs[0].size);
  const std::string url = api(server, "/api/v1/recordings/files/" + recs[0].id), part = server.dir() + "/part";
  struct Ask {
    std::string range;
    size_t first, length;
  };
  const size_t n = on_disk.size();
  for (const Ask& a : {Ask{"100-1099", 100, 1000}, Ask{"-500", n - 500, 500},
                       Ask{std::to_string(n - 10) + "-", n - 10, 10}, Ask{"0-" + std::to_string(n + 5000), 0, n}}) {
    auto r = run({"curl", "-s", "-o", part, "-D", "-", "-w", "%{http_code}", "-H", "Range: bytes=" + a.range, url}, 20);
    EXPECT_NE(r.out.find("206"), std::string::npos) << a.range << "\n" << r.out;
    const std::string content_range =
        "bytes " + std::to_string(a.first) + "-" + std::to_string(a.first + a.length - 1) + "/" + std::to_string(n);
    EXPECT_NE(r.out.find(content_range), std::string::npos) << a.range << "\n" << r.out;
    EXPECT_EQ(read_file(part), on_disk.substr(a.first, a.length)) << a.range;
  }
  auto past = run(
      {"curl", "-s", "-o", part, "-D", "-", "-w", "%{http_code}", "-H", "Range: bytes=" + std::to_string(n) + "-", url},
      20);
  EXPECT_EQ(past.out.substr(past.out.size() - 3), "416") << past.out;
  EXPECT_NE(past.out.find("bytes */" + std::to_string(n)), std::string::npos) << past.out;
  auto multi = run({"curl", "-s", "-o", part, "-w", "%{http_code}", "-H", "Range: bytes=0-1,5-6", url}, 20);
  EXPECT_EQ(multi.out, "200");
  EXPECT_EQ(read_file(part), on_disk) << "a multi-range is answered with the whole file";
}

// [dvr] format = mp4: 3-second fragmented MP4 segments of two publishes with a gap play as an
// fMP4 HLS VOD playlist (version 7, EXT-X-MAP of each file's ftyp+moov, its fragments as one byte
// range) in ffprobe and ffmpeg, with PDT, the gap marked and a discontinuity between files; the
// byte ranges the playlist names are the file's own boxes.
TEST(Recordings, Mp4RecordingsPlayAsFmp4HlsVod) {
  const std::string rec = make_temp_dir();
  auto env = dvr_env(rec + "/dvr", 3);
  env["ESTUARY_DVR_FORMAT"] = "mp4";
  Server server(env);
  ASSERT_TRUE(server.start()) << server.log();
  ASSERT_TRUE(publish_twice_with_a_gap(server, "live/m", 7, 4));
  std::vector<Rec> recs = closed_recordings(server, "live/m");
  ASSERT_GE(recs.size(), 3u) << server.log();
  double recorded_s = 0;
  for (const auto& r : recs) {
    EXPECT_EQ(r.format, "mp4");
    EXPECT_FALSE(r.open);
    recorded_s += double(r.end_ms - r.start_ms) / 1000;
  }

  std::string body;
  const int64_t from = recs.front().start_ms - 1000, to = recs.back().end_ms + 1000;
  const std::string vod = api(
      server, "/api/v1/recordings/vod.m3u8?stream=live/m&from=" + std::to_string(from) + "&to=" + std::to_string(to));
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(http_request("GET", vod, &body), 200) << body << server.log();
  const double playlist_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(body.find("#EXT-X-VERSION:7\n"), std::string::npos) << body;
  EXPECT_NE(body.find("#EXT-X-PLAYLIST-TYPE:VOD"), std::string::npos);
  EXPECT_NE(body.find("#EXT-X-PROGRAM-DATE-TIME:"), std::string::npos);
  EXPECT_NE(body.find("# nothing recorded for"), std::string::npos) << body;
  EXPECT_NE(body.find("#EXT-X-DISCONTINUITY\n#EXT-X-MAP:"), std::string::npos) << body;
  EXPECT_NE(body.find("#EXT-X-ENDLIST"), std::string::npos);
  EXPECT_EQ(body.find("not playable"), std::string::npos) << body;
  const std::string map0 = "#EXT-X-MAP:URI=\"files/" + recs[0].id + "\",BYTERANGE=\"";
  const size_t at = body.find(map0);
  ASSERT_NE(at, std::string::npos) << body;
  std::printf("fMP4 VOD playlist (%zu files) in %.1f ms:\n%s", recs.size(), playlist_ms, body.c_str());

  // The init section the playlist names is the file's ftyp+moov; the fragments start with a moof.
  const std::string on_disk = read_file(rec + "/dvr/" + recs[0].id);
  const size_t init_end = std::stoul(body.substr(at + map0.size()));
  ASSERT_GT(init_end, 16u);
  ASSERT_LT(init_end + 8, on_disk.size());
  EXPECT_EQ(on_disk.substr(4, 4), "ftyp");
  EXPECT_EQ(on_disk.substr(init_end + 4, 4), "moof") << "the first fragment follows the init section";
  const std::string range_line = "#EXT-X-BYTERANGE:";
  const size_t br = body.find(range_line, at);
  ASSERT_NE(br, std::string::npos);
  const size_t length = std::stoul(body.substr(br + range_line.size()));
  const size_t offset = std::stoul(body.substr(body.find('@', br) + 1));
  EXPECT_EQ(offset, init_end);
  ASSERT_LE(offset + length, on_disk.size());
  EXPECT_EQ(on_disk.substr(offset + length + 4, 4), "mfra") << "the fragments end where the index begins";

  // The playlist plays: H.264 + AAC, as long as what was recorded, every frame there.
  auto streams = probe_streams(vod, 30);
  ASSERT_EQ(streams.size(), 2u) << body << server.log();
  EXPECT_TRUE(has_stream(streams, "video", "h264"));
  EXPECT_TRUE(has_stream(streams, "audio", "aac"));
  const double duration =
      probe_number({"ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", vod}, 60);
  EXPECT_NEAR(duration, recorded_s, 1.0) << body;
  const double frames = probe_number({"ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
                                      "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", vod},
                                     90);
  EXPECT_NEAR(frames / 25.0, recorded_s, 2.5) << "every recorded second plays (and the gap takes none)";
  auto decoded = run({"ffmpeg", "-v", "error", "-i", vod, "-f", "null", "-"}, 90);
  EXPECT_EQ(decoded.exit_code, 0) << decoded.err;
  std::printf("MP4 VOD: %zu files, %.2f s recorded, playlist %.2f s, %.0f video frames\n", recs.size(), recorded_s,
              duration, frames);
}

}  // namespace
}  // namespace estuary::e2e
