// Owns: end-to-end tests of what a cluster edge serves (issue #14 item 3, "every protocol at the
// edge"): a real redis-server on a free port, an origin and two edges as real processes on
// 127.0.0.1. With ffmpeg publishing to the origin, ffprobe on edge 1 sees H.264 + AAC over RTMP,
// HTTP-FLV, HTTP-TS, HLS, RTSP and SRT; a cold WHEP viewer (tools/rtcclient) on edge 2 is held
// while that edge pulls, then gets video and audio; each edge has one edge-pull client and the
// origin sees exactly one player per edge. Without a registry, an edge whose first static origin
// is down pulls from the second; an edge pulls from another edge (two tiers). Redis stopped mid-run: a flowing pull
// goes on, a new lookup fails with a clear error (not-found for its viewer) and works again once Redis is back.
// pull_protocol = srt: the edge pulls over SRT from the SRT address the origin advertises in the
// registry, the viewer's token and the pull path in the stream id; a cold RTSP viewer's DESCRIBE
// waits for that pull.
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "cluster_fixture.h"
#include "flv_viewer.h"
#include "harness.h"
#include "rtc_client.h"

using namespace estuary::e2e;

namespace {

std::string http_url(const Server& s, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(s.http_port()) + "/" + path;
}

// An on_play hook for the origin: records each request's param and allows only token=good.
const char* kHookServer = R"PY(
import json, sys
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
port, record = int(sys.argv[1]), sys.argv[2]
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get('Content-Length', '0'))).decode())
        with open(record, 'a') as f:
            f.write(body.get('action', '') + ' ' + body.get('param', '') + '\n')
        ok = 'token=good' in body.get('param', '')
        data = b'0' if ok else b'denied'
        self.send_response(200 if ok else 403)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)
ThreadingHTTPServer(('127.0.0.1', port), H).serve_forever()
)PY";

std::string file_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(EdgeServe, EveryProtocolAtTwoEdgesFromOneUpstreamEach) {
  Redis redis;
  ASSERT_TRUE(redis.start());
  Server origin(node_env("origin", "origin-a", redis));
  Server edge1(node_env("edge", "edge-1", redis));
  auto env2 = node_env("edge", "edge-2", redis);
  const int rtc_base = 30000 + (getpid() % 100) * 100;  // a port range of its own
  env2["ESTUARY_RTC_INTERFACES"] = "127.0.0.1";
  env2["ESTUARY_RTC_PORT_MIN"] = std::to_string(rtc_base);
  env2["ESTUARY_RTC_PORT_MAX"] = std::to_string(rtc_base + 99);
  Server edge2(env2);
  ASSERT_TRUE(origin.start());
  ASSERT_TRUE(edge1.start());
  ASSERT_TRUE(edge2.start());
  Process pub = start_publisher(origin.rtmp_url("live/a"), 320, 240, origin.dir() + "/pub.log", 40);
  ASSERT_TRUE(wait_for_stream(origin, "live/a", 15000));

  // A cold WHEP viewer on edge 2: its offer is held while the edge pulls the stream.
  gst_init(nullptr, nullptr);  // for the WHEP client
  estuary::rtcclient::WhepViewer whep(estuary::rtcclient::ViewerOptions{});
  ASSERT_EQ(whep.negotiate("http://127.0.0.1:" + std::to_string(edge2.api_port()) + "/rtc/v1/whep/?app=live&stream=a"),
            201)
      << whep.error() << whep.last_http().body << edge2.log();
  ASSERT_TRUE(whep.wait_connected(10000));
  EXPECT_TRUE(wait_until([&] { return whep.video_frames() >= 20 && whep.audio_buffers() >= 20; }, 8000))
      << "WHEP at edge 2: video " << whep.video_frames() << " audio " << whep.audio_buffers();
  EXPECT_NE(edge2.log().find("event=rtc-play-wait"), std::string::npos) << "the WHEP offer came before the pull";

  // A viewer on edge 1 holds its pull while the probes come and go.
  FlvViewer hold(edge1.http_port(), "/live/a.flv");
  ASSERT_TRUE(wait_until([&] { return hold.video_frames() > 5; }, 10000)) << edge1.log();
  const std::string srt = "srt://127.0.0.1:" + std::to_string(edge1.srt_port()) + "?streamid=#!::r=live/a,m=request";
  const std::string rtsp = "rtsp://127.0.0.1:" + std::to_string(edge1.rtsp_port()) + "/live/a";
  const std::vector<std::pair<std::string, std::string>> urls = {{"RTMP", edge1.rtmp_url("live/a")},
                                                                 {"HTTP-FLV", edge1.flv_url("live/a")},
                                                                 {"HTTP-TS", http_url(edge1, "live/a.ts")},
                                                                 {"HLS", http_url(edge1, "live/a.m3u8")},
                                                                 {"RTSP", rtsp},
                                                                 {"SRT", srt}};
  for (const auto& [name, url] : urls) {
    auto streams = probe_streams(url, 20);
    EXPECT_TRUE(has_stream(streams, "video", "h264")) << name << " at the edge: " << url;
    EXPECT_TRUE(has_stream(streams, "audio", "aac")) << name << " at the edge: " << url;
  }

  // One upstream per edge whatever the viewers and protocols; the origin sees one player per edge.
  EXPECT_EQ(type_count(edge1, "edge-pull"), 1);
  EXPECT_EQ(type_count(edge2, "edge-pull"), 1);
  EXPECT_EQ(type_count(origin, "rtmp-play"), 2) << "one player per edge at the origin";
  EXPECT_EQ(count_of(edge1.log(), "event=edge-pull-start"), 1u) << edge1.log();
  EXPECT_EQ(count_of(edge2.log(), "event=edge-pull-start"), 1u) << edge2.log();
  EXPECT_EQ(metric(edge1, "estuary_cluster_edge_upstreams"), 1);
  EXPECT_EQ(metric(edge2, "estuary_cluster_edge_upstreams"), 1);
  EXPECT_FALSE(hold.closed());
  EXPECT_GT(whep.video_frames(), 20u);
  whep.close(true);
}

TEST(EdgeServe, StaticOriginsFallBackToTheSecondWhenTheFirstIsDown) {
  Server origin;  // standalone: a plain server is an origin for a static list
  ASSERT_TRUE(origin.start());
  const int dead = free_tcp_port();  // nothing listens there
  Server edge({{"ESTUARY_CLUSTER_MODE", "edge"},
               {"ESTUARY_CLUSTER_NODE_ID", "edge-1"},
               {"ESTUARY_CLUSTER_ORIGINS",
                "rtmp://127.0.0.1:" + std::to_string(dead) + " rtmp://127.0.0.1:" + std::to_string(origin.rtmp_port())},
               {"ESTUARY_CLUSTER_LINGER_MS", "500"}});
  ASSERT_TRUE(edge.start());
  Process pub = start_publisher(origin.rtmp_url("live/s"), 320, 240, origin.dir() + "/pub.log", 30);
  ASSERT_TRUE(wait_for_stream(origin, "live/s", 15000));
  auto flv = probe_streams(edge.flv_url("live/s"), 20);
  EXPECT_TRUE(has_stream(flv, "video", "h264") && has_stream(flv, "audio", "aac")) << edge.log();
  EXPECT_NE(edge.log().find(std::to_string(origin.rtmp_port()) + "/live/s"), std::string::npos) << edge.log();
}

TEST(EdgeServe, RegistryOutageKeepsFlowingPullsAndLookupsRecover) {
  Redis redis;
  ASSERT_TRUE(redis.start());
  Server origin(node_env("origin", "origin-a", redis));
  auto edge_env = node_env("edge", "edge-1", redis);
  edge_env["ESTUARY_PLAY_WAIT_MS"] = "2000";
  Server edge(edge_env);
  ASSERT_TRUE(origin.start());
  ASSERT_TRUE(edge.start());
  Process pub_a = start_publisher(origin.rtmp_url("live/a"), 320, 240, origin.dir() + "/pub-a.log", 40);
  Process pub_b = start_publisher(origin.rtmp_url("live/b"), 320, 240, origin.dir() + "/pub-b.log", 40);
  ASSERT_TRUE(wait_for_stream(origin, "live/a", 15000));
  ASSERT_TRUE(wait_for_stream(origin, "live/b", 15000));
  FlvViewer viewer(edge.http_port(), "/live/a.flv");
  ASSERT_TRUE(wait_until([&] { return viewer.video_frames() > 10; }, 10000)) << edge.log();

  redis.stop();
  const auto stopped = std::chrono::steady_clock::now();
  std::string body;
  EXPECT_EQ(http_request("GET", edge.flv_url("live/b"), &body), 404) << "a new lookup while Redis is down";
  EXPECT_TRUE(wait_until([&] { return edge.log().find("event=edge-lookup-failed") != std::string::npos; }, 2000))
      << edge.log();
  EXPECT_GT(viewer.video_frames_after(stopped), 10u) << "the flowing pull must go on without the registry";
  EXPECT_FALSE(viewer.closed());

  ASSERT_TRUE(redis.start());  // empty: the origin registers its streams again
  EXPECT_TRUE(wait_until(
      [&] {
        auto streams = probe_streams(edge.flv_url("live/b"), 10);
        return has_stream(streams, "video", "h264");
      },
      15000))
      << edge.log();
  EXPECT_FALSE(viewer.closed());
  EXPECT_GT(metric(edge, "estuary_cluster_registry_errors_total"), 0);
}

TEST(EdgeServe, AnEdgePullsFromAnotherEdge) {
  // Two tiers without a registry: edge 2 pulls from edge 1, which pulls from the origin.
  Server origin;
  ASSERT_TRUE(origin.start());
  auto edge_env = [](const std::string& node, int upstream_rtmp) {
    return std::map<std::string, std::string>{
        {"ESTUARY_CLUSTER_MODE", "edge"},
        {"ESTUARY_CLUSTER_NODE_ID", node},
        {"ESTUARY_CLUSTER_ORIGINS", "rtmp://127.0.0.1:" + std::to_string(upstream_rtmp)},
        {"ESTUARY_CLUSTER_LINGER_MS", "1000"}};
  };
  Server edge1(edge_env("edge-1", origin.rtmp_port()));
  ASSERT_TRUE(edge1.start());
  Server edge2(edge_env("edge-2", edge1.rtmp_port()));
  ASSERT_TRUE(edge2.start());
  Process pub = start_publisher(origin.rtmp_url("live/t"), 320, 240, origin.dir() + "/pub.log", 30);
  ASSERT_TRUE(wait_for_stream(origin, "live/t", 15000));
  FlvViewer viewer(edge2.http_port(), "/live/t.flv");
  ASSERT_TRUE(wait_until([&] { return viewer.video_frames() > 10; }, 10000)) << edge2.log() << edge1.log();
  auto flv = probe_streams(edge2.flv_url("live/t"), 20);
  EXPECT_TRUE(has_stream(flv, "video", "h264") && has_stream(flv, "audio", "aac")) << edge2.log();
  EXPECT_EQ(type_count(edge2, "edge-pull"), 1);
  EXPECT_EQ(type_count(edge1, "edge-pull"), 1);
  EXPECT_EQ(type_count(edge1, "rtmp-play"), 1) << "edge 1 sees edge 2 as one player";
  EXPECT_EQ(type_count(origin, "rtmp-play"), 1) << "the origin sees edge 1 as one player";
  // The pull path grows by one hop per tier.
  EXPECT_NE(edge1.log().find("estuary_hops=2&estuary_via=edge-2,edge-1"), std::string::npos) << edge1.log();
}

TEST(EdgeServe, SrtPullFromTheOriginsAdvertisedSrtAddress) {
  Redis redis;
  ASSERT_TRUE(redis.start());
  const std::string dir = make_temp_dir();
  const int hook_port = free_tcp_port();
  {
    std::ofstream f(dir + "/hook.py");
    f << kHookServer;
  }
  Process hook({"python3", dir + "/hook.py", std::to_string(hook_port), dir + "/hooks.txt"}, dir + "/hook.log");
  auto origin_env = node_env("origin", "origin-a", redis);
  origin_env["ESTUARY_HOOKS_ON_PLAY"] = "http://127.0.0.1:" + std::to_string(hook_port) + "/auth";
  Server origin(origin_env);
  auto edge_env = node_env("edge", "edge-1", redis);
  edge_env["ESTUARY_CLUSTER_PULL_PROTOCOL"] = "srt";
  Server edge(edge_env);
  ASSERT_TRUE(origin.start());
  ASSERT_TRUE(edge.start());
  Process pub = start_publisher(origin.rtmp_url("live/v"), 320, 240, origin.dir() + "/pub.log", 30);
  ASSERT_TRUE(wait_for_stream(origin, "live/v", 15000));
  // The origin advertises its SRT address with the stream (no advertise key: its own SRT port).
  const std::string srt_base = "srt://127.0.0.1:" + std::to_string(origin.srt_port());
  EXPECT_TRUE(wait_until(
      [&] {
        return api_get(edge, "/api/v1/clusters?app=live&stream=v").find("\"srt\":\"" + srt_base + "\"") !=
               std::string::npos;
      },
      3000))
      << api_get(edge, "/api/v1/clusters?app=live&stream=v");

  // A cold RTSP viewer: its DESCRIBE is held while the edge pulls the stream (over SRT), then answered.
  auto rtsp = probe_streams("rtsp://127.0.0.1:" + std::to_string(edge.rtsp_port()) + "/live/v?token=good", 20);
  EXPECT_TRUE(has_stream(rtsp, "video", "h264")) << "cold RTSP at the edge" << edge.log();
  EXPECT_TRUE(has_stream(rtsp, "audio", "aac")) << "cold RTSP at the edge";
  EXPECT_NE(edge.log().find("event=rtsp-describe-wait"), std::string::npos) << edge.log();

  FlvViewer hold(edge.http_port(), "/live/v.flv?token=good");
  ASSERT_TRUE(wait_until([&] { return hold.video_frames() > 10; }, 10000)) << edge.log() << origin.log();
  for (const auto& [name, url] : std::vector<std::pair<std::string, std::string>>{
           {"RTMP", edge.rtmp_url("live/v")}, {"HTTP-FLV", edge.flv_url("live/v")}}) {
    auto streams = probe_streams(url, 20);
    EXPECT_TRUE(has_stream(streams, "video", "h264")) << name << " at the SRT-pulling edge";
    EXPECT_TRUE(has_stream(streams, "audio", "aac")) << name << " at the SRT-pulling edge";
  }
  EXPECT_EQ(type_count(edge, "edge-pull"), 1);
  EXPECT_TRUE(wait_until([&] { return type_count(origin, "srt-play") == 1; }, 3000))
      << "the origin sees the edge as one SRT player";
  EXPECT_EQ(type_count(origin, "rtmp-play"), 0);
  EXPECT_NE(edge.log().find("over SRT"), std::string::npos) << edge.log();
  // The token and the pull path travel in the stream id to the origin's hook.
  EXPECT_NE(file_text(dir + "/hooks.txt").find("token=good&estuary_hops=1&estuary_via=edge-1"), std::string::npos)
      << file_text(dir + "/hooks.txt");
  EXPECT_FALSE(hold.closed());
}

TEST(EdgeServe, TheViewersTokenGoesUpstreamToTheOriginsHook) {
  const std::string dir = make_temp_dir();
  const int hook_port = free_tcp_port();
  {
    std::ofstream f(dir + "/hook.py");
    f << kHookServer;
  }
  Process hook({"python3", dir + "/hook.py", std::to_string(hook_port), dir + "/hooks.txt"}, dir + "/hook.log");
  Server origin({{"ESTUARY_HOOKS_ON_PLAY", "http://127.0.0.1:" + std::to_string(hook_port) + "/auth"}});
  ASSERT_TRUE(origin.start());
  Server edge({{"ESTUARY_CLUSTER_MODE", "edge"},
               {"ESTUARY_CLUSTER_NODE_ID", "edge-1"},
               {"ESTUARY_CLUSTER_ORIGINS", "rtmp://127.0.0.1:" + std::to_string(origin.rtmp_port())},
               {"ESTUARY_PLAY_WAIT_MS", "2000"},
               {"ESTUARY_CLUSTER_LINGER_MS", "300"}});
  ASSERT_TRUE(edge.start());
  Process pub = start_publisher(origin.rtmp_url("live/k"), 320, 240, origin.dir() + "/pub.log", 30);
  ASSERT_TRUE(wait_for_stream(origin, "live/k", 15000));

  // The origin's hook refuses the edge's pull for a viewer with a bad token: not-found at the edge.
  std::string body;
  EXPECT_EQ(http_request("GET", edge.flv_url("live/k") + "?token=bad", &body), 404) << edge.log();
  EXPECT_NE(file_text(dir + "/hooks.txt").find("on_play ?token=bad&estuary_hops=1&estuary_via=edge-1"),
            std::string::npos)
      << file_text(dir + "/hooks.txt");
  ASSERT_TRUE(wait_until([&] { return type_count(edge, "edge-pull") == 0; }, 5000)) << edge.log();
  // A good token goes up the same way and the stream plays.
  auto flv = probe_streams(edge.flv_url("live/k") + "?token=good", 20);
  EXPECT_TRUE(has_stream(flv, "video", "h264")) << edge.log();
  EXPECT_NE(file_text(dir + "/hooks.txt").find("on_play ?token=good&estuary_hops=1&estuary_via=edge-1"),
            std::string::npos)
      << file_text(dir + "/hooks.txt");
}

}  // namespace
