// Owns: SrtServer (see srt_server.h).
#include "server/protocols/srt/srt_server.h"

#include <srt/access_control.h>

#include "common/control_thread.h"
#include "common/ids.h"
#include "common/log.h"
#include "server/protocols/srt/srt_connection.h"
#include "server/protocols/srt/stream_id.h"

namespace estuary::server {
namespace {
// How often the handshake's view of busy streams and passphrases is renewed. A stream counts as
// busy only while its publisher is fresher than takeover_idle_ms minus this, so a caller that
// could take a dead publisher's stream over is never refused by a stale view (begin_publish
// decides exactly after accept).
constexpr int kRefreshMs = 250;
}  // namespace

SrtServer::SrtServer(ControlPorts ports)
    : ports_(ports),
      srt_config_(ports.slice(&config::Config::srt)),
      app_srt_config_(ports.slice(&config::Config::app_srt)) {
  refresh();
}

SrtServer::~SrtServer() {
  *alive_ = false;
  refresh_timer_.reset();
  // Connections first (they talk to the listener and the sender), then the threads.
  auto connections = std::move(connections_);
  connections_.clear();
  for (auto& [id, c] : connections) c->close("shutdown");
  sender_.reset();
  listener_.reset();
}

Status SrtServer::listen() {
  const config::SrtSection& cfg = *srt_config_;
  srt::ListenerOptions o;
  o.address = cfg.address;
  o.port = cfg.port;
  o.latency_ms = cfg.latency_ms;
  o.max_bw = cfg.max_bw;
  o.peer_idle_timeout_ms = cfg.peer_idle_timeout_ms;
  o.max_bitrate_kbps = cfg.max_bitrate_kbps;
  sender_ = std::make_unique<srt::Sender>();
  sender_->start();
  listener_ = std::make_unique<srt::Listener>();
  std::weak_ptr<bool> alive = alive_;
  Status st = listener_->start(
      o, [this](const std::string& sid, const std::string& ip) { return decide(sid, ip); },
      [this, alive](std::shared_ptr<srt::Link> link) {
        // srt-io thread: the connection is made on the control thread.
        post_to_control([this, alive, link]() {
          if (!alive.expired()) on_accepted(link);
        });
      });
  if (!st) return st;
  GSource* t = g_timeout_source_new(kRefreshMs);
  g_source_set_callback(t, &SrtServer::on_refresh, this, nullptr);  // guard-owned
  g_source_attach(t, g_main_context_get_thread_default());
  refresh_timer_ = SourceGuard(t);
  return ok_status();
}

gboolean SrtServer::on_refresh(gpointer self) {
  static_cast<SrtServer*>(self)->refresh();
  return G_SOURCE_CONTINUE;
}

void SrtServer::refresh() {
  auto s = std::make_shared<Snapshot>();
  s->srt = *srt_config_;
  s->apps = *app_srt_config_;
  for (auto& key : ports_.publish.busy_streams(kRefreshMs)) s->busy.insert(std::move(key));
  std::lock_guard lock(mu_);
  snapshot_ = std::move(s);
}

// libsrt's handshake thread: only the snapshot is read here.
srt::HandshakeDecision SrtServer::decide(const std::string& stream_id, const std::string& peer_ip) const {
  std::shared_ptr<const Snapshot> snap;
  {
    std::lock_guard lock(mu_);
    snap = snapshot_;
  }
  srt::HandshakeDecision d;
  srt::Mode default_mode = srt::Mode::request;
  srt::parse_mode(snap->srt.default_mode, &default_mode);
  auto parsed = srt::parse_stream_id(stream_id, default_mode);
  if (!parsed) {
    d.reject_code = parsed.error().code;
    d.reason = parsed.error().message;
    return d;
  }
  const srt::StreamId& id = parsed.value();
  if (id.mode == srt::Mode::publish && snap->busy.count(id.key())) {
    d.reject_code = SRT_REJX_CONFLICT;
    d.reason = "stream " + id.key() + " is already being published";
    return d;
  }
  auto app = snap->apps.find(id.app);
  const config::SrtSection& sec = app == snap->apps.end() ? snap->srt : app->second;
  d.accept = true;
  d.passphrase = sec.passphrase;
  d.pbkeylen = sec.pbkeylen;
  (void)peer_ip;
  return d;
}

void SrtServer::on_accepted(std::shared_ptr<srt::Link> link) {
  srt::Mode default_mode = srt::Mode::request;
  srt::parse_mode(srt_config_->default_mode, &default_mode);
  auto parsed = srt::parse_stream_id(link->stream_id(), default_mode);
  if (!parsed) {  // the handshake accepted it; only a reload in between could change the verdict
    log_warn("", "", "srt-reject", "ip=" + link->peer_ip() + " " + parsed.error().message);
    listener_->unwatch(link);
    link->close();
    return;
  }
  const std::string id = new_client_id();
  auto conn = std::make_unique<SrtConnection>(*this, ports_, std::move(link), std::move(parsed.value()), id);
  SrtConnection* raw = conn.get();
  connections_[id] = std::move(conn);
  raw->start();
}

void SrtServer::forget(const std::string& id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  // Freed on a later loop turn: the connection is usually inside one of its own callbacks now.
  std::shared_ptr<SrtConnection> doomed(it->second.release());
  connections_.erase(it);
  if (*alive_) post_to_control([doomed]() {});
}

}  // namespace estuary::server
