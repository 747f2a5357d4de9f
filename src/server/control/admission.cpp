// Owns: Admission (see admission.h).
#include "server/control/admission.h"

#include "common/log.h"
#include "server/config/ip_rules.h"
#include "server/control/supervisor.h"

namespace estuary::server {
namespace {

const char* action_name(Admission::Action a) { return a == Admission::Action::publish ? "publish" : "play"; }

}  // namespace

Admission::Admission(Supervisor& supervisor)
    : supervisor_(supervisor), client_(std::make_unique<hooks::HookClient>()) {}

Admission::~Admission() { *alive_ = false; }

void Admission::set_server_identity(std::string server_id, std::string service_id) {
  server_id_ = std::move(server_id);
  service_id_ = std::move(service_id);
}

hooks::HookFields Admission::fields_for(const Client& c) const {
  hooks::HookFields f;
  f.client_id = c.id;
  f.ip = c.ip;
  f.app = c.app;
  f.stream = c.stream;
  f.param = hooks::param_from_query(c.query);
  f.tc_url = c.tc_url;
  f.stream_url = "/" + c.key();
  f.stream_id = supervisor_.stream_api_id(c.key());
  return f;
}

void Admission::admit(const std::string& client_id, Action action, Done done) {
  const Client* c = supervisor_.find_client(client_id);
  if (!c) {
    done(Verdict{false, 503, "unknown client"});
    return;
  }
  const std::string key = c->key();
  const bool publish = action == Action::publish;
  if (Verdict v = rules_verdict(c->ip, c->app, key, action, true); !v.allowed) {
    finish(client_id, action, v, done);
    return;
  }
  const config::HooksSection& hc = supervisor_.config().hooks_for(c->app);
  const std::string event = publish ? "on_publish" : "on_play";
  std::vector<std::string> urls = hooks::split_urls(publish ? hc.on_publish : hc.on_play);
  if (urls.empty()) {
    finish(client_id, action, Verdict{}, done);
    return;
  }
  log_debug(key, client_id, "hook", event + " asking " + std::to_string(urls.size()) + " URL(s)");
  std::weak_ptr<bool> alive = alive_;
  client_->ask(urls, hooks::hook_body(event, server_id_, service_id_, fields_for(*c)),
               hooks::HookLimits{hc.timeout_ms, hc.max_in_flight},
               [this, alive, client_id, action, event, done](bool accepted, const std::string& reason) {
                 if (alive.expired()) return;
                 Verdict v;
                 if (!accepted) v = Verdict{false, 403, event + " refused: " + reason};
                 finish(client_id, action, v, done);
               });
}

Verdict Admission::check_rules(const std::string& ip, const std::string& app, const std::string& stream,
                               Action action) const {
  return rules_verdict(ip, app, app + "/" + stream, action, false);
}

Verdict Admission::rules_verdict(const std::string& ip, const std::string& app, const std::string& key, Action action,
                                 bool registered) const {
  const config::Config& cfg = supervisor_.config();
  const config::SecuritySection& sec = cfg.security_for(app);
  // A registered client counts itself; an unregistered request would be one more.
  const size_t self = registered ? 0 : 1;
  if (cfg.server.max_connections > 0 && supervisor_.client_count() + self > size_t(cfg.server.max_connections))
    return Verdict{false, 503, "connection limit reached (" + std::to_string(cfg.server.max_connections) + ")"};
  const bool publish = action == Action::publish;
  if (!config::ip_allowed(ip, publish ? sec.allow_publish : sec.allow_play, publish ? sec.deny_publish : sec.deny_play))
    return Verdict{false, 403, std::string(action_name(action)) + " denied for " + ip};
  if (!publish && sec.max_viewers_per_stream > 0 &&
      supervisor_.viewer_count(key) + self > size_t(sec.max_viewers_per_stream))
    return Verdict{false, 503,
                   "viewer limit of " + key + " reached (" + std::to_string(sec.max_viewers_per_stream) + ")"};
  return Verdict{};
}

void Admission::finish(const std::string& client_id, Action action, const Verdict& verdict, const Done& done) {
  const Client* c = supervisor_.find_client(client_id);
  const std::string key = c ? c->key() : "";
  if (!c) {
    done(Verdict{false, 503, "client left"});
    return;
  }
  if (verdict.allowed) {
    admitted_.insert(client_id);
  } else {
    log_warn(key, client_id, action == Action::publish ? "publish-refused" : "play-refused",
             "ip=" + c->ip + " " + verdict.reason);
  }
  done(verdict);
}

void Admission::client_left(const Client& c) {
  if (!admitted_.erase(c.id)) return;
  const config::HooksSection& hc = supervisor_.config().hooks_for(c.app);
  const std::string event = c.publish ? "on_unpublish" : "on_stop";
  std::vector<std::string> urls = hooks::split_urls(c.publish ? hc.on_unpublish : hc.on_stop);
  if (urls.empty()) return;
  client_->tell(urls, hooks::hook_body(event, server_id_, service_id_, fields_for(c)),
                hooks::HookLimits{hc.timeout_ms, hc.max_in_flight}, c.key(), c.id, event);
}

void Admission::notify(const std::string& action, const hooks::HookFields& fields) {
  const config::HooksSection& hc = supervisor_.config().hooks_for(fields.app);
  std::string list;
  if (action == "on_dvr")
    list = hc.on_dvr;
  else if (action == "on_hls")
    list = hc.on_hls;
  else if (action == "on_unpublish")
    list = hc.on_unpublish;
  else if (action == "on_stop")
    list = hc.on_stop;
  std::vector<std::string> urls = hooks::split_urls(list);
  if (urls.empty()) return;
  client_->tell(urls, hooks::hook_body(action, server_id_, service_id_, fields),
                hooks::HookLimits{hc.timeout_ms, hc.max_in_flight}, fields.app + "/" + fields.stream, fields.client_id,
                action);
}

}  // namespace estuary::server
