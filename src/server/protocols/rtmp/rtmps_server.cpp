// Owns: RtmpsServer (see rtmps_server.h).
#include "server/protocols/rtmp/rtmps_server.h"

#include "common/ids.h"
#include "common/log.h"
#include "server/net/socket_util.h"
#include "server/net/tls_relay.h"

namespace estuary::server {
namespace {
// Handshakes cost a private-key operation each: a flood of them is refused rather than queued.
constexpr int kMaxPendingHandshakes = 256;
}  // namespace

struct RtmpsServer::Handshake {
  RtmpsServer* server;         // valid while alive has not expired
  std::weak_ptr<int> pending;  // expires with the server
  Ref<GIOStream> tls;
  Ref<GCancellable> cancel;
  SourceGuard timer;
  std::string id, ip;
};

namespace {

void on_handshake_done(GObject* source, GAsyncResult* result, gpointer data) {
  std::unique_ptr<RtmpsServer::Handshake> h(static_cast<RtmpsServer::Handshake*>(data));
  h->timer.reset();
  GError* err = nullptr;
  const bool ok = g_tls_connection_handshake_finish(G_TLS_CONNECTION(source), result, &err);
  auto pending = h->pending.lock();
  if (pending) --*pending;
  if (!ok || !pending) {
    std::string why = !pending ? "server stopping" : (err ? err->message : "handshake failed");
    if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) why = "TLS handshake timed out";
    log_warn("", h->id, "tls-handshake-failed", "rtmps from " + h->ip + ": " + why);
    g_clear_error(&err);
    g_io_stream_close(h->tls.get(), nullptr, nullptr);
    return;
  }
  const int fd = start_tls_relay(h->tls.get(), h->id);
  if (fd < 0) return;
  log_debug("", h->id, "rtmps-accept", "TLS from " + h->ip);
  h->server->adopt_connection(fd, h->ip, h->id);
}

gboolean on_handshake_timeout(gpointer data) {
  g_cancellable_cancel(static_cast<GCancellable*>(data));
  return G_SOURCE_REMOVE;
}

}  // namespace

RtmpsServer::RtmpsServer(RtmpServer& rtmp, TlsContext& tls, int handshake_timeout_ms)
    : rtmp_(rtmp), tls_(tls), handshake_timeout_ms_(handshake_timeout_ms) {}

RtmpsServer::~RtmpsServer() {
  if (service_) g_socket_service_stop(service_.get());
  incoming_.disconnect();
}

void RtmpsServer::adopt_connection(int fd, const std::string& ip, const std::string& id) { rtmp_.adopt(fd, ip, id); }

Status RtmpsServer::listen(const std::string& address, int port) {
  if (!tls_.enabled()) return Error{"rtmps: no certificate ([tls] cert_file)"};
  service_ = Ref<GSocketService>::adopt(g_socket_service_new());
  auto bound = listen_tcp_service(service_.get(), address, port, "rtmps");
  if (!bound) return bound.error();
  port_ = *bound;
  incoming_ = SignalGuard(service_.get(),
                          g_signal_connect(service_.get(), "incoming", G_CALLBACK(&RtmpsServer::on_incoming), this));
  g_socket_service_start(service_.get());
  log_info("", "", "listen", "RTMPS on " + address + ":" + std::to_string(port_));
  return ok_status();
}

gboolean RtmpsServer::on_incoming(GSocketService*, GSocketConnection* connection, GObject*, gpointer self) {
  auto* server = static_cast<RtmpsServer*>(self);
  const std::string id = new_client_id();
  const std::string ip = peer_ip(connection);
  if (*server->pending_ >= kMaxPendingHandshakes) {
    log_warn("", id, "tls-handshake-refused", "rtmps from " + ip + ": too many handshakes in progress");
    g_io_stream_close(G_IO_STREAM(connection), nullptr, nullptr);
    return TRUE;
  }
  GError* err = nullptr;
  GIOStream* tls = g_tls_server_connection_new(G_IO_STREAM(connection), server->tls_.certificate(), &err);
  if (!tls) {
    log_error("", id, "tls-handshake-failed", std::string("rtmps: ") + (err ? err->message : "no TLS backend"));
    g_clear_error(&err);
    g_io_stream_close(G_IO_STREAM(connection), nullptr, nullptr);
    return TRUE;
  }
  auto* h = new Handshake{server,
                          server->pending_,
                          Ref<GIOStream>::adopt(tls),
                          Ref<GCancellable>::adopt(g_cancellable_new()),
                          SourceGuard(),
                          id,
                          ip};
  ++*server->pending_;
  GSource* t = g_timeout_source_new(guint(server->handshake_timeout_ms_));
  // The cancellable outlives the timer: the handshake holds it until its callback has run.
  g_source_set_callback(t, on_handshake_timeout, h->cancel.get(), nullptr);
  g_source_attach(t, g_main_context_get_thread_default());
  h->timer = SourceGuard(t);
  g_tls_connection_handshake_async(G_TLS_CONNECTION(tls), G_PRIORITY_DEFAULT, h->cancel.get(), on_handshake_done, h);
  return TRUE;
}

}  // namespace estuary::server
