// Owns: unit tests of the cluster's sans-IO parts: redis:// URLs, registry entry JSON both ways, an
// edge pull's loop guard (hops and node path in its query), and the demand chain it joins.
#include <gtest/gtest.h>

#include "server/cluster/edge_publish.h"
#include "server/cluster/edge_pulls.h"
#include "server/cluster/redis_client.h"
#include "server/cluster/registry.h"
#include "server/control/demand_chain.h"
#include "server/control/ports.h"

using namespace estuary::server::cluster;
using estuary::Error;
using estuary::ErrorReason;
using estuary::ok_status;
using estuary::Status;

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
  EXPECT_EQ(back->srt, "");  // none advertised
  o.srt = "srt://10.0.0.1:10080";
  auto with_srt = parse_owner(owner_json(o, 1234));
  ASSERT_TRUE(with_srt.ok());
  EXPECT_EQ(with_srt->srt, "srt://10.0.0.1:10080");
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

TEST(EdgePullPath, QueryCarriesHopsAndViaAndKeepsTheViewersParameters) {
  PullPath viewer = parse_pull_path("token=abc&x=1");
  EXPECT_EQ(viewer.hops, 0);
  EXPECT_TRUE(viewer.via.empty());
  EXPECT_EQ(viewer.rest, "token=abc&x=1");
  const std::string up = upstream_query(viewer, "edge-1");
  EXPECT_EQ(up, "token=abc&x=1&estuary_hops=1&estuary_via=edge-1");
  PullPath next = parse_pull_path(up);
  EXPECT_EQ(next.hops, 1);
  ASSERT_EQ(next.via.size(), 1u);
  EXPECT_EQ(next.via[0], "edge-1");
  EXPECT_EQ(next.rest, "token=abc&x=1");
  EXPECT_EQ(upstream_query(next, "edge-2"), "token=abc&x=1&estuary_hops=2&estuary_via=edge-1,edge-2");
  EXPECT_EQ(upstream_query(parse_pull_path(""), "e"), "estuary_hops=1&estuary_via=e");
}

TEST(EdgePullPath, SrtPullCarriesTheQueryInItsStreamId) {
  // The viewer's token, the hop count and one estuary_via pair per node (a stream id value holds no ',').
  EXPECT_EQ(srt_stream_id("live/a", "token=abc&estuary_hops=2&estuary_via=edge-2,edge-1"),
            "#!::r=live/a,m=request,token=abc,estuary_hops=2,estuary_via=edge-2,estuary_via=edge-1");
  EXPECT_EQ(srt_stream_id("live/a", ""), "#!::r=live/a,m=request");
  EXPECT_EQ(srt_stream_id("live/a", "t=a,b c"), "#!::r=live/a,m=request,t=a%2Cb%20c");
  // Repeated estuary_via pairs (as the SRT server hands them on) read back as the same path.
  PullPath back = parse_pull_path("token=abc&estuary_hops=2&estuary_via=edge-2&estuary_via=edge-1");
  EXPECT_EQ(back.hops, 2);
  EXPECT_EQ(back.via, (std::vector<std::string>{"edge-2", "edge-1"}));
  EXPECT_EQ(back.rest, "token=abc");
  EXPECT_EQ(
      pull_url("srt://10.0.0.1:10080", "live/a", "estuary_hops=1&estuary_via=e"),
      "srt://10.0.0.1:10080?streamid=%23%21%3A%3Ar%3Dlive%2Fa%2Cm%3Drequest%2Cestuary_hops%3D1%2Cestuary_via%3De");
  EXPECT_EQ(pull_url("rtmp://10.0.0.1:1935", "live/a", "t=1"), "rtmp://10.0.0.1:1935/live/a?t=1");
}

TEST(EdgePullPath, LoopsAndDeepPathsAreRefused) {
  EXPECT_TRUE(check_pull_path(parse_pull_path(""), "edge-1", 4).ok());
  EXPECT_TRUE(check_pull_path(parse_pull_path("estuary_hops=1&estuary_via=edge-2"), "edge-1", 4).ok());
  Status loop = check_pull_path(parse_pull_path("estuary_hops=2&estuary_via=edge-1,edge-2"), "edge-1", 4);
  ASSERT_FALSE(loop.ok());
  EXPECT_EQ(loop.error().reason, ErrorReason::not_found);
  EXPECT_NE(loop.error().message.find("loop"), std::string::npos);
  EXPECT_FALSE(check_pull_path(parse_pull_path("estuary_hops=4&estuary_via=a,b,c,d"), "edge-1", 4).ok());
  EXPECT_TRUE(check_pull_path(parse_pull_path("estuary_hops=3&estuary_via=a,b,c"), "edge-1", 4).ok());
}

namespace {
struct RecordingPort : estuary::server::DemandPort {
  estuary::server::DemandProducer producer;
  void set_demand_producer(estuary::server::DemandProducer p) override { producer = std::move(p); }
};
}  // namespace

TEST(DemandChain, FirstProducerThatOffersAStreamServesIt) {
  using estuary::server::DemandProducer;
  RecordingPort target;
  std::vector<std::string> requested;
  {
    estuary::server::DemandChain chain(target);
    DemandProducer sources;
    sources.offers = [](const std::string& key) { return key == "live/pulled"; };
    sources.request = [&](const std::string& key) { requested.push_back("sources:" + key); };
    sources.wait_ms = 3000;
    chain.add_port().set_demand_producer(sources);
    DemandProducer edge;
    edge.offers = [](const std::string&) { return true; };
    edge.request = [&](const std::string& key) { requested.push_back("edge:" + key); };
    edge.check = [](const std::string&, const std::string& query) -> Status {
      if (query == "loop") return Error{"loop", ErrorReason::not_found};
      return ok_status();
    };
    edge.wait_ms = 7000;
    chain.add_port().set_demand_producer(edge);
    ASSERT_TRUE(target.producer.offers);
    EXPECT_EQ(target.producer.wait_ms_for("live/pulled"), 3000);
    EXPECT_EQ(target.producer.wait_ms_for("live/other"), 7000);
    target.producer.request("live/pulled");
    target.producer.request("live/other");
    ASSERT_EQ(requested.size(), 2u);
    EXPECT_EQ(requested[0], "sources:live/pulled");
    EXPECT_EQ(requested[1], "edge:live/other");
    EXPECT_TRUE(target.producer.check("live/pulled", "loop").ok());  // the sources have no check
    EXPECT_FALSE(target.producer.check("live/other", "loop").ok());
  }
  EXPECT_FALSE(target.producer.offers);  // the chain is gone: nothing is offered
}

TEST(EdgePublish, LeastLoadedOriginIsChosen) {
  auto node = [](std::string id, std::string mode, int streams, int64_t kbps) {
    NodeInfo n;
    n.node_id = id;
    n.mode = mode;
    n.rtmp = "rtmp://" + id + ":1935";
    n.streams = streams;
    n.recv_kbps = kbps;
    return n;
  };
  std::vector<NodeInfo> nodes = {node("o1", "origin", 3, 100), node("o2", "origin", 1, 900),
                                 node("o3", "origin", 1, 200), node("e1", "edge", 0, 0)};
  EXPECT_EQ(least_loaded_origin(nodes, "e1"), "rtmp://o3:1935");
  EXPECT_EQ(least_loaded_origin(nodes, "o3"), "rtmp://o2:1935");  // never itself
  EXPECT_EQ(least_loaded_origin({node("e2", "edge", 0, 0)}, "e1"), "");
  EXPECT_EQ(split_url_list(" rtmp://a:1/  rtmp://b:2 "), (std::vector<std::string>{"rtmp://a:1", "rtmp://b:2"}));
}
