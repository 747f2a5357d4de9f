// Owns: end-to-end tests of the cluster registry (issue #14 items 1, 2, 8): a real redis-server on
// a free port, an origin and an edge as real processes on 127.0.0.1. The origin registers a live
// stream with a TTL and removes it on unpublish; /api/v1/clusters and /api/v1/nodes answer from
// the registry; a stopped Redis leaves flowing streams alone, fails lookups with a clear error and
// recovers when Redis returns.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "cluster_fixture.h"
#include "harness.h"

using namespace estuary::e2e;
using namespace std::chrono_literals;

namespace {

using Env = std::map<std::string, std::string>;

TEST(ClusterRegistry, OriginRegistersStreamsNodesAnswerAndRedisLossIsSurvived) {
  Redis redis;
  ASSERT_TRUE(redis.start());
  Server origin(cluster_env("origin", "origin-a", redis));
  Server edge(cluster_env("edge", "edge-1", redis));
  ASSERT_TRUE(origin.start());
  ASSERT_TRUE(edge.start());

  // Both nodes heartbeat.
  ASSERT_TRUE(wait_until(
      [&] {
        const std::string nodes = api_get(edge, "/api/v1/nodes");
        return nodes.find("\"origin-a\"") != std::string::npos && nodes.find("\"edge-1\"") != std::string::npos;
      },
      4000))
      << api_get(edge, "/api/v1/nodes");
  EXPECT_EQ(metric(origin, "estuary_cluster_registry_connected"), 1);

  // A live stream is registered with its pull URL and a TTL.
  Process pub = start_publisher(origin.rtmp_url("live/a"), 320, 240, origin.dir() + "/pub.log", 30);
  ASSERT_TRUE(wait_for_stream(origin, "live/a", 15000));
  ASSERT_TRUE(wait_until(
      [&] {
        return redis.cli({"GET", "estuary:stream:live/a"}).find("origin-a") != std::string::npos;
      },
      3000));
  const std::string entry = redis.cli({"GET", "estuary:stream:live/a"});
  EXPECT_NE(entry.find("\"pull\":\"rtmp://127.0.0.1:" + std::to_string(origin.rtmp_port()) + "/live/a\""),
            std::string::npos)
      << entry;
  const int ttl = std::atoi(redis.cli({"PTTL", "estuary:stream:live/a"}).c_str());
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 1000);

  // The edge answers SRS's origin-cluster query from the registry.
  int status = 0;
  std::string clusters = api_get(edge, "/api/v1/clusters?app=live&stream=a", &status);
  EXPECT_EQ(status, 200) << clusters;
  EXPECT_NE(clusters.find("\"node_id\":\"origin-a\""), std::string::npos) << clusters;
  EXPECT_NE(clusters.find("\"from\":\"registry\""), std::string::npos) << clusters;
  api_get(edge, "/api/v1/clusters?app=live&stream=missing", &status);
  EXPECT_EQ(status, 404);

  // Redis stops: the stream keeps flowing, lookups fail clearly, the loss is counted.
  redis.stop();
  auto probe = probe_streams(origin.flv_url("live/a"));
  EXPECT_EQ(probe.size(), 2u) << "the flowing stream must not be touched by a registry outage";
  clusters = api_get(edge, "/api/v1/clusters?app=live&stream=a", &status);
  EXPECT_EQ(status, 503) << clusters;
  EXPECT_NE(clusters.find("registry unavailable"), std::string::npos) << clusters;
  EXPECT_TRUE(wait_until([&] { return metric(origin, "estuary_cluster_registry_connected") == 0; }, 2000));
  EXPECT_GT(metric(edge, "estuary_cluster_registry_errors_total"), 0);
  EXPECT_TRUE(wait_for_stream(origin, "live/a", 1000));

  // Redis returns (empty): the origin registers its stream again and lookups work.
  ASSERT_TRUE(redis.start());
  EXPECT_TRUE(wait_until(
      [&] {
        return api_get(edge, "/api/v1/clusters?app=live&stream=a", &status).find("origin-a") != std::string::npos &&
               status == 200;
      },
      8000))
      << edge.log();
  EXPECT_NE(origin.log().find("registry-lost"), std::string::npos);
  EXPECT_NE(origin.log().find("back after an outage"), std::string::npos);

  // Unpublish removes the entry.
  pub.signal(SIGINT);
  pub.wait(5000);
  EXPECT_TRUE(wait_until([&] { return redis.cli({"EXISTS", "estuary:stream:live/a"}) == "0"; }, 3000));
}

TEST(ClusterConfig, BadClusterKeysAreRefusedAtStart) {
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"ESTUARY_CLUSTER_REGISTRY", "http://127.0.0.1:6379"},
           {"ESTUARY_CLUSTER_MODE", "edge"},  // neither a registry nor origins
           {"ESTUARY_CLUSTER_ORIGINS", "ftp://a:1"},
           {"ESTUARY_CLUSTER_TTL_MS", "500"}}) {  // not above heartbeat_ms (1000)
    Server s(Env{{key, value}});
    EXPECT_FALSE(s.start(3000)) << key << "=" << value;
    EXPECT_NE(s.log().find("[cluster]"), std::string::npos) << s.log();
  }
}

}  // namespace
