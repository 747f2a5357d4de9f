// Owns: EdgePublishes (see edge_publish.h).
#include "server/cluster/edge_publish.h"

#include <glib.h>

#include <set>

#include "common/log.h"
#include "common/timer.h"
#include "pipelines/pull_url.h"
#include "pipelines/push_launch.h"
#include "server/control/api_model.h"

namespace estuary::server::cluster {
namespace {
constexpr int kTickMs = 250;
constexpr int64_t kRetryUs = G_USEC_PER_SEC;
}  // namespace

std::string least_loaded_origin(const std::vector<NodeInfo>& nodes, const std::string& self) {
  const NodeInfo* best = nullptr;
  for (const auto& n : nodes) {
    if (n.mode != "origin" || n.node_id == self || n.rtmp.empty()) continue;
    if (!best || n.streams < best->streams || (n.streams == best->streams && n.recv_kbps < best->recv_kbps)) best = &n;
  }
  return best ? best->rtmp : "";
}

EdgePublishes::EdgePublishes(api::Backend& backend, Registry* registry, NodeIdentity self,
                             std::vector<std::string> origins, std::function<bool(const std::string&)> pulled)
    : backend_(backend),
      registry_(registry),
      self_(std::move(self)),
      origins_(std::move(origins)),
      pulled_(std::move(pulled)) {
  // Owned by tick_, which is cancelled before `this` goes.
  tick_ = start_repeating_timer(kTickMs, [this]() {
    tick();
    return true;
  });
}

EdgePublishes::~EdgePublishes() {
  tick_.reset();
  for (auto& [key, push] : pushes_)
    if (push.pipeline) push.pipeline->stop();
}

void EdgePublishes::tick() {
  std::set<std::string> local;
  for (const auto& s : backend_.streams()) {
    const std::string key = s.app + "/" + s.name;
    if (!s.publish_active || (!s.video && !s.audio) || key.find('@') != std::string::npos || pulled_(key)) continue;
    local.insert(key);
  }
  for (auto it = pushes_.begin(); it != pushes_.end();) {
    if (local.count(it->first)) {
      ++it;
      continue;
    }
    log_info(it->first, "", "edge-push-stop",
             "stream ended: no longer pushed to " + pipelines::redact_url(it->second.url));
    if (it->second.pipeline) it->second.pipeline->stop();
    it = pushes_.erase(it);
  }
  const int64_t now = g_get_monotonic_time();
  for (const auto& key : local) {
    Push& push = pushes_[key];
    if (push.pipeline || push.choosing || push.retry_at_us > now) continue;
    choose(key, push);
  }
}

void EdgePublishes::choose(const std::string& key, Push& push) {
  auto from_static = [this](Push& p) -> std::string {
    if (origins_.empty()) return "";
    return origins_[p.next_origin++ % origins_.size()];
  };
  if (!registry_) {
    start(key, push, from_static(push));
    return;
  }
  push.choosing = true;
  std::weak_ptr<bool> run = push.run;
  registry_->nodes([this, key, run, from_static](Result<std::vector<NodeInfo>> nodes) {
    auto it = run.expired() ? pushes_.end() : pushes_.find(key);
    if (it == pushes_.end()) return;
    it->second.choosing = false;
    std::string base = nodes ? least_loaded_origin(*nodes, self_.node_id) : "";
    if (base.empty()) base = from_static(it->second);
    start(key, it->second, base);
  });
}

void EdgePublishes::start(const std::string& key, Push& push, const std::string& base) {
  if (base.empty()) {
    failed(key, push, "no origin to push to (none in the registry, no static origins)");
    return;
  }
  push.url = base + "/" + key;
  auto launch = pipelines::push_launch(key, push.url);
  if (!launch) {
    failed(key, push, launch.error().message);
    return;
  }
  auto built = pipelines::ManagedPipeline::from_launch("edge-push:" + key, launch.value());
  if (!built) {
    failed(key, push, built.error().message);
    return;
  }
  push.pipeline = std::move(built.value());
  Ref<GstElement> sink = push.pipeline->element("sink");
  if (sink) g_object_set(sink.get(), pipelines::push_url_property(push.url), push.url.c_str(), nullptr);
  std::weak_ptr<bool> run = push.run;
  pipelines::PipelineEvents ev;
  auto lost = [this, key, run](const std::string& reason) {
    auto it = run.expired() ? pushes_.end() : pushes_.find(key);
    if (it == pushes_.end()) return;
    failed(key, it->second, reason);  // a failed pipeline may be destroyed in its own callback
  };
  ev.on_error = [lost](const std::string& element, const std::string& message) { lost(element + ": " + message); };
  ev.on_eos = [lost]() { lost("ended"); };
  push.pipeline->set_events(std::move(ev));
  log_info(key, "", "edge-push", "published at this edge: pushing to origin " + pipelines::redact_url(push.url));
  Status st = push.pipeline->start();
  if (!st) failed(key, push, st.error().message);
}

void EdgePublishes::failed(const std::string& key, Push& push, const std::string& reason) {
  log_warn(key, "", "edge-push-failed", pipelines::redact_url(push.url) + ": " + reason + "; next origin in 1 s");
  if (push.pipeline) {
    push.pipeline->stop();
    push.pipeline.reset();
  }
  push.retry_at_us = g_get_monotonic_time() + kRetryUs;
}

}  // namespace estuary::server::cluster
