// Owns: this node's entries in the Redis registry and lookups in it. Key schema (README.md, "Cluster"):
//   estuary:stream:APP/STREAM  JSON {"node_id","pull","srt","api","since_ms"}  PX ttl_ms  (origins; refreshed
//                              every heartbeat_ms, deleted on unpublish if still ours)
//   estuary:node:NODE_ID       JSON {"node_id","mode","rtmp","srt","api","streams","viewers",
//                              "send_kbps","recv_kbps","cpu_percent","updated_ms"}  PX ttl_ms
//   estuary:nodes              SET of node ids (readers skip ids whose node key has expired)
// Must not know: the supervisor, protocols; it reads the live streams and the load through the API
// read model (api::Backend) and runs on the control thread.
#pragma once

#include <json-glib/json-glib.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/gobject_ptr.h"
#include "common/result.h"
#include "server/cluster/redis_client.h"
#include "server/config/config.h"

namespace estuary::api {
class Backend;
}

namespace estuary::server::cluster {

// Who serves a stream.
struct StreamOwner {
  std::string node_id, pull, api;  // pull: rtmp://HOST:PORT/APP/STREAM
  std::string srt;                 // srt://HOST:PORT the owner plays SRT at ("" = none advertised)
};

// A node's last heartbeat.
struct NodeInfo {
  std::string node_id, mode, rtmp, srt, api;
  int streams = 0, viewers = 0;
  int64_t send_kbps = 0, recv_kbps = 0;
  double cpu_percent = 0;
  int64_t updated_ms = 0;
};

// This node as others see it.
struct NodeIdentity {
  std::string node_id, mode;
  std::string rtmp_base;  // rtmp://HOST:PORT
  std::string srt_base;   // srt://HOST:PORT ("" when SRT is off and none is advertised)
  std::string api_base;   // http://HOST:PORT
};

// The builder's document as compact JSON text.
std::string json_text(JsonBuilder* builder);
std::string stream_key(const std::string& app_stream);
std::string node_key(const std::string& node_id);
std::string owner_json(const StreamOwner& owner, int64_t since_ms);
Result<StreamOwner> parse_owner(const std::string& json);
std::string node_json(const NodeInfo& node);
Result<NodeInfo> parse_node(const std::string& json);

class Registry {
 public:
  Registry(RedisAddress address, NodeIdentity self, const config::ClusterSection& settings, api::Backend& backend);
  ~Registry();

  void start();
  // Origin: the owner of app/stream (not found: error not_found; registry down or slow: unavailable).
  void lookup(const std::string& app_stream, std::function<void(Result<StreamOwner>)> cb);
  void nodes(std::function<void(Result<std::vector<NodeInfo>>)> cb);
  bool connected() const { return redis_.connected(); }
  uint64_t errors() const { return redis_.errors() + command_errors_; }
  size_t registered_streams() const { return registered_.size(); }

 private:
  void tick(bool heartbeat);
  void register_stream(const std::string& key, int64_t since_ms);
  void unregister_stream(const std::string& key);
  void count(const Result<RedisReply>& r);

  RedisClient redis_;
  NodeIdentity self_;
  config::ClusterSection settings_;
  api::Backend& backend_;
  std::map<std::string, int64_t> registered_;  // live streams we own -> since_ms
  SourceGuard check_timer_;
  int64_t last_heartbeat_us_ = 0;
  uint64_t command_errors_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace estuary::server::cluster
