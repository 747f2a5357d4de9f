// Owns: end-to-end tests of edge pulls and failover (issue #14 items 3, 5, 6, 7): a real
// redis-server on a free port, two origins and an edge as real processes on 127.0.0.1, ffmpeg
// publishing and ffprobe / raw HTTP-FLV readers playing. The edge pulls a stream it lacks once,
// however many viewers and protocols; when its origin is killed and the publisher republishes to
// the other origin, an HTTP-FLV and an RTMP viewer of the edge stay connected and receive frames
// again within 3 s, timestamps never going back, and a WHEP viewer stays connected and receives
// video again. A stream published at an edge plays from another edge (pushed to the origin). Two
// edges configured to pull from each other refuse the loop.
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "cluster_fixture.h"
#include "flv_viewer.h"
#include "harness.h"
#include "rtc_client.h"

using namespace estuary::e2e;
using namespace std::chrono_literals;

namespace {

using Env = std::map<std::string, std::string>;
using Clock = std::chrono::steady_clock;

TEST(EdgePull, EveryProtocolFromOneUpstreamAndFailoverKeepsViewers) {
  Redis redis;
  ASSERT_TRUE(redis.start());
  Server origin_a(node_env("origin", "origin-a", redis));
  Server origin_b(node_env("origin", "origin-b", redis));
  auto edge_env = node_env("edge", "edge-1", redis);
  const int rtc_base = 36000 + (getpid() % 100) * 100;  // a WebRTC port range of its own
  edge_env["ESTUARY_RTC_INTERFACES"] = "127.0.0.1";
  edge_env["ESTUARY_RTC_PORT_MIN"] = std::to_string(rtc_base);
  edge_env["ESTUARY_RTC_PORT_MAX"] = std::to_string(rtc_base + 99);
  Server edge(edge_env);
  ASSERT_TRUE(origin_a.start());
  ASSERT_TRUE(origin_b.start());
  ASSERT_TRUE(edge.start());

  Process pub = start_publisher(origin_a.rtmp_url("live/a"), 320, 240, origin_a.dir() + "/pub.log", 60);
  ASSERT_TRUE(wait_for_stream(origin_a, "live/a", 15000));

  // The first viewer of a stream the edge lacks: HTTP-FLV, kept open for the failover below.
  FlvViewer viewer(edge.http_port(), "/live/a.flv");
  ASSERT_TRUE(wait_until([&] { return viewer.video_frames() > 10; }, 10000)) << edge.log();
  EXPECT_EQ(viewer.status(), 200);
  // An RTMP viewer of the edge (ffmpeg copying to a growing FLV file), kept open too.
  const std::string rtmp_copy = edge.dir() + "/rtmp-viewer.flv";
  Process rtmp_viewer({"ffmpeg", "-nostdin", "-loglevel", "warning", "-i", edge.rtmp_url("live/a"), "-c", "copy", "-f",
                       "flv", "-flush_packets", "1", rtmp_copy},
                      edge.dir() + "/rtmp-viewer.log");
  ASSERT_TRUE(wait_until([&] { return flv_file_video_tags(rtmp_copy) > 10; }, 10000)) << edge.log();
  // And a WHEP viewer (depayloading only).
  gst_init(nullptr, nullptr);
  estuary::rtcclient::ViewerOptions whep_options;
  whep_options.decode = false;
  estuary::rtcclient::WhepViewer whep(whep_options);
  ASSERT_EQ(whep.negotiate("http://127.0.0.1:" + std::to_string(edge.api_port()) + "/rtc/v1/whep/?app=live&stream=a"),
            201)
      << whep.error() << whep.last_http().body;
  ASSERT_TRUE(whep.wait_connected(10000));
  ASSERT_TRUE(wait_until([&] { return whep.video_units() > 10; }, 8000)) << edge.log();

  // Other protocols from the same local stream.
  auto flv = probe_streams(edge.flv_url("live/a"));
  EXPECT_TRUE(has_stream(flv, "video", "h264") && has_stream(flv, "audio", "aac")) << "HTTP-FLV at the edge";
  auto rtmp = probe_streams(edge.rtmp_url("live/a"));
  EXPECT_TRUE(has_stream(rtmp, "video", "h264") && has_stream(rtmp, "audio", "aac")) << "RTMP at the edge";
  auto hls = probe_streams("http://127.0.0.1:" + std::to_string(edge.http_port()) + "/live/a.m3u8", 20);
  EXPECT_TRUE(has_stream(hls, "video", "h264")) << "HLS at the edge";

  // One upstream, one edge-pull client, whatever the number of viewers.
  EXPECT_EQ(type_count(edge, "edge-pull"), 1);
  EXPECT_EQ(type_count(origin_a, "rtmp-play"), 1) << "the origin sees the edge as one player";
  EXPECT_EQ(metric(edge, "estuary_cluster_edge_upstreams"), 1);
  EXPECT_EQ(count_of(edge.log(), "event=edge-pull-start"), 1u);

  // Origin A dies; the publisher republishes to origin B. The viewer stays and frames come again.
  const std::string m3u8 = "http://127.0.0.1:" + std::to_string(edge.http_port()) + "/live/a.m3u8";
  std::string playlist_before;
  EXPECT_EQ(http_request("GET", m3u8, &playlist_before), 200);
  const size_t before = viewer.video_frames();
  origin_a.process().signal(SIGKILL);
  origin_a.process().wait(3000);
  pub.kill_now();
  std::this_thread::sleep_for(300ms);
  const auto republish = Clock::now();
  const size_t rtmp_before = flv_file_video_tags(rtmp_copy);
  const uint64_t whep_before = whep.video_units();
  Process pub_b = start_publisher(origin_b.rtmp_url("live/a"), 320, 240, origin_b.dir() + "/pub.log", 60);
  // Both viewers get frames again within 3 s of the republish, then keep getting them.
  EXPECT_TRUE(wait_until([&] { return viewer.video_frames_after(republish) > 0; }, 3000)) << edge.log();
  EXPECT_TRUE(wait_until([&] { return flv_file_video_tags(rtmp_copy) > rtmp_before; }, 3000))
      << "RTMP viewer: no frame within 3 s of the republish\n"
      << edge.log();
  EXPECT_TRUE(wait_until([&] { return viewer.video_frames_after(republish) >= 25; }, 8000))
      << "frames after the republish: " << viewer.video_frames_after(republish) << "\n"
      << edge.log();
  EXPECT_FALSE(viewer.closed()) << "the viewer must not be disconnected by the failover";
  EXPECT_GT(viewer.video_frames(), before);
  EXPECT_TRUE(viewer.timestamps_monotonic()) << "FLV timestamps went back after the failover";
  EXPECT_TRUE(rtmp_viewer.running()) << "the RTMP viewer must not be disconnected by the failover";
  bool rtmp_monotonic = false;
  EXPECT_GE(flv_file_video_tags(rtmp_copy, &rtmp_monotonic), rtmp_before + 25);
  EXPECT_TRUE(rtmp_monotonic) << "RTMP timestamps went back after the failover";
  EXPECT_TRUE(wait_until([&] { return whep.video_units() >= whep_before + 25; }, 5000))
      << "WHEP: " << whep.video_units() - whep_before << " access units after the republish";
  EXPECT_TRUE(whep.connected()) << "the WHEP viewer must stay connected through the failover";
  // HLS at the edge goes on: new segments after the failover (the first one after a discontinuity
  // tag), the media sequence never going back.
  auto media_sequence = [](const std::string& text) {
    const size_t at = text.find("#EXT-X-MEDIA-SEQUENCE:");
    return at == std::string::npos ? -1L : std::atol(text.c_str() + at + 22);
  };
  auto segments_made = [&](const std::string& text) {  // the media sequence plus the segments listed
    return media_sequence(text) + long(count_of(text, "#EXTINF:"));
  };
  std::string playlist_after;
  EXPECT_TRUE(wait_until(
      [&] {
        return http_request("GET", m3u8, &playlist_after) == 200 &&
               segments_made(playlist_after) >= segments_made(playlist_before) + 3;
      },
      10000))
      << "before:\n"
      << playlist_before << "after:\n"
      << playlist_after;
  EXPECT_GE(media_sequence(playlist_after), media_sequence(playlist_before));
  EXPECT_GE(media_sequence(playlist_before), 0) << playlist_before;
  // The first segment after the gap follows an #EXT-X-DISCONTINUITY; none was there before.
  EXPECT_EQ(count_of(playlist_before, "#EXT-X-DISCONTINUITY\n"), 0u) << playlist_before;
  const size_t tag = playlist_after.find("#EXT-X-DISCONTINUITY\n");
  ASSERT_NE(tag, std::string::npos) << playlist_after << edge.log();
  EXPECT_EQ(count_of(playlist_after, "#EXT-X-DISCONTINUITY\n"), 1u) << playlist_after;
  const long tagged = media_sequence(playlist_after) + long(count_of(playlist_after.substr(0, tag), "#EXTINF:"));
  EXPECT_GE(tagged, segments_made(playlist_before)) << "the tag must come after the segments made before the kill\n"
                                                    << playlist_before << "after:\n"
                                                    << playlist_after;
  EXPECT_NE(edge.log().find("event=discontinuity"), std::string::npos);
  whep.close(true);
  EXPECT_EQ(metric(edge, "estuary_cluster_edge_failovers_total"), 1) << edge.log();
  EXPECT_EQ(type_count(edge, "edge-pull"), 1);
  EXPECT_EQ(type_count(origin_b, "rtmp-play"), 1);
  EXPECT_NE(edge.log().find("event=edge-failover"), std::string::npos);

  // A cold stream on another protocol: HTTP-TS alone starts its own pull.
  Process pub_c = start_publisher(origin_b.rtmp_url("live/c"), 320, 240, origin_b.dir() + "/pub-c.log", 30);
  ASSERT_TRUE(wait_for_stream(origin_b, "live/c", 15000));
  auto ts = probe_streams("http://127.0.0.1:" + std::to_string(edge.http_port()) + "/live/c.ts");
  EXPECT_TRUE(has_stream(ts, "video", "h264") && has_stream(ts, "audio", "aac")) << "HTTP-TS at the edge";

  // The last viewer leaves: the pull stops after the linger, and so does the origin's player.
  pub_c.kill_now();
  EXPECT_TRUE(wait_until([&] { return type_count(edge, "edge-pull") == 1; }, 6000)) << "live/c's pull stops";
}

TEST(EdgePull, ColdHlsPlaylistWaitsForThePull) {
  Redis redis;
  ASSERT_TRUE(redis.start());
  Server origin(node_env("origin", "origin-a", redis));
  Server edge(node_env("edge", "edge-1", redis));
  ASSERT_TRUE(origin.start());
  ASSERT_TRUE(edge.start());
  Process pub = start_publisher(origin.rtmp_url("live/h"), 320, 240, origin.dir() + "/pub.log", 40);
  ASSERT_TRUE(wait_for_stream(origin, "live/h", 15000));
  // Nothing else plays it at the edge: the playlist request itself starts the pull.
  auto hls = probe_streams("http://127.0.0.1:" + std::to_string(edge.http_port()) + "/live/h.m3u8", 25);
  EXPECT_TRUE(has_stream(hls, "video", "h264")) << edge.log();
  EXPECT_EQ(count_of(edge.log(), "event=edge-pull-start"), 1u);
}

TEST(EdgePublish, StreamPublishedAtAnEdgePlaysFromTheOtherEdge) {
  Redis redis;
  ASSERT_TRUE(redis.start());
  Server origin(node_env("origin", "origin-a", redis));
  Server edge1(node_env("edge", "edge-1", redis));
  Server edge2(node_env("edge", "edge-2", redis));
  ASSERT_TRUE(origin.start());
  ASSERT_TRUE(edge1.start());
  ASSERT_TRUE(edge2.start());
  ASSERT_TRUE(wait_until([&] { return api_get(edge1, "/api/v1/nodes").find("origin-a") != std::string::npos; }, 8000))
      << api_get(edge1, "/api/v1/nodes") << edge1.log();
  Process pub = start_publisher(edge1.rtmp_url("live/e"), 320, 240, edge1.dir() + "/pub.log", 30);
  ASSERT_TRUE(wait_for_stream(edge1, "live/e", 15000));
  // Forwarded to the origin, which registers it; the other edge pulls it from there.
  ASSERT_TRUE(wait_for_stream(origin, "live/e", 8000)) << edge1.log();
  auto far = probe_streams(edge2.flv_url("live/e"));
  EXPECT_TRUE(has_stream(far, "video", "h264") && has_stream(far, "audio", "aac")) << edge2.log();
  auto near = probe_streams(edge1.flv_url("live/e"));
  EXPECT_TRUE(has_stream(near, "video", "h264")) << "the publishing edge serves it too";
  EXPECT_EQ(type_count(edge1, "edge-pull"), 0) << "the publishing edge does not pull its own stream";
  EXPECT_NE(edge1.log().find("event=edge-push"), std::string::npos);
}

TEST(EdgePull, EdgesPullingFromEachOtherRefuseTheLoop) {
  // Static origins, no registry: edge 1 pulls from edge 2 and edge 2 from edge 1.
  const int rtmp1 = free_tcp_port(), rtmp2 = free_tcp_port();
  auto env = [](const std::string& node, int own, int other) {
    return Env{{"ESTUARY_CLUSTER_MODE", "edge"},
               {"ESTUARY_CLUSTER_NODE_ID", node},
               {"ESTUARY_RTMP_PORT", std::to_string(own)},
               {"ESTUARY_CLUSTER_ORIGINS", "rtmp://127.0.0.1:" + std::to_string(other)},
               {"ESTUARY_PLAY_WAIT_MS", "2000"},
               {"ESTUARY_CLUSTER_LINGER_MS", "500"}};
  };
  Server edge1(env("edge-1", rtmp1, rtmp2));
  Server edge2(env("edge-2", rtmp2, rtmp1));
  ASSERT_TRUE(edge1.start());
  ASSERT_TRUE(edge2.start());
  const auto t0 = Clock::now();
  std::string body;
  const int status = http_request("GET", edge1.flv_url("live/nobody"), &body);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  EXPECT_EQ(status, 404);
  EXPECT_LT(took, 6000);
  EXPECT_TRUE(wait_until([&] { return edge1.log().find("pull loop") != std::string::npos; }, 3000))
      << edge1.log() << edge2.log();
  // No storm: a few attempts in the wait, not one per millisecond.
  std::this_thread::sleep_for(1s);
  EXPECT_LT(count_of(edge1.log(), "event=edge-pull-start") + count_of(edge2.log(), "event=edge-pull-start"), 20u);
  // Both pulls end once nobody waits (each edge's viewer is the other's pull: a few wait periods).
  EXPECT_TRUE(wait_until([&] { return type_count(edge1, "edge-pull") + type_count(edge2, "edge-pull") == 0; }, 9000))
      << edge1.log() << edge2.log();
}

}  // namespace
