// Owns: EdgePulls (see edge_pulls.h).
#include "server/cluster/edge_pulls.h"

#include <glib.h>

#include <algorithm>

#include "common/control_thread.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/timer.h"
#include "server/control/ingest_events.h"
#include "server/control/ports.h"

namespace estuary::server::cluster {
namespace {

constexpr int kTickMs = 100;
constexpr int kRetryFirstMs = 200;    // the first new lookup after a loss
constexpr int kRetryMs = 250;         // later ones, while viewers wait
constexpr int64_t kNoMediaMs = 3000;  // a live upstream silent this long is lost
constexpr int64_t kConnectMs = 5000;  // a connecting upstream with no media this long is lost

}  // namespace

std::vector<std::string> split_url_list(const std::string& text) {
  std::vector<std::string> out;
  gchar** parts = g_strsplit_set(text.c_str(), " \t", -1);
  for (gchar** p = parts; *p; ++p) {
    std::string w = *p;
    while (!w.empty() && w.back() == '/') w.pop_back();
    if (!w.empty()) out.push_back(w);
  }
  g_strfreev(parts);
  return out;
}

PullPath parse_pull_path(const std::string& query) {
  PullPath path;
  gchar** parts = g_strsplit(query.c_str(), "&", -1);
  for (gchar** p = parts; *p; ++p) {
    const std::string item = *p;
    if (item.empty()) continue;
    if (item.rfind("estuary_hops=", 0) == 0) {
      path.hops = int(g_ascii_strtoll(item.c_str() + 13, nullptr, 10));
    } else if (item.rfind("estuary_via=", 0) == 0) {
      for (auto& id : split_url_list(std::string(item.c_str() + 12))) {
        gchar** ids = g_strsplit(id.c_str(), ",", -1);
        for (gchar** i = ids; *i; ++i)
          if (**i) path.via.emplace_back(*i);
        g_strfreev(ids);
      }
    } else {
      path.rest += (path.rest.empty() ? "" : "&") + item;
    }
  }
  g_strfreev(parts);
  return path;
}

std::string upstream_query(const PullPath& path, const std::string& self) {
  std::string via;
  for (const auto& id : path.via) via += id + ",";
  via += self;
  return (path.rest.empty() ? "" : path.rest + "&") + "estuary_hops=" + std::to_string(path.hops + 1) +
         "&estuary_via=" + via;
}

std::string srt_stream_id(const std::string& key, const std::string& query) {
  auto escaped = [](const std::string& v) {
    std::string out;
    for (unsigned char c : v) {
      if (c > 0x20 && c < 0x7f && c != ',' && c != '&' && c != '%') {
        out += char(c);
      } else {
        char hex[4];
        g_snprintf(hex, sizeof hex, "%%%02X", c);
        out += hex;
      }
    }
    return out;
  };
  std::string id = "#!::r=" + key + ",m=request";
  gchar** parts = g_strsplit(query.c_str(), "&", -1);
  for (gchar** p = parts; *p; ++p) {
    const std::string item = *p;
    const size_t eq = item.find('=');
    if (item.empty() || eq == 0 || eq == std::string::npos) continue;
    const std::string k = item.substr(0, eq), v = item.substr(eq + 1);
    if (k == "estuary_via") {
      for (const auto& node : parse_pull_path(item).via) id += ",estuary_via=" + escaped(node);
    } else {
      id += "," + k + "=" + escaped(v);
    }
  }
  g_strfreev(parts);
  return id;
}

std::string pull_url(const std::string& base, const std::string& key, const std::string& query) {
  if (!g_str_has_prefix(base.c_str(), "srt://")) return base + "/" + key + (query.empty() ? "" : "?" + query);
  gchar* id = g_uri_escape_string(srt_stream_id(key, query).c_str(), nullptr, FALSE);
  std::string url = base + "?streamid=" + id;
  g_free(id);
  return url;
}

Status check_pull_path(const PullPath& path, const std::string& self, int max_hops) {
  if (std::find(path.via.begin(), path.via.end(), self) != path.via.end())
    return Error{"pull loop: this node (" + self + ") is already on the pull path", ErrorReason::not_found, "cluster"};
  if (path.hops >= max_hops)
    return Error{"pull refused: " + std::to_string(path.hops) + " hops (max_hops " + std::to_string(max_hops) + ")",
                 ErrorReason::not_found, "cluster"};
  return ok_status();
}

EdgePulls::EdgePulls(ControlPorts ports, DemandPort& demand, Registry* registry, NodeIdentity self,
                     config::ClusterSection settings, uint64_t gop_cache_max_bytes)
    : ports_(std::make_unique<ControlPorts>(ports)),
      demand_(demand),
      registry_(registry),
      self_(std::move(self)),
      settings_(std::move(settings)),
      gop_cache_max_bytes_(gop_cache_max_bytes),
      origins_(split_url_list(settings_.origins)) {
  DemandProducer producer;
  // Every stream this node does not have may exist in the cluster (internal feeds "x@rtc" excepted).
  producer.offers = [this](const std::string& key) {
    return key.find('@') == std::string::npos && !ports_->publish.stream_is_live(key);
  };
  producer.request = [this](const std::string& key) { request(key); };
  producer.check = [this](const std::string& key, const std::string& query) -> Status {
    const PullPath path = parse_pull_path(query);
    Status st = check_pull_path(path, self_.node_id, settings_.max_hops);
    if (st && !find(key)) next_query_[key] = query;
    return st;
  };
  // Viewers wait [play] wait_ms for the pull (an edge cannot serve without waiting: 5 s when 0).
  producer.wait_ms_for = [this](const std::string&) {
    const int ms = ports_->slice(&config::Config::play)->wait_ms;
    return ms > 0 ? ms : 5000;
  };
  demand_.set_demand_producer(std::move(producer));
  // Owned by tick_, which is cancelled before `this` goes.
  tick_ = start_repeating_timer(kTickMs, [this]() {
    tick();
    return true;
  });
}

EdgePulls::~EdgePulls() {
  *alive_ = false;
  tick_.reset();
  demand_.set_demand_producer({});
  while (!pulls_.empty()) stop(pulls_.begin()->first, "shutdown");
}

const char* EdgePulls::state_name(State s) {
  switch (s) {
    case State::resolving:
      return "resolving";
    case State::connecting:
      return "connecting";
    case State::live:
      return "live";
    case State::failover:
      return "failover";
  }
  return "?";
}

EdgePulls::Pull* EdgePulls::find(const std::string& key) {
  auto it = pulls_.find(key);
  return it == pulls_.end() ? nullptr : it->second.get();
}

void EdgePulls::set_state(Pull& pull, State state) {
  if (pull.state == state) return;
  pull.state = state;
  pull.state_since_us = g_get_monotonic_time();
}

void EdgePulls::request(const std::string& key) {
  if (find(key) || ports_->publish.stream_is_live(key)) return;
  auto owned = std::make_unique<Pull>();
  Pull& pull = *owned;
  pull.key = key;
  pull.run = std::make_shared<bool>(true);
  pull.client_id = new_client_id();
  pull.state_since_us = g_get_monotonic_time();
  if (auto q = next_query_.find(key); q != next_query_.end()) {
    pull.query = upstream_query(parse_pull_path(q->second), self_.node_id);
    next_query_.erase(q);
  } else {
    pull.query = upstream_query({}, self_.node_id);
  }
  pulls_[key] = std::move(owned);

  Client c;
  c.id = pull.client_id;
  c.type = "edge-pull";
  c.publish = true;
  c.ip = "127.0.0.1";  // an internal publisher
  const size_t slash = key.find('/');
  c.app = key.substr(0, slash);
  c.stream = slash == std::string::npos ? "" : key.substr(slash + 1);
  c.start_us = g_get_monotonic_time();
  std::weak_ptr<bool> run = pull.run;
  c.kick = [this, key, run]() {
    if (!run.expired()) stop(key, "kicked");
  };
  c.bytes_received = [this, key]() -> uint64_t {
    Pull* p = find(key);
    return p && p->ingest ? p->ingest->bytes() : 0;
  };
  ports_->clients.add_client(std::move(c));
  log_info(key, pull.client_id, "edge-pull", "viewer arrived: looking up the stream's origin");
  Status st = ports_->publish.begin_publish(pull.client_id, [this, key]() -> int64_t {
    Pull* p = find(key);
    return p && p->ingest ? p->ingest->idle_ms() : 0;
  });
  if (!st) {
    log_warn(key, pull.client_id, "edge-pull-failed", st.error().message);
    stop(key, st.error().message);
    return;
  }
  resolve(pull);
}

std::string EdgePulls::static_origin(Pull& pull) {
  if (origins_.empty()) return "";
  const std::string base = origins_[pull.next_origin % origins_.size()];
  ++pull.next_origin;
  return base;
}

void EdgePulls::resolve(Pull& pull) {
  pull.next_try_us = 0;
  if (!registry_) {
    const std::string url = static_origin(pull);
    if (url.empty())
      retry_later(pull, kRetryMs);
    else
      connect(pull, url, "static");
    return;
  }
  pull.lookup_in_flight = true;
  const std::string key = pull.key;
  std::weak_ptr<bool> run = pull.run;
  registry_->lookup(key, [this, key, run](Result<StreamOwner> owner) {
    Pull* p = run.expired() ? nullptr : find(key);
    if (!p) return;
    p->lookup_in_flight = false;
    if (owner && owner->node_id != self_.node_id && !owner->pull.empty()) {
      connect(*p, owner_base(*p, *owner), owner->node_id);
      return;
    }
    const std::string why = owner ? "the registry names this node" : owner.error().message;
    if (!origins_.empty()) {
      log_info(key, p->client_id, "edge-lookup", why + ": trying the static origins");
      connect(*p, static_origin(*p), "static");
      return;
    }
    if (!owner && owner.error().reason != ErrorReason::not_found && !p->lookup_error_logged) {
      p->lookup_error_logged = true;
      log_warn(key, p->client_id, "edge-lookup-failed", why + "; retrying while viewers wait");
    } else {
      log_debug(key, p->client_id, "edge-lookup", why);
    }
    retry_later(*p, kRetryMs);
  });
}

std::string EdgePulls::owner_base(Pull& pull, const StreamOwner& owner) {
  if (settings_.pull_protocol == "srt") {
    if (!owner.srt.empty()) return owner.srt;
    if (!pull.no_srt_logged)
      log_warn(pull.key, pull.client_id, "edge-pull-no-srt",
               "owner " + owner.node_id + " advertises no SRT address: pulling over RTMP");
    pull.no_srt_logged = true;
  }
  // The registry holds the RTMP pull URL of the stream (base/app/stream): its base.
  const std::string tail = "/" + pull.key;
  const std::string& url = owner.pull;
  if (g_str_has_suffix(url.c_str(), tail.c_str())) return url.substr(0, url.size() - tail.size());
  return url;
}

void EdgePulls::connect(Pull& pull, const std::string& base, const std::string& owner) {
  ++pull.attempt;
  const std::string url = pull_url(base, pull.key, pull.query);
  const bool srt = g_str_has_prefix(base.c_str(), "srt://");
  pull.url = url;
  pull.owner = owner;
  set_state(pull, State::connecting);
  // SRT: the stream id is shown as the query it carries (so its token is redacted too).
  log_info(pull.key, pull.client_id, "edge-pull-start",
           "pulling from " + owner + " " + pipelines::redact_url(base + "/" + pull.key + "?" + pull.query) +
               (srt ? " over SRT" : "") +
               (pull.was_live ? " (failover)"
                : pull.ingest ? " (again)"
                              : ""));
  if (pull.ingest) {  // failover: a new reader under the same publisher
    pull.bytes_at_switch = pull.ingest->bytes();
    // What the new reader brings follows a gap: HLS marks it before its first segment after it.
    if (pull.was_live && !pull.gap_marked) {
      pull.gap_marked = true;
      ports_->publish.publish_discontinuity(pull.client_id);
    }
    Status st = pull.ingest->switch_url(url);
    if (!st) upstream_lost(pull, st.error().message);
    return;
  }
  pipelines::PullIngestSettings settings;
  settings.stream = pull.key;
  settings.url = url;
  settings.loop = false;
  settings.rebase_live = true;
  settings.gop_cache_max_bytes = gop_cache_max_bytes_;
  settings.tracks_timeout_ms = 1500;
  pull.ingest = std::make_unique<pipelines::PullIngest>(std::move(settings));
  const std::string key = pull.key;
  std::weak_ptr<bool> run = pull.run;
  std::weak_ptr<bool> alive = alive_;
  auto events = ingest_events(ports_->publish, pull.client_id, run, [](const std::string&) {});
  // A fatal error or the end of the upstream: the reader of the attempt it came from is lost (one
  // of an older attempt, already replaced, is ignored).
  auto lost = [this, key, run, alive](const std::string& reason) {
    Pull* p = run.expired() ? nullptr : find(key);
    if (!p) return;
    const int attempt = p->attempt;
    post_to_control([this, key, run, alive, attempt, reason]() {
      Pull* q = alive.expired() || run.expired() ? nullptr : find(key);
      if (q && q->attempt == attempt && (q->state == State::connecting || q->state == State::live))
        upstream_lost(*q, reason);
    });
  };
  events.on_error = [lost](const std::string& element, const std::string& message) {
    lost("upstream failed: " + element + ": " + message);
  };
  events.on_eos = [lost]() { lost("upstream ended"); };
  auto ready = std::move(events.on_element_message);
  events.on_element_message = [this, key, run, ready](const GstStructure* s) {
    ready(s);
    Pull* p = run.expired() ? nullptr : find(key);
    if (p && gst_structure_has_name(s, "estuary-stream-ready") && p->state == State::connecting) {
      set_state(*p, State::live);
      p->was_live = true;
      log_info(key, p->client_id, "edge-pull-live", "stream live from " + p->owner);
    }
  };
  pull.ingest->set_events(std::move(events));
  Status st = pull.ingest->start();
  if (!st) upstream_lost(pull, st.error().message);
}

void EdgePulls::upstream_lost(Pull& pull, const std::string& reason) {
  ++failures_;
  const int64_t now = g_get_monotonic_time();
  const bool first = !pull.down_since_us;
  if (first) pull.down_since_us = now;
  log_warn(pull.key, pull.client_id, first ? "edge-upstream-lost" : "edge-pull-retry",
           "from " + pull.owner + ": " + reason +
               (pull.was_live ? "; viewers stay while the stream is looked up again" : ""));
  set_state(pull, pull.was_live ? State::failover : State::resolving);
  retry_later(pull, first ? kRetryFirstMs : kRetryMs);
}

void EdgePulls::retry_later(Pull& pull, int ms) { pull.next_try_us = g_get_monotonic_time() + int64_t(ms) * 1000; }

void EdgePulls::stop(const std::string& key, const std::string& reason) {
  auto it = pulls_.find(key);
  if (it == pulls_.end()) return;
  std::unique_ptr<Pull> pull = std::move(it->second);
  pulls_.erase(it);
  pull->run.reset();
  log_info(key, pull->client_id, "edge-pull-stop", reason);
  if (pull->ingest) {
    pull->ingest->stop();
    pull->ingest.reset();
  }
  ports_->clients.remove_client(pull->client_id, reason);  // ends the publish
}

void EdgePulls::tick() {
  const int64_t now = g_get_monotonic_time();
  std::vector<std::pair<std::string, std::string>> to_stop;
  for (auto& [key, ptr] : pulls_) {
    Pull& pull = *ptr;
    // Viewers gone (waiting ones count as viewers) and no output running (HLS requests are not
    // clients; an output lingers after its last viewer): stop after the linger.
    if (ports_->clients.viewer_count(key) > 0 || ports_->play.stream_in_use(key)) {
      pull.no_viewers_since_us = 0;
    } else if (!pull.no_viewers_since_us) {
      pull.no_viewers_since_us = now;
    } else if (now - pull.no_viewers_since_us >= int64_t(settings_.linger_ms) * 1000) {
      to_stop.emplace_back(key, "no viewers for " + std::to_string(settings_.linger_ms) + " ms");
      continue;
    }
    if (pull.state == State::connecting || pull.state == State::live) {
      // Back after a failover once the new reader delivers.
      if (pull.state == State::connecting && pull.was_live && pull.ingest &&
          pull.ingest->bytes() > pull.bytes_at_switch) {
        ++failovers_;
        log_info(key, pull.client_id, "edge-failover",
                 "stream back from " + pull.owner + " after " + std::to_string((now - pull.down_since_us) / 1000) +
                     " ms; viewers continue");
        set_state(pull, State::live);
      }
      if (pull.state == State::live) {
        pull.down_since_us = 0;
        pull.gap_marked = false;
      }
      const int64_t idle = pull.ingest ? pull.ingest->idle_ms() : 0;
      const int64_t limit = pull.state == State::live ? kNoMediaMs : kConnectMs;
      if (idle > limit) upstream_lost(pull, "no media for " + std::to_string(idle) + " ms");
      continue;
    }
    // resolving / failover
    if (pull.was_live && pull.down_since_us && now - pull.down_since_us > int64_t(settings_.failover_ms) * 1000) {
      to_stop.emplace_back(key, "stream not back within failover_ms (" + std::to_string(settings_.failover_ms) +
                                    " ms): ending it for its viewers");
      continue;
    }
    if (!pull.lookup_in_flight && pull.next_try_us && now >= pull.next_try_us) resolve(pull);
  }
  for (const auto& [key, reason] : to_stop) stop(key, reason);
}

std::vector<MetricSample> EdgePulls::metrics() const {
  size_t live = 0;
  for (const auto& [key, p] : pulls_) live += p->state == State::live ? 1 : 0;
  return {
      {"estuary_cluster_edge_upstreams", "gauge", "Streams this edge pulls from an origin (any state).",
       double(pulls_.size())},
      {"estuary_cluster_edge_upstreams_live", "gauge", "Edge pulls currently receiving media.", double(live)},
      {"estuary_cluster_edge_failovers_total", "counter",
       "Edge pulls resumed from a new owner after their upstream broke, viewers kept.", double(failovers_)},
      {"estuary_cluster_edge_pull_failures_total", "counter", "Edge pull attempts that failed or lost their upstream.",
       double(failures_)},
  };
}

}  // namespace estuary::server::cluster
