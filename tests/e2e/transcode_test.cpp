// Owns: end-to-end tests of transcoding and stream health (issue #8) against the real binary:
// - the shipped ladder example (pipelines.d/ladder.conf.example, output=transcode) turns a 1280x720
//   RTMP publish into live/x_720p (1280x720) and live/x_480p (854x480), real streams that play over
//   HTTP-FLV, show in the API (client type "transcode", the source's "transcode" field), are not
//   transcoded again, end with the source, and are listed with BANDWIDTH/RESOLUTION/CODECS by the
//   master playlist /live/x_abr.m3u8, which ffprobe opens;
// - a transcode whose rendition name is taken fails, backs off, and starts once the name is free;
// - the shipped health example flags a black, silent stream in /api/v1/streams, /metrics and the
//   log, and leaves a moving test pattern with a tone unflagged.
#include <gtest/gtest.h>

#include <chrono>
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
std::string http(const Server& s, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(s.http_port()) + path;
}

// A pipelines.d in a fresh temp dir holding the shipped example `example` as `name`.conf.
std::string pipelines_dir_with(const std::string& example, const std::string& name) {
  const std::string out = make_temp_dir() + "/pipelines.d";
  EXPECT_EQ(run({"mkdir", "-p", out}, 5).exit_code, 0);
  std::ifstream in(source_root() + "/pipelines.d/" + example);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_FALSE(text.str().empty()) << example;
  std::ofstream(out + "/" + name + ".conf") << text.str();
  return out;
}

// ffmpeg publishing a lavfi source (video filter graph + audio source) as H.264 + AAC over RTMP.
Process publish(const std::string& url, const std::string& video, const std::string& audio, int seconds,
                const std::string& log, int gop = 15) {
  return Process(
      {"ffmpeg",   "-hide_banner", "-nostats", "-loglevel", "error", "-re",         "-f", "lavfi",
       "-i",       video,          "-f",       "lavfi",     "-i",    audio,         "-t", std::to_string(seconds),
       "-c:v",     "libx264",      "-preset",  "ultrafast", "-tune", "zerolatency", "-g", std::to_string(gop),
       "-pix_fmt", "yuv420p",      "-c:a",     "aac",       "-b:a",  "64k",         "-f", "flv",
       url},
      log);
}

// /api/v1/streams parsed; calls fn for each stream object. false if the API did not answer.
bool each_stream(const Server& s, const std::function<void(JsonObject*)>& fn) {
  std::string body;
  if (http_request("GET", api(s, "/api/v1/streams?count=100"), &body) != 200) return false;
  JsonNode* root = parse_json(body);
  if (!root) return false;
  JsonArray* arr = json_object_get_array_member(json_node_get_object(root), "streams");
  for (guint i = 0; arr && i < json_array_get_length(arr); ++i) fn(json_array_get_object_element(arr, i));
  json_node_unref(root);
  return true;
}

std::vector<std::string> stream_keys(const Server& s) {
  std::vector<std::string> keys;
  each_stream(s, [&](JsonObject* o) {
    keys.push_back(std::string(json_object_get_string_member_with_default(o, "app", "")) + "/" +
                   json_object_get_string_member_with_default(o, "name", ""));
  });
  return keys;
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(200ms);
  }
  return done();
}

bool has_video(const std::vector<ProbeStream>& streams, int width, int height) {
  for (const auto& p : streams)
    if (p.codec_type == "video" && p.codec_name == "h264" && p.width == width && p.height == height) return true;
  return false;
}

TEST(Transcode, LadderPublishesRenditionsAndMasterPlaylist) {
  Server server({}, {"--pipelines", pipelines_dir_with("ladder.conf.example", "ladder")});
  ASSERT_TRUE(server.start()) << server.log();
  // 1280x720 at 15 fps, a keyframe a second; 25 s at most (killed once the checks are done).
  Process source = publish(server.rtmp_url("live/x"), "testsrc2=size=1280x720:rate=15", "sine=frequency=440", 25,
                           server.dir() + "/ffmpeg.log");
  ASSERT_TRUE(wait_for_stream(server, "live/x_720p", 20000)) << server.log();
  ASSERT_TRUE(wait_for_stream(server, "live/x_480p", 10000)) << server.log();

  // The renditions are real streams: HTTP-FLV plays them at their sizes, with the AAC copied.
  auto p720 = probe_streams(server.flv_url("live/x_720p"));
  EXPECT_TRUE(has_video(p720, 1280, 720)) << server.log();
  bool aac = false;
  for (const auto& p : p720) aac |= p.codec_type == "audio" && p.codec_name == "aac";
  EXPECT_TRUE(aac);
  EXPECT_TRUE(has_video(probe_streams(server.flv_url("live/x_480p")), 854, 480)) << server.log();

  // API: the source names its renditions; each rendition is published by a "transcode" client;
  // live/* did not match the renditions again.
  std::string renditions, master;
  each_stream(server, [&](JsonObject* o) {
    if (std::string(json_object_get_string_member_with_default(o, "name", "")) != "x") return;
    JsonObject* t = json_object_has_member(o, "transcode") ? json_object_get_object_member(o, "transcode") : nullptr;
    if (!t) return;
    master = json_object_get_string_member_with_default(t, "master_playlist", "");
    JsonArray* r = json_object_get_array_member(t, "renditions");
    for (guint i = 0; r && i < json_array_get_length(r); ++i)
      renditions += std::string(json_array_get_string_element(r, i)) + " ";
  });
  EXPECT_EQ(renditions, "live/x_720p live/x_480p ");
  EXPECT_EQ(master, "/live/x_abr.m3u8");
  std::vector<std::pair<std::string, std::string>> clients;
  api_clients(server, &clients);
  int transcoders = 0;
  for (const auto& [id, type] : clients) transcoders += type == "transcode";
  EXPECT_EQ(transcoders, 2);
  auto keys = stream_keys(server);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"live/x", "live/x_480p", "live/x_720p"}));

  // Master playlist: every variant once its HLS playlist has a segment.
  std::string body;
  EXPECT_TRUE(wait_until(
      [&] {
        return http_request("GET", http(server, "/live/x_abr.m3u8"), &body) == 200 &&
               body.find("x_720p.m3u8") != std::string::npos && body.find("x_480p.m3u8") != std::string::npos &&
               body.find("\nx.m3u8") != std::string::npos;
      },
      20s))
      << body << server.log();
  EXPECT_EQ(body.rfind("#EXTM3U\n", 0), 0u) << body;
  EXPECT_NE(body.find("RESOLUTION=1280x720"), std::string::npos) << body;
  EXPECT_NE(body.find("RESOLUTION=854x480"), std::string::npos) << body;
  EXPECT_NE(body.find("CODECS=\"avc1."), std::string::npos) << body;
  EXPECT_NE(body.find(",mp4a.40.2\""), std::string::npos) << body;
  // BANDWIDTH of the 720p rendition: its configured 1500 kbit/s plus audio, or more if measured.
  auto line_of = [&](const std::string& uri) {
    auto at = body.find("\n" + uri + "\n");
    if (at == std::string::npos) return std::string();
    auto start = body.rfind("#EXT-X-STREAM-INF", at);
    return body.substr(start, at - start);
  };
  const std::string inf720 = line_of("x_720p.m3u8");
  auto bw = inf720.find("BANDWIDTH=");
  ASSERT_NE(bw, std::string::npos) << body;
  EXPECT_GE(std::stoll(inf720.substr(bw + 10)), 1500000) << inf720;
  // ffprobe opens the master playlist and finds both renditions' video.
  auto master_probe = probe_streams(http(server, "/live/x_abr.m3u8"), 30);
  EXPECT_TRUE(has_video(master_probe, 1280, 720)) << server.log();
  EXPECT_TRUE(has_video(master_probe, 854, 480));
  // A stream without renditions has no master playlist.
  EXPECT_EQ(http_request("GET", http(server, "/live/x_720p_abr.m3u8"), &body), 404);

  // Renditions end with their source.
  source.kill_now();
  EXPECT_TRUE(wait_until([&] { return stream_keys(server).empty(); }, 10s)) << server.log();
  clients.clear();
  api_clients(server, &clients);
  for (const auto& [id, type] : clients) EXPECT_NE(type, "transcode");
  EXPECT_NE(server.log().find("transcode-start"), std::string::npos);
}

// A rendition name already published by someone else refuses the transcode; the supervisor
// retries with backoff and the transcode takes over once the name is free.
TEST(Transcode, BusyRenditionNameBacksOffThenStarts) {
  // A one-rendition ladder on live/y only, in the example's form but small and cheap.
  const std::string dir = make_temp_dir() + "/pipelines.d";
  ASSERT_EQ(run({"mkdir", "-p", dir}, 5).exit_code, 0);
  std::ofstream(dir + "/ladder.conf")
      << "[pipeline small]\nmatch=live/y\ntrigger=publish\noutput=transcode\n"
         "launch=estuarysrc name=src stream={name} estuarysink name=r stream={name}_small\n"
         "video=src.video ! queue ! h264parse ! avdec_h264 ! videoscale ! video/x-raw,width=160,height=120 ! "
         "@h264enc bitrate=200 gop=15 tune=latency preset=fastest ! h264parse ! r.\n"
         "audio=src.audio ! queue ! aacparse ! r.\n";
  Server server({{"ESTUARY_OUTPUTS_RESTART_BACKOFF_MS", "300"}, {"ESTUARY_OUTPUTS_RESTART_BACKOFF_MAX_MS", "1000"}},
                {"--pipelines", dir});
  ASSERT_TRUE(server.start()) << server.log();
  Process squatter = publish(server.rtmp_url("live/y_small"), "testsrc2=size=96x64:rate=15", "sine", 4,
                             server.dir() + "/squatter.log");
  ASSERT_TRUE(wait_for_stream(server, "live/y_small", 10000)) << server.log();
  Process source =
      publish(server.rtmp_url("live/y"), "testsrc2=size=320x240:rate=15", "sine", 20, server.dir() + "/y.log");
  ASSERT_TRUE(wait_for_stream(server, "live/y", 10000)) << server.log();
  EXPECT_TRUE(wait_until([&] { return server.log().find("output-backoff") != std::string::npos; }, 5s)) << server.log();
  EXPECT_NE(server.log().find("live/y_small is already being published"), std::string::npos) << server.log();
  // The squatter ends after 4 s; within a backoff the transcode publishes the name itself.
  EXPECT_EQ(squatter.wait(15000), 0);
  EXPECT_TRUE(wait_until(
      [&] {
        std::vector<std::pair<std::string, std::string>> clients;
        api_clients(server, &clients);
        for (const auto& [id, type] : clients)
          if (type == "transcode") return true;
        return false;
      },
      10s))
      << server.log();
  ASSERT_TRUE(wait_for_stream(server, "live/y_small", 10000)) << server.log();
  EXPECT_TRUE(has_video(probe_streams(server.flv_url("live/y_small")), 160, 120)) << server.log();
  std::string metrics;
  ASSERT_EQ(http_request("GET", api(server, "/metrics"), &metrics), 200);
  EXPECT_NE(metrics.find("estuary_output_restarts_total{app=\"live\",stream=\"y\",output=\"small\"}"),
            std::string::npos)
      << metrics;
}

// A ladder from an HEVC source: HEVC + AAC published over enhanced RTMP (tools/ertmp) is decoded with
// @h265dec and encoded to H.264, a rendition that plays over (legacy) HTTP-FLV.
TEST(Transcode, HevcSourceYieldsH264Rendition) {
  const std::string tmp = make_temp_dir();
  const std::string dir = tmp + "/pipelines.d";
  ASSERT_EQ(run({"mkdir", "-p", dir}, 5).exit_code, 0);
  std::ofstream(dir + "/ladder.conf")
      << "[pipeline small]\nmatch=live/hv\ntrigger=publish\noutput=transcode\n"
         "launch=estuarysrc name=src stream={name} estuarysink name=r stream={name}_small\n"
         "video=src.video ! queue ! h265parse ! @h265dec ! videoscale ! video/x-raw,width=160,height=120 ! "
         "@h264enc bitrate=200 gop=25 tune=latency preset=fastest ! h264parse ! r.\n"
         "audio=src.audio ! queue ! aacparse ! r.\n";
  const std::string file = tmp + "/hevc.mp4";
  std::string err;
  ASSERT_TRUE(make_hevc_aac_file(file, &err)) << err;
  Server server({}, {"--pipelines", dir});
  ASSERT_TRUE(server.start()) << server.log();
  Process source = start_ertmp_publisher(file, server.rtmp_url("live/hv"), server.dir() + "/hv.log", 20);
  ASSERT_TRUE(wait_for_stream(server, "live/hv", 15000)) << server.log();
  ASSERT_TRUE(wait_for_stream(server, "live/hv_small", 20000)) << server.log();
  auto streams = probe_streams(server.flv_url("live/hv_small"));
  EXPECT_TRUE(has_video(streams, 160, 120)) << server.log();
  bool aac = false;
  for (const auto& p : streams) aac |= p.codec_type == "audio" && p.codec_name == "aac";
  EXPECT_TRUE(aac) << server.log();
  EXPECT_NE(server.log().find("transcode-start"), std::string::npos);
}

// The shipped health example: a black, silent stream is flagged (API, metrics, log); a moving
// pattern with a tone is watched and not flagged.
TEST(Health, BlackSilentStreamIsFlaggedAndNormalOneIsNot) {
  Server server({}, {"--pipelines", pipelines_dir_with("health.conf.example", "health")});
  ASSERT_TRUE(server.start()) << server.log();
  Process dark = publish(server.rtmp_url("live/dark"), "color=c=black:size=320x240:rate=15",
                         "anullsrc=r=44100:cl=stereo", 15, server.dir() + "/dark.log");
  Process fine = publish(server.rtmp_url("live/fine"), "testsrc2=size=320x240:rate=15", "sine=frequency=440", 15,
                         server.dir() + "/fine.log");
  ASSERT_TRUE(wait_for_stream(server, "live/dark", 10000)) << server.log();
  ASSERT_TRUE(wait_for_stream(server, "live/fine", 10000)) << server.log();

  struct Flags {
    bool present = false, black = false, frozen = false, silent = false, drift = false;
  };
  auto health = [&](const std::string& name) {
    Flags f;
    each_stream(server, [&](JsonObject* o) {
      if (std::string(json_object_get_string_member_with_default(o, "name", "")) != name ||
          !json_object_has_member(o, "health"))
        return;
      JsonObject* h = json_object_get_object_member(o, "health");
      f.present = true;
      f.black = json_object_get_boolean_member_with_default(h, "black", false);
      f.frozen = json_object_get_boolean_member_with_default(h, "frozen", false);
      f.silent = json_object_get_boolean_member_with_default(h, "silent", false);
      f.drift = json_object_get_boolean_member_with_default(h, "drift", false);
    });
    return f;
  };
  // black-duration=2 and silence-duration=2 s of stream time in the example.
  EXPECT_TRUE(wait_until(
      [&] {
        Flags f = health("dark");
        return f.black && f.silent;
      },
      15s))
      << server.log();
  Flags fine_flags = health("fine");
  EXPECT_TRUE(fine_flags.present) << "the watched stream shows its (clear) health";
  EXPECT_FALSE(fine_flags.black);
  EXPECT_FALSE(fine_flags.frozen);
  EXPECT_FALSE(fine_flags.silent);
  EXPECT_FALSE(fine_flags.drift);

  std::string metrics;
  ASSERT_EQ(http_request("GET", api(server, "/metrics"), &metrics), 200);
  EXPECT_NE(metrics.find("estuary_stream_health_condition{app=\"live\",stream=\"dark\",condition=\"black\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("estuary_stream_health_condition{app=\"live\",stream=\"fine\",condition=\"black\"} 0"),
            std::string::npos)
      << metrics;
  const std::string log = server.log();
  EXPECT_NE(log.find("black raised"), std::string::npos) << log;
  EXPECT_NE(log.find("silence raised"), std::string::npos) << log;
}

}  // namespace
