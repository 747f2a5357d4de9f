// Owns: publish at an edge ([cluster] mode = edge): every stream an encoder publishes on this edge
// (not one of its own pulls) is pushed to an origin over RTMP, so it exists cluster-wide and other
// edges pull it from there; the edge serves it locally meanwhile. The origin: with a registry the
// least-loaded live origin of its heartbeats (fewest streams, then least received kb/s), else the
// static origins in order; after a failure the next one, retried every second while the stream
// lives. The push pipeline is pipelines/push_launch.h, as forwards use. Control thread.
// Must not know: the supervisor (it reads the live streams from the API read model), protocols.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/gobject_ptr.h"
#include "pipelines/managed_pipeline.h"
#include "server/cluster/registry.h"

namespace estuary::api {
class Backend;
}

namespace estuary::server::cluster {

// The least-loaded origin among nodes (not self): fewest streams, then least received kb/s; "" if none.
std::string least_loaded_origin(const std::vector<NodeInfo>& nodes, const std::string& self);

class EdgePublishes {
 public:
  // pulled(key): the stream is one of this edge's pulls (never pushed back).
  EdgePublishes(api::Backend& backend, Registry* registry, NodeIdentity self, std::vector<std::string> origins,
                std::function<bool(const std::string& key)> pulled);
  ~EdgePublishes();
  EdgePublishes(const EdgePublishes&) = delete;
  EdgePublishes& operator=(const EdgePublishes&) = delete;

  size_t pushes() const { return pushes_.size(); }

 private:
  struct Push {
    std::unique_ptr<pipelines::ManagedPipeline> pipeline;
    std::string url;
    size_t next_origin = 0;
    bool choosing = false;
    int64_t retry_at_us = 0;
    std::shared_ptr<bool> run = std::make_shared<bool>(true);
  };
  void tick();
  void choose(const std::string& key, Push& push);
  void start(const std::string& key, Push& push, const std::string& base);
  void failed(const std::string& key, Push& push, const std::string& reason);

  api::Backend& backend_;
  Registry* registry_;
  NodeIdentity self_;
  std::vector<std::string> origins_;
  std::function<bool(const std::string&)> pulled_;
  std::map<std::string, Push> pushes_;  // by app/stream
  SourceGuard tick_;
};

}  // namespace estuary::server::cluster
