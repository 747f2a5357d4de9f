// Owns: ClusterNode (see cluster_node.h).
#include "server/cluster/cluster_node.h"

#include <glib.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "common/gobject_ptr.h"
#include "common/log.h"
#include "server/control/api_model.h"
#include "server/control/http_routes.h"
#include "server/control/ports.h"

namespace estuary::server::cluster {
namespace {

void respond_json(SoupServerMessage* msg, int status, const std::string& body) {
  soup_server_message_set_status(msg, guint(status), nullptr);
  soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, body.data(), body.size());
}

std::string lookup(GHashTable* query, const char* key) {
  const char* v = query ? static_cast<const char*>(g_hash_table_lookup(query, key)) : nullptr;
  return v ? v : "";
}

std::string error_json(int code, const std::string& message) {
  Ref<JsonBuilder> b = Ref<JsonBuilder>::adopt(json_builder_new());
  json_builder_begin_object(b.get());
  json_builder_set_member_name(b.get(), "code");
  json_builder_add_int_value(b.get(), code);
  json_builder_set_member_name(b.get(), "error");
  json_builder_add_string_value(b.get(), message.c_str());
  json_builder_end_object(b.get());
  return json_text(b.get());
}

std::string first_with_prefix(const std::string& list, const std::string& prefix) {
  gchar** parts = g_strsplit_set(list.c_str(), " \t", -1);
  std::string out;
  for (gchar** p = parts; *p && out.empty(); ++p)
    if (g_str_has_prefix(*p, prefix.c_str())) out = *p;
  g_strfreev(parts);
  while (!out.empty() && out.back() == '/') out.pop_back();
  return out;
}

}  // namespace

NodeIdentity node_identity(const config::Config& config) {
  NodeIdentity id;
  id.mode = config.cluster.mode;
  id.node_id = config.cluster.node_id.empty() ? std::string(g_get_host_name()) + ":" + std::to_string(config.rtmp.port)
                                              : config.cluster.node_id;
  id.rtmp_base = first_with_prefix(config.cluster.advertise, "rtmp://");
  if (id.rtmp_base.empty()) id.rtmp_base = "rtmp://127.0.0.1:" + std::to_string(config.rtmp.port);
  id.srt_base = first_with_prefix(config.cluster.advertise, "srt://");
  if (id.srt_base.empty() && config.srt.enabled) id.srt_base = "srt://127.0.0.1:" + std::to_string(config.srt.port);
  id.api_base = first_with_prefix(config.cluster.advertise, "http");
  if (id.api_base.empty()) id.api_base = "http://127.0.0.1:" + std::to_string(config.api.port);
  return id;
}

ClusterNode::ClusterNode(const config::Config& config, api::Backend& backend, MetricsExtension& metrics,
                         PathRoutes& api)
    : self_(node_identity(config)), backend_(backend), api_(api), settings_(config.cluster) {
  if (!config.cluster.registry.empty()) {
    auto address = parse_redis_url(config.cluster.registry);
    if (address) {
      registry_ = std::make_unique<Registry>(*address, self_, config.cluster, backend);
      registry_->start();
    } else {
      log_error("", "", "cluster", address.error().message);
    }
  }
  log_info("", "", "cluster",
           "mode " + self_.mode + ", node " + self_.node_id + ", advertised " + self_.rtmp_base + " " +
               (self_.srt_base.empty() ? "" : self_.srt_base + " ") + self_.api_base +
               (registry_ ? ", registry " + config.cluster.registry : ", no registry") +
               (self_.mode == "edge" ? ", pulls over " + config.cluster.pull_protocol : ""));
  std::weak_ptr<bool> alive = alive_;
  api_.add_handler("/api/v1/clusters", [this, alive](SoupServerMessage* msg, const char*, GHashTable* query) {
    if (!alive.expired()) serve_clusters(msg, query);
  });
  api_.add_handler("/api/v1/nodes", [this, alive](SoupServerMessage* msg, const char*, GHashTable*) {
    if (!alive.expired()) serve_nodes(msg);
  });
  metrics.add_metrics_provider([this, alive]() -> std::vector<MetricSample> {
    if (alive.expired()) return {};
    std::vector<MetricSample> out;
    out.push_back({"estuary_cluster_registry_connected", "gauge", "1 while the Redis registry is connected.",
                   registry_ && registry_->connected() ? 1.0 : 0.0});
    out.push_back({"estuary_cluster_registry_errors_total", "counter",
                   "Registry failures: lost connections, failed connects and failed commands.",
                   registry_ ? double(registry_->errors()) : 0.0});
    out.push_back({"estuary_cluster_registered_streams", "gauge", "Streams this origin has written to the registry.",
                   registry_ ? double(registry_->registered_streams()) : 0.0});
    if (edge_)
      for (auto& m : edge_->metrics()) out.push_back(std::move(m));
    return out;
  });
}

void ClusterNode::start_edge(ControlPorts ports, DemandPort& demand, uint64_t gop_cache_max_bytes) {
  edge_ = std::make_unique<EdgePulls>(ports, demand, registry_.get(), self_, settings_, gop_cache_max_bytes);
  EdgePulls* pulls = edge_.get();
  edge_publish_ = std::make_unique<EdgePublishes>(backend_, registry_.get(), self_, split_url_list(settings_.origins),
                                                  [pulls](const std::string& key) { return pulls->pulls(key); });
}

ClusterNode::~ClusterNode() {
  edge_publish_.reset();
  edge_.reset();
  *alive_ = false;
  api_.remove_handler("/api/v1/clusters");
  api_.remove_handler("/api/v1/nodes");
}

void ClusterNode::serve_clusters(SoupServerMessage* msg, GHashTable* query) {
  const std::string app = lookup(query, "app"), stream = lookup(query, "stream");
  if (app.empty() || stream.empty()) return respond_json(msg, 400, error_json(400, "app and stream are required"));
  const std::string key = app + "/" + stream;
  auto answer = [key, app, stream](SoupServerMessage* msg, const StreamOwner& owner, const std::string& from) {
    Ref<JsonBuilder> b = Ref<JsonBuilder>::adopt(json_builder_new());
    json_builder_begin_object(b.get());
    json_builder_set_member_name(b.get(), "code");
    json_builder_add_int_value(b.get(), 0);
    json_builder_set_member_name(b.get(), "data");
    json_builder_begin_object(b.get());
    json_builder_set_member_name(b.get(), "query");
    json_builder_begin_object(b.get());
    json_builder_set_member_name(b.get(), "app");
    json_builder_add_string_value(b.get(), app.c_str());
    json_builder_set_member_name(b.get(), "stream");
    json_builder_add_string_value(b.get(), stream.c_str());
    json_builder_end_object(b.get());
    json_builder_set_member_name(b.get(), "origin");
    json_builder_begin_object(b.get());
    for (auto [k, v] : {std::pair{"node_id", owner.node_id},
                        {"pull", owner.pull},
                        {"srt", owner.srt},
                        {"api", owner.api},
                        {"from", from}}) {
      json_builder_set_member_name(b.get(), k);
      json_builder_add_string_value(b.get(), v.c_str());
    }
    json_builder_end_object(b.get());
    json_builder_end_object(b.get());
    json_builder_end_object(b.get());
    respond_json(msg, 200, json_text(b.get()));
  };
  // A stream published here is served here.
  for (const auto& s : backend_.streams())
    if (s.publish_active && s.app == app && s.name == stream)
      return answer(msg, StreamOwner{self_.node_id, self_.rtmp_base + "/" + key, self_.api_base, self_.srt_base},
                    "local");
  if (!registry_)
    return respond_json(msg, 404, error_json(404, "stream " + key + " is not published here (no registry)"));
  soup_server_message_pause(msg);
  auto held = Ref<SoupServerMessage>::add_ref(msg);
  registry_->lookup(key, [held, answer](Result<StreamOwner> r) {
    SoupServerMessage* msg = held.get();
    if (r)
      answer(msg, *r, "registry");
    else
      respond_json(msg, http_status_for(r.error()), error_json(http_status_for(r.error()), r.error().message));
    soup_server_message_unpause(msg);
  });
}

void ClusterNode::serve_nodes(SoupServerMessage* msg) {
  if (!registry_) return respond_json(msg, 404, error_json(404, "no registry configured ([cluster] registry)"));
  soup_server_message_pause(msg);
  auto held = Ref<SoupServerMessage>::add_ref(msg);
  registry_->nodes([held](Result<std::vector<NodeInfo>> r) {
    SoupServerMessage* msg = held.get();
    if (!r) {
      respond_json(msg, http_status_for(r.error()), error_json(http_status_for(r.error()), r.error().message));
    } else {
      std::string body = "{\"code\":0,\"nodes\":[";
      for (size_t i = 0; i < r->size(); ++i) body += (i ? "," : "") + node_json((*r)[i]);
      body += "]}";
      respond_json(msg, 200, body);
    }
    soup_server_message_unpause(msg);
  });
}

}  // namespace estuary::server::cluster
