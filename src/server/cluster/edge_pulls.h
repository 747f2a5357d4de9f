// Owns: an edge's pulls ([cluster] mode = edge): the first viewer (any protocol) of a stream this
// node lacks makes it resolve the stream's owner (the registry, else the static origins in order)
// and pull it over RTMP (or SRT, pull_protocol = srt) into the local bus as one internal publisher of type "edge-pull",
// shared by every viewer; it stops linger_ms after the last viewer. When the upstream breaks (origin gone, connection
// cut, no media), the stream stays published here and its viewers stay connected while the owner is looked up again;
// the new pull replaces the reader under the same publisher (PullIngest::switch_url, timestamps continued), so viewers
// resume at the next keyframe. A stream not back within failover_ms ends normally. Loops: a pull carries estuary_hops /
// estuary_via in its query; a viewer whose path already holds this node, or is max_hops deep, is refused. Must not
// know: the supervisor (it gets ControlPorts and a DemandPort), protocols, outputs.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/gobject_ptr.h"
#include "common/result.h"
#include "pipelines/pull_ingest.h"
#include "server/cluster/registry.h"
#include "server/config/config.h"

namespace estuary::server {
struct ControlPorts;
class DemandPort;
struct MetricSample;
}  // namespace estuary::server

namespace estuary::server::cluster {

// Words of a space-separated URL list, each without trailing '/' ([cluster] origins).
std::vector<std::string> split_url_list(const std::string& text);

// Loop guard of a pull request: the hop count and node path a viewer's query carries.
struct PullPath {
  int hops = 0;
  std::vector<std::string> via;  // node ids the pull went through, nearest last
  std::string rest;              // the query without estuary_hops / estuary_via (passed upstream)
};
PullPath parse_pull_path(const std::string& query);
// The query for the next hop up: the viewer's own parameters, one more hop, this node appended.
std::string upstream_query(const PullPath& path, const std::string& self);
// The SRT stream id of a pull of app/stream with that query: #!::r=app/stream,m=request,k=v,...
// (estuary_via as one pair per node; characters a stream id value cannot hold are %-escaped).
std::string srt_stream_id(const std::string& key, const std::string& query);
// Where to pull app/stream from an origin's base: rtmp://HOST:PORT/app/stream?query, or for an
// srt://HOST:PORT base the SRT caller URL with the stream id above.
std::string pull_url(const std::string& base, const std::string& key, const std::string& query);
// Refused (not_found) when self is on the path or the path is max_hops deep already.
Status check_pull_path(const PullPath& path, const std::string& self, int max_hops);

class EdgePulls {
 public:
  EdgePulls(ControlPorts ports, DemandPort& demand, Registry* registry, NodeIdentity self,
            config::ClusterSection settings, uint64_t gop_cache_max_bytes);
  ~EdgePulls();
  EdgePulls(const EdgePulls&) = delete;
  EdgePulls& operator=(const EdgePulls&) = delete;

  size_t upstreams() const { return pulls_.size(); }
  bool pulls(const std::string& key) const { return pulls_.count(key) > 0; }
  uint64_t failovers() const { return failovers_; }
  uint64_t pull_failures() const { return failures_; }
  std::vector<MetricSample> metrics() const;

 private:
  enum class State { resolving, connecting, live, failover };
  struct Pull {
    std::string key, client_id, query, url, owner;
    State state = State::resolving;
    std::unique_ptr<pipelines::PullIngest> ingest;
    std::shared_ptr<bool> run;  // alive token of this pull (callbacks check it)
    int attempt = 0;            // bumped at each connect: late errors of an older reader are ignored
    bool lookup_in_flight = false;
    bool lookup_error_logged = false;  // a registry error is logged once per pull, then at debug
    bool no_srt_logged = false;        // pull_protocol = srt, owner without an SRT address: logged once
    bool was_live = false;
    bool gap_marked = false;  // this loss's discontinuity told to the outputs (HLS tag)
    size_t next_origin = 0;   // static list: the next one to try
    uint64_t bytes_at_switch = 0;
    int64_t state_since_us = 0, next_try_us = 0, down_since_us = 0, no_viewers_since_us = 0;
  };

  Pull* find(const std::string& key);
  void request(const std::string& key);
  void resolve(Pull& pull);
  // base: rtmp://HOST:PORT or srt://HOST:PORT (the URL is built with pull_url).
  void connect(Pull& pull, const std::string& base, const std::string& owner);
  std::string owner_base(Pull& pull, const StreamOwner& owner);
  void upstream_lost(Pull& pull, const std::string& reason);
  void retry_later(Pull& pull, int ms);
  void stop(const std::string& key, const std::string& reason);
  void set_state(Pull& pull, State state);
  void tick();
  std::string static_origin(Pull& pull);
  static const char* state_name(State s);

  std::unique_ptr<ControlPorts> ports_;
  DemandPort& demand_;
  Registry* registry_;
  NodeIdentity self_;
  config::ClusterSection settings_;
  uint64_t gop_cache_max_bytes_;
  std::vector<std::string> origins_;
  std::map<std::string, std::unique_ptr<Pull>> pulls_;  // by app/stream
  std::map<std::string, std::string> next_query_;       // the first viewer's query, until its pull starts
  uint64_t failovers_ = 0, failures_ = 0;
  SourceGuard tick_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace estuary::server::cluster
