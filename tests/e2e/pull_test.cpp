// Owns: end-to-end tests of pulled sources ([source NAME]): an RTSP camera stand-in
// (estuary-rtsp-test-source, gst-rtsp-server in its own process on a free port) pulled as cams/one
// plays over HTTP-FLV; stopping the camera ends the stream and it comes back with the camera; a
// mode=demand source stays idle until an HTTP-FLV viewer arrives and stops after the last one left;
// a looped file stays live past its end. Status through /api/v1/sources.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "harness.h"

using namespace estuary::e2e;
using namespace std::chrono_literals;

namespace {

bool port_accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// The RTSP camera stand-in, listening on port.
Process start_camera(int port, const std::string& log) {
  Process p({build_root() + "/tests/e2e/estuary-rtsp-test-source", std::to_string(port)}, log);
  for (int i = 0; i < 100 && !port_accepts(port); ++i) std::this_thread::sleep_for(50ms);
  return p;
}

std::string write_config(const std::string& dir, const std::string& text) {
  std::string path = dir + "/estuary.conf";
  std::ofstream(path) << text;
  return path;
}

// The /api/v1/sources object of a source: "field=value" for the fields asked, or "" if absent.
struct SourceInfo {
  std::string state, kind, url, last_error;
  int64_t restarts = -1, bytes = -1;
};
SourceInfo source_info(const Server& s, const std::string& name) {
  SourceInfo info;
  std::string body;
  if (http_request("GET", "http://127.0.0.1:" + std::to_string(s.api_port()) + "/api/v1/sources", &body) != 200)
    return info;
  JsonNode* root = parse_json(body);
  if (!root) return info;
  JsonArray* arr = json_object_get_array_member(json_node_get_object(root), "sources");
  for (guint i = 0; arr && i < json_array_get_length(arr); ++i) {
    JsonObject* o = json_array_get_object_element(arr, i);
    if (std::string(json_object_get_string_member_with_default(o, "name", "")) != name) continue;
    info.state = json_object_get_string_member_with_default(o, "state", "");
    info.kind = json_object_get_string_member_with_default(o, "kind", "");
    info.url = json_object_get_string_member_with_default(o, "url", "");
    info.last_error = json_object_get_string_member_with_default(o, "last_error", "");
    info.restarts = json_object_get_int_member_with_default(o, "restarts", -1);
    info.bytes = json_object_get_int_member_with_default(o, "recv_bytes", -1);
  }
  json_node_unref(root);
  return info;
}

bool wait_for_state(const Server& s, const std::string& name, const std::string& state, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 100) {
    if (source_info(s, name).state == state) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

TEST(Pull, RtspSourcePlaysEndsWithTheCameraAndComesBack) {
  const int cam_port = free_tcp_port();
  const std::string conf = write_config(make_temp_dir(),
                                        "[source one]\n"
                                        "stream = cams/one\n"
                                        "url = rtsp://user:secret@127.0.0.1:" +
                                            std::to_string(cam_port) +
                                            "/cam\n"
                                            "retry_min_ms = 300\n"
                                            "retry_max_ms = 1000\n"
                                            "timeout_ms = 4000\n");
  Server server({}, {"--config", conf});
  Process camera = start_camera(cam_port, server.dir() + "/camera.log");
  ASSERT_TRUE(server.start()) << server.log();
  ASSERT_TRUE(wait_for_stream(server, "cams/one", 15000)) << server.log();
  SourceInfo info = source_info(server, "one");
  EXPECT_EQ(info.state, "live");
  EXPECT_EQ(info.kind, "rtsp");
  EXPECT_EQ(info.url.find("secret"), std::string::npos) << "credentials must be redacted: " << info.url;

  auto streams = probe_streams(server.flv_url("cams/one"));
  EXPECT_TRUE(has_stream(streams, "video", "h264")) << server.log();
  EXPECT_TRUE(has_stream(streams, "audio", "aac")) << server.log();
  for (const auto& st : streams)
    if (st.codec_type == "video") EXPECT_EQ(st.width, 320);

  // The camera goes away: the stream ends, the source retries with backoff.
  camera.kill_now();
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    std::this_thread::sleep_for(100ms);
    gone = api_stream_count(server) == 0;
  }
  EXPECT_TRUE(gone) << "stream still listed after the camera stopped\n" << server.log();
  info = source_info(server, "one");
  EXPECT_NE(info.state, "live");
  EXPECT_GE(info.restarts, 1);
  EXPECT_FALSE(info.last_error.empty());

  // The camera returns: so does the stream.
  camera = start_camera(cam_port, server.dir() + "/camera2.log");
  ASSERT_TRUE(wait_for_stream(server, "cams/one", 15000)) << server.log();
  streams = probe_streams(server.flv_url("cams/one"));
  EXPECT_TRUE(has_stream(streams, "video", "h264")) << server.log();
  EXPECT_EQ(source_info(server, "one").state, "live");
}

TEST(Pull, OnDemandSourceStartsWithTheFirstViewerAndStopsAfterTheLast) {
  const int cam_port = free_tcp_port();
  const std::string conf = write_config(make_temp_dir(),
                                        "[source two]\n"
                                        "stream = cams/two\n"
                                        "url = rtsp://127.0.0.1:" +
                                            std::to_string(cam_port) +
                                            "/cam\n"
                                            "mode = demand\n"
                                            "rtsp_transport = tcp\n"
                                            "linger_ms = 1500\n");
  // A player of a stream nobody offers waits [play] wait_ms (1 s here) before its 404.
  Server server({{"ESTUARY_PLAY_WAIT_MS", "1000"}}, {"--config", conf});
  Process camera = start_camera(cam_port, server.dir() + "/camera.log");
  ASSERT_TRUE(server.start()) << server.log();
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(source_info(server, "two").state, "idle");
  EXPECT_EQ(api_stream_count(server), 0) << "an on-demand source must not run without viewers";
  std::string body;
  EXPECT_EQ(http_request("GET", server.flv_url("nothere/x"), &body), 404);

  // The first viewer starts it and gets the stream (it waits while the source connects).
  auto streams = probe_streams(server.flv_url("cams/two"), 20);
  EXPECT_TRUE(has_stream(streams, "video", "h264")) << server.log();
  EXPECT_TRUE(has_stream(streams, "audio", "aac")) << server.log();
  EXPECT_GT(source_info(server, "two").bytes, 0);

  // After the last viewer left and linger_ms passed, it stops again.
  EXPECT_TRUE(wait_for_state(server, "two", "idle", 8000)) << server.log();
  EXPECT_EQ(api_stream_count(server), 0) << server.log();
}

TEST(Pull, LoopedFileStaysLivePastItsEnd) {
  const std::string dir = make_temp_dir();
  const std::string file = dir + "/clip.mp4";
  RunResult made = run({"ffmpeg", "-hide_banner", "-loglevel", "error",
                        "-f",     "lavfi",        "-i",        "testsrc2=size=320x180:rate=15:duration=2",
                        "-f",     "lavfi",        "-i",        "sine=frequency=440:sample_rate=44100:duration=2",
                        "-c:v",   "libx264",      "-preset",   "ultrafast",
                        "-g",     "15",           "-pix_fmt",  "yuv420p",
                        "-c:a",   "aac",          "-shortest", "-y",
                        file},
                       30);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string conf = write_config(dir,
                                        "[source clip]\n"
                                        "stream = files/clip\n"
                                        "url = file://" +
                                            file + "\n");
  Server server({}, {"--config", conf});
  ASSERT_TRUE(server.start()) << server.log();
  ASSERT_TRUE(wait_for_stream(server, "files/clip", 10000)) << server.log();
  EXPECT_EQ(source_info(server, "clip").kind, "file");
  // Three passes of the 2 s file later, the stream is still the same live source and plays.
  std::this_thread::sleep_for(5s);
  SourceInfo info = source_info(server, "clip");
  EXPECT_EQ(info.state, "live") << server.log();
  EXPECT_EQ(info.restarts, 0) << server.log();
  auto streams = probe_streams(server.flv_url("files/clip"));
  EXPECT_TRUE(has_stream(streams, "video", "h264")) << server.log();
  EXPECT_TRUE(has_stream(streams, "audio", "aac")) << server.log();
}

TEST(Pull, RtmpHlsHttpAndSrtSources) {
  // One instance pulls its own stream back over RTMP, HLS and HTTP-FLV; ffmpeg is an SRT listener.
  const std::string dir = make_temp_dir();
  const std::string conf = dir + "/estuary.conf";
  Server server({{"ESTUARY_HLS_VARIANT", "ts"}}, {"--config", conf});  // the HLS source pulls MPEG-TS
  const int srt_port = free_udp_port();
  const std::string base = "127.0.0.1:" + std::to_string(server.http_port()) + "/live/src";
  std::ofstream(conf) << "[source r]\nstream = pull/rtmp\nretry_min_ms = 300\nurl = rtmp://127.0.0.1:"
                      << server.rtmp_port() << "/live/src\n"
                      << "[source h]\nstream = pull/hls\nretry_min_ms = 300\nurl = http://" << base << ".m3u8\n"
                      << "[source f]\nstream = pull/flv\nretry_min_ms = 300\nurl = http://" << base << ".flv\n"
                      << "[source s]\nstream = pull/srt\nretry_min_ms = 300\nurl = srt://127.0.0.1:" << srt_port
                      << "?mode=caller\n";
  ASSERT_TRUE(server.start()) << server.log();
  Process publisher = start_publisher(server.rtmp_url("live/src"), 320, 180, server.dir() + "/ffmpeg.log", 40);
  Process srt({"ffmpeg",
               "-hide_banner",
               "-loglevel",
               "error",
               "-re",
               "-f",
               "lavfi",
               "-i",
               "testsrc2=size=352x288:rate=25:duration=40",
               "-f",
               "lavfi",
               "-i",
               "sine=duration=40",
               "-c:v",
               "libx264",
               "-preset",
               "ultrafast",
               "-tune",
               "zerolatency",
               "-g",
               "25",
               "-pix_fmt",
               "yuv420p",
               "-c:a",
               "aac",
               "-f",
               "mpegts",
               "srt://127.0.0.1:" + std::to_string(srt_port) + "?mode=listener"},
              server.dir() + "/srt.log");
  for (const char* name : {"pull/rtmp", "pull/hls", "pull/flv", "pull/srt"})
    ASSERT_TRUE(wait_for_stream(server, name, 25000)) << name << "\n" << server.log();
  EXPECT_EQ(source_info(server, "h").kind, "hls");
  EXPECT_EQ(source_info(server, "s").kind, "srt");
  for (const char* name : {"pull/rtmp", "pull/hls", "pull/flv", "pull/srt"}) {
    auto streams = probe_streams(server.flv_url(name));
    EXPECT_TRUE(has_stream(streams, "video", "h264")) << name;
    EXPECT_TRUE(has_stream(streams, "audio", "aac")) << name;
    for (const auto& st : streams)
      if (st.codec_type == "video") EXPECT_EQ(st.width, std::string(name) == "pull/srt" ? 352 : 320) << name;
  }
}

}  // namespace
