// Owns: this server's part in a cluster ([cluster]): its identity (node id, advertised URL bases),
// the Redis registry when one is configured, the cluster API (/api/v1/clusters: which node serves a
// stream, SRS's origin-cluster query; /api/v1/nodes: nodes from the registry with their load) and the
// estuary_cluster_* series. mode = standalone builds nothing.
// Must not know: the supervisor (it gets the API read model and narrow ports), protocols, outputs.
#pragma once

#include <libsoup/soup.h>

#include <memory>
#include <string>

#include "server/cluster/edge_publish.h"
#include "server/cluster/edge_pulls.h"
#include "server/cluster/registry.h"
#include "server/config/config.h"

namespace estuary::api {
class Backend;
}

namespace estuary::server {
class PathRoutes;
class MetricsExtension;
struct ControlPorts;
class DemandPort;
}  // namespace estuary::server

namespace estuary::server::cluster {

// node_id and the advertised bases, with their defaults (host name:RTMP port; 127.0.0.1 and our ports).
NodeIdentity node_identity(const config::Config& config);

class ClusterNode {
 public:
  ClusterNode(const config::Config& config, api::Backend& backend, MetricsExtension& metrics, PathRoutes& api);
  ~ClusterNode();
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  const NodeIdentity& identity() const { return self_; }
  Registry* registry() { return registry_.get(); }
  // mode = edge: pull the streams viewers ask for (edge_pulls.h) through these ports.
  void start_edge(ControlPorts ports, DemandPort& demand, uint64_t gop_cache_max_bytes);

 private:
  void serve_clusters(SoupServerMessage* msg, GHashTable* query);
  void serve_nodes(SoupServerMessage* msg);

  NodeIdentity self_;
  api::Backend& backend_;
  PathRoutes& api_;
  config::ClusterSection settings_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<EdgePulls> edge_;
  std::unique_ptr<EdgePublishes> edge_publish_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace estuary::server::cluster
