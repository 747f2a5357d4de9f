// Owns: end-to-end tests of forwarding ([forward NAME]): instance A forwards live/* over RTMP to a
// second instance B on other ports; B serves the stream; killing B leaves A's stream and its
// HTTP-FLV viewer undisturbed while A's destination backs off; B coming back resumes forwarding.
// Status and bytes per destination through /api/v1/forwards. HEVC and AV1 forwarded as enhanced RTMP,
// HEVC over SRT too.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "harness.h"

using namespace estuary::e2e;
using namespace std::chrono_literals;

namespace {

struct ForwardInfo {
  std::string state, url, last_error;
  int64_t restarts = -1, bytes = -1;
  int count = 0;
};
ForwardInfo forward_info(const Server& s) {
  ForwardInfo info;
  std::string body;
  if (http_request("GET", "http://127.0.0.1:" + std::to_string(s.api_port()) + "/api/v1/forwards", &body) != 200)
    return info;
  JsonNode* root = parse_json(body);
  if (!root) return info;
  JsonArray* arr = json_object_get_array_member(json_node_get_object(root), "forwards");
  info.count = arr ? int(json_array_get_length(arr)) : 0;
  if (info.count > 0) {
    JsonObject* o = json_array_get_object_element(arr, 0);
    info.state = json_object_get_string_member_with_default(o, "state", "");
    info.url = json_object_get_string_member_with_default(o, "url", "");
    info.last_error = json_object_get_string_member_with_default(o, "last_error", "");
    info.restarts = json_object_get_int_member_with_default(o, "restarts", -1);
    info.bytes = json_object_get_int_member_with_default(o, "send_bytes", -1);
  }
  json_node_unref(root);
  return info;
}

template <typename Pred>
bool eventually(int timeout_ms, Pred pred) {
  for (int waited = 0; waited < timeout_ms; waited += 100) {
    if (pred()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return pred();
}

TEST(Forward, SecondInstanceServesTheStreamAndComesBackWithoutDisturbingTheFirst) {
  Server b;
  ASSERT_TRUE(b.start()) << b.log();
  const std::string dir = make_temp_dir();
  const std::string conf = dir + "/estuary.conf";
  std::ofstream(conf) << "[forward to-b]\n"
                         "match = live/*\n"
                         "url = rtmp://127.0.0.1:"
                      << b.rtmp_port()
                      << "/live/{stream}\n"
                         "retry_min_ms = 300\n"
                         "retry_max_ms = 1000\n";
  Server a({}, {"--config", conf});
  ASSERT_TRUE(a.start()) << a.log();

  Process publisher = start_publisher(a.rtmp_url("live/fwd"), 320, 180, a.dir() + "/ffmpeg.log", 45);
  ASSERT_TRUE(wait_for_stream(a, "live/fwd", 15000)) << a.log();
  ASSERT_TRUE(wait_for_stream(b, "live/fwd", 15000)) << a.log() << b.log();
  auto streams = probe_streams(b.flv_url("live/fwd"));
  EXPECT_TRUE(has_stream(streams, "video", "h264")) << b.log();
  EXPECT_TRUE(has_stream(streams, "audio", "aac")) << b.log();
  EXPECT_TRUE(eventually(3000, [&] { return forward_info(a).state == "forwarding"; })) << a.log();
  ForwardInfo info = forward_info(a);
  EXPECT_EQ(info.count, 1);
  EXPECT_GT(info.bytes, 0);

  // A viewer of A records 12 s while B goes away and comes back.
  const std::string recording = a.dir() + "/viewer.flv";
  Process viewer({"ffmpeg", "-hide_banner", "-loglevel", "error", "-i", a.flv_url("live/fwd"), "-t", "12", "-c", "copy",
                  "-y", recording},
                 a.dir() + "/viewer.log");
  std::this_thread::sleep_for(2s);
  b.stop();
  EXPECT_TRUE(eventually(8000, [&] {
    ForwardInfo f = forward_info(a);
    return f.state != "forwarding" && f.restarts >= 1;
  })) << a.log();
  EXPECT_FALSE(forward_info(a).last_error.empty());
  EXPECT_TRUE(wait_for_stream(a, "live/fwd", 1000)) << "A's stream must not be disturbed\n" << a.log();

  std::this_thread::sleep_for(1s);
  ASSERT_TRUE(b.start()) << b.log();
  ASSERT_TRUE(wait_for_stream(b, "live/fwd", 15000)) << a.log() << b.log();
  EXPECT_TRUE(eventually(3000, [&] { return forward_info(a).state == "forwarding"; })) << a.log();
  streams = probe_streams(b.flv_url("live/fwd"));
  EXPECT_TRUE(has_stream(streams, "video", "h264")) << b.log();

  // A's viewer was never cut: it recorded its full 12 s.
  EXPECT_EQ(viewer.wait(20000), 0);
  RunResult d = run({"ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", recording}, 15);
  EXPECT_GE(std::atof(d.out.c_str()), 11.0) << d.out << d.err;
}

// An HEVC stream published over enhanced RTMP (tools/ertmp) to A is forwarded to B as enhanced RTMP
// (rtmp://, written by Estuary's FLV writer) and as MPEG-TS over SRT; ffprobe sees HEVC at B over
// HTTP-TS for both. An AV1 + Opus stream goes to B as enhanced RTMP too.
TEST(Forward, HevcAndAv1GoAsEnhancedRtmpHevcAlsoOverSrt) {
  Server b;
  ASSERT_TRUE(b.start()) << b.log();
  const std::string dir = make_temp_dir();
  const std::string file = dir + "/hevc.mp4";
  std::string err;
  ASSERT_TRUE(make_hevc_aac_file(file, &err)) << err;
  const std::string av1 = dir + "/av1.mkv";  // libaom realtime, 160x120 15 fps: about a second of CPU
  RunResult made = run({"ffmpeg", "-nostdin", "-loglevel", "error",
                        "-f",     "lavfi",    "-i",        "testsrc2=size=160x120:rate=15",
                        "-f",     "lavfi",    "-i",        "sine=frequency=440:sample_rate=48000",
                        "-t",     "2",        "-c:v",      "libaom-av1",
                        "-usage", "realtime", "-cpu-used", "8",
                        "-b:v",   "200k",     "-g",        "15",
                        "-c:a",   "libopus",  av1},
                       60);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string conf = dir + "/estuary.conf";
  std::ofstream(conf) << "[forward to-b]\nmatch = live/*\nurl = rtmp://127.0.0.1:" << b.rtmp_port()
                      << "/live/{stream}\nretry_min_ms = 300\nretry_max_ms = 1000\n\n"
                         "[forward to-b-srt]\nmatch = live/h\nurl = srt://127.0.0.1:"
                      << b.srt_port() << "?streamid=%23!::r=live/srt-{stream},m=publish\nretry_min_ms = 300\n";
  Server a({}, {"--config", conf});
  ASSERT_TRUE(a.start()) << a.log();
  Process pub = start_ertmp_publisher(file, a.rtmp_url("live/h"), dir + "/pub.log");
  Process pub_av1 = start_ertmp_publisher(av1, a.rtmp_url("live/a"), dir + "/pub-av1.log");
  ASSERT_TRUE(wait_for_stream(a, "live/h", 15000)) << a.log();
  for (const char* key : {"live/h", "live/srt-h"}) {
    ASSERT_TRUE(wait_for_stream(b, key, 15000)) << key << a.log() << b.log();
    const std::string url = "http://127.0.0.1:" + std::to_string(b.http_port()) + "/" + key + ".ts";
    auto streams = probe_streams(url, 20);
    EXPECT_TRUE(has_stream(streams, "video", "hevc")) << url << b.log();
    EXPECT_TRUE(has_stream(streams, "audio", "aac")) << url << b.log();
    for (const auto& st : streams)
      if (st.codec_type == "video") EXPECT_EQ(st.width, 320) << url;
  }
  // AV1 + Opus arrives at B as E-RTMP (no TS for AV1): B's ingest lists both codecs.
  ASSERT_TRUE(wait_for_stream(b, "live/a", 15000)) << a.log() << b.log();
  std::string streams;
  http_request("GET", "http://127.0.0.1:" + std::to_string(b.api_port()) + "/api/v1/streams", &streams);
  EXPECT_NE(streams.find("\"AV1\""), std::string::npos) << streams;
  EXPECT_NE(streams.find("\"Opus\""), std::string::npos) << streams;
  EXPECT_NE(a.log().find("live/a client=- event=forward-start forwarding to rtmp://127.0.0.1:" +
                         std::to_string(b.rtmp_port()) + "/live/a as enhanced RTMP"),
            std::string::npos)
      << a.log();
  EXPECT_TRUE(eventually(3000, [&] { return forward_info(a).count == 3 && forward_info(a).state == "forwarding"; }))
      << a.log();
}

}  // namespace
