// Owns: unit tests of the cluster's sans-IO parts: redis:// URLs, registry entry JSON both ways.
#include <gtest/gtest.h>

#include "server/cluster/redis_client.h"
#include "server/cluster/registry.h"

using namespace estuary::server::cluster;

TEST(RedisUrl, ParsesHostPortAndDb) {
  auto a = parse_redis_url("redis://10.0.0.5:6380/2");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "10.0.0.5");
  EXPECT_EQ(a->port, 6380);
  EXPECT_EQ(a->db, 2);
  auto b = parse_redis_url("redis://redis.internal:6379");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "redis.internal");
  EXPECT_EQ(b->db, 0);
}

TEST(RedisUrl, RefusesWhatIsNotOne) {
  for (const char* bad : {"", "http://a:1", "redis://", "redis://host", "redis://:6379", "redis://h:0",
                          "redis://h:70000", "redis://h:6379/", "redis://h:6379/abc", "redis://h:63a9"})
    EXPECT_FALSE(parse_redis_url(bad).ok()) << bad;
}

TEST(RegistryJson, OwnerRoundTripsAndIsChecked) {
  StreamOwner o{"origin-a", "rtmp://10.0.0.1:1935/live/a", "http://10.0.0.1:1985"};
  auto back = parse_owner(owner_json(o, 1234));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->node_id, "origin-a");
  EXPECT_EQ(back->pull, o.pull);
  EXPECT_EQ(back->api, o.api);
  EXPECT_FALSE(parse_owner("not json").ok());
  EXPECT_FALSE(parse_owner("[1,2]").ok());
  EXPECT_FALSE(parse_owner("{\"node_id\":\"x\"}").ok());  // no pull URL
  EXPECT_EQ(stream_key("live/a"), "estuary:stream:live/a");
  EXPECT_EQ(node_key("edge-1"), "estuary:node:edge-1");
}

TEST(RegistryJson, NodeRoundTrips) {
  NodeInfo n;
  n.node_id = "edge-1";
  n.mode = "edge";
  n.rtmp = "rtmp://h:1935";
  n.api = "http://h:1985";
  n.streams = 3;
  n.viewers = 40;
  n.send_kbps = 9000;
  n.cpu_percent = 12.5;
  n.updated_ms = 99;
  auto back = parse_node(node_json(n));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->node_id, "edge-1");
  EXPECT_EQ(back->viewers, 40);
  EXPECT_EQ(back->send_kbps, 9000);
  EXPECT_DOUBLE_EQ(back->cpu_percent, 12.5);
}
