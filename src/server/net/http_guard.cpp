// Owns: guard_http_server (see http_guard.h).
#include "server/net/http_guard.h"

#include <map>
#include <string>

#include "common/gobject_ptr.h"
#include "common/log.h"
#include "common/timer.h"
#include "server/net/http_framing.h"

namespace estuary::server {
namespace {

struct ServerGuard {
  std::string name;
  ConnectionLimitsSource limits;
  std::shared_ptr<PerIpConnections> per_ip;
};

// On the connection's GSocket (freed with it): its per-address slot, how many requests it has
// started, and the one deadline running for it.
struct ConnectionState {
  GSocket* socket;  // the owner of this state
  std::unique_ptr<PerIpSlot> slot;
  std::string name, ip;
  ConnectionLimits limits;
  int requests = 0;
  uint64_t body_bytes = 0;
  bool released = false;  // handed to the fan-out or a relay: no deadlines from here
  SourceGuard deadline;
  SourceGuard closer;
};

// libsoup 3.2 (Debian 12) never releases a connection whose client goes away between requests,
// nor one it reads EOF from while waiting for a request head: the socket stays open in CLOSE_WAIT
// for the life of the process (one file descriptor per such connection; fixed upstream in 3.3).
// So a connection we end is shut down at once and closed by us a moment later, once libsoup has
// read its EOF and stopped watching it.
constexpr int kCloseAfterShutdownMs = 1000;

GQuark connection_quark() { return g_quark_from_static_string("estuary-http-connection"); }

// Connections given back to libsoup as a stream (soup_server_accept_iostream): libsoup 3.2 knows
// no GSocket for them, so they are found by their peer's address and port. Control thread only.
std::map<std::string, Ref<GSocket>>& reclaimed() {
  static std::map<std::string, Ref<GSocket>> sockets;
  return sockets;
}

std::string peer_key(GSocketAddress* address) {
  if (!G_IS_INET_SOCKET_ADDRESS(address)) return "";
  auto* inet = G_INET_SOCKET_ADDRESS(address);
  gchar* ip = g_inet_address_to_string(g_inet_socket_address_get_address(inet));
  std::string key = std::string(ip) + ":" + std::to_string(g_inet_socket_address_get_port(inet));
  g_free(ip);
  return key;
}

ConnectionState* state_of(SoupServerMessage* msg) {
  GSocket* socket = http_connection_socket(msg);
  return socket ? static_cast<ConnectionState*>(g_object_get_qdata(G_OBJECT(socket), connection_quark())) : nullptr;
}

// The closures use c, which owns the timers: they die with c (and c with the socket).
void shut(ConnectionState* c) {
  c->deadline.reset();
  g_socket_shutdown(c->socket, TRUE, TRUE, nullptr);
  if (!c->closer) c->closer = start_timer(kCloseAfterShutdownMs, [c] { g_socket_close(c->socket, nullptr); });
}

// An idle kept-alive connection ending is routine (debug); a request stuck half-way is news (info).
void arm(ConnectionState* c, int ms, const char* what, bool routine = false) {
  c->deadline = start_timer(ms, [c, ms, what, routine] {
    const std::string line =
        "closed connection from " + c->ip + ": " + what + " not complete within " + std::to_string(ms) + " ms";
    if (routine)
      log_debug("", "", c->name + "-timeout", line);
    else
      log_info("", "", c->name + "-timeout", line);
    shut(c);
  });
}

void refuse(SoupServerMessage* msg, ConnectionState* c, const FramingVerdict& v) {
  log_warn("", "", c->name + "-refused",
           "request from " + c->ip + " refused (" + std::to_string(v.status) + "): " + v.reason);
  soup_server_message_set_status(msg, guint(v.status), nullptr);
  const std::string body = v.reason + "\n";
  soup_server_message_set_response(msg, "text/plain", SOUP_MEMORY_COPY, body.data(), body.size());
  soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Connection", "close");
  // libsoup may still wait for a body it was promised; the connection goes in any case.
  arm(c, 1000, "refused request's response");
}

void on_got_headers(SoupServerMessage* msg, gpointer) {
  ConnectionState* c = state_of(msg);
  if (!c) return;
  c->deadline.reset();
  c->body_bytes = 0;
  HeaderFields fields;
  soup_message_headers_foreach(
      soup_server_message_get_request_headers(msg),
      [](const char* name, const char* value, gpointer out) {
        static_cast<HeaderFields*>(out)->emplace_back(name, value);
      },
      &fields);
  const bool http_1_0 = soup_server_message_get_http_version(msg) == SOUP_HTTP_1_0;
  if (auto verdict = check_request_framing(fields, http_1_0, c->limits.max_body_bytes)) {
    refuse(msg, c, *verdict);
    return;
  }
  SoupMessageHeaders* h = soup_server_message_get_request_headers(msg);
  const SoupEncoding encoding = soup_message_headers_get_encoding(h);
  const bool has_body = encoding == SOUP_ENCODING_CHUNKED ||
                        (encoding == SOUP_ENCODING_CONTENT_LENGTH && soup_message_headers_get_content_length(h) > 0);
  if (has_body) arm(c, c->limits.body_timeout_ms, "request body");
}

void on_got_chunk(SoupServerMessage* msg, GBytes* chunk, gpointer) {
  ConnectionState* c = state_of(msg);
  if (!c) return;
  c->body_bytes += g_bytes_get_size(chunk);
  if (c->body_bytes <= c->limits.max_body_bytes) return;
  log_warn("", "", c->name + "-refused",
           "closed connection from " + c->ip + ": chunked body beyond " + std::to_string(c->limits.max_body_bytes) +
               " bytes");
  shut(c);
}

void on_got_body(SoupServerMessage* msg, gpointer) {
  if (ConnectionState* c = state_of(msg)) c->deadline.reset();
}

// The response is written: the connection waits for its next request (libsoup 3.2 emits
// request-started for it only when bytes arrive), for keepalive_timeout_ms at most.
void on_finished(SoupServerMessage* msg, gpointer) {
  auto* socket = static_cast<GSocket*>(g_object_get_qdata(G_OBJECT(msg), connection_quark()));
  auto* c = socket ? static_cast<ConnectionState*>(g_object_get_qdata(G_OBJECT(socket), connection_quark())) : nullptr;
  if (!c || c->released || c->closer) return;
  arm(c, c->limits.keepalive_timeout_ms, "next request on a kept-alive connection", true);
}

// The connection is gone (closed by either side, or after its last response): its address slot
// and deadline go with it now, not when libsoup eventually frees the socket object.
void on_disconnected(SoupServerMessage* msg, gpointer) {
  if (!soup_server_message_get_socket(msg)) reclaimed().erase(peer_key(soup_server_message_get_remote_address(msg)));
  auto* socket = static_cast<GSocket*>(g_object_get_qdata(G_OBJECT(msg), connection_quark()));
  auto* c = socket ? static_cast<ConnectionState*>(g_object_get_qdata(G_OBJECT(socket), connection_quark())) : nullptr;
  if (!c) return;
  c->slot.reset();
  c->deadline.reset();
}

void on_request_started(SoupServer*, SoupServerMessage* msg, gpointer data) {
  const auto& guard = *static_cast<ServerGuard*>(data);
  GSocket* socket = http_connection_socket(msg);
  if (!socket) return;
  const ConnectionLimits limits = guard.limits();
  auto* c = static_cast<ConnectionState*>(g_object_get_qdata(G_OBJECT(socket), connection_quark()));
  if (!c) {  // the connection's first request: count it against its address
    const char* host = soup_server_message_get_remote_host(msg);
    const std::string ip = host ? host : "?";
    const bool admitted = guard.per_ip->acquire(ip, limits.max_per_ip);
    c = new ConnectionState{socket, admitted ? std::make_unique<PerIpSlot>(guard.per_ip, ip) : nullptr, guard.name, ip,
                            limits};
    g_object_set_qdata_full(G_OBJECT(socket), connection_quark(), c,
                            [](gpointer p) { delete static_cast<ConnectionState*>(p); });
    if (!admitted) {
      if (worth_logging(guard.per_ip->refusals()))
        log_warn("", "", guard.name + "-refused",
                 "connection from " + ip + " refused: " + std::to_string(limits.max_per_ip) +
                     " connections from that address are open (max_connections_per_ip); " +
                     std::to_string(guard.per_ip->refusals()) + " refused so far");
      shut(c);
      return;
    }
  }
  if (c->closer) return;  // being closed
  c->limits = limits;
  if (c->requests++ == 0)
    arm(c, limits.header_timeout_ms, "request head");
  else
    arm(c, limits.keepalive_timeout_ms, "next request on a kept-alive connection");
  // The message keeps its connection (and so the socket) alive: a borrowed pointer is safe in it.
  g_object_set_qdata(G_OBJECT(msg), connection_quark(), socket);
  g_signal_connect(msg, "disconnected", G_CALLBACK(on_disconnected), nullptr);
  g_signal_connect(msg, "got-headers", G_CALLBACK(on_got_headers), nullptr);
  g_signal_connect(msg, "got-chunk", G_CALLBACK(on_got_chunk), nullptr);
  g_signal_connect(msg, "got-body", G_CALLBACK(on_got_body), nullptr);
  g_signal_connect(msg, "finished", G_CALLBACK(on_finished), nullptr);
}

}  // namespace

GSocket* http_connection_socket(SoupServerMessage* msg) {
  if (GSocket* socket = soup_server_message_get_socket(msg)) return socket;
  auto it = reclaimed().find(peer_key(soup_server_message_get_remote_address(msg)));
  return it == reclaimed().end() ? nullptr : it->second.get();
}

void release_http_connection(SoupServerMessage* msg) {
  if (!soup_server_message_get_socket(msg)) reclaimed().erase(peer_key(soup_server_message_get_remote_address(msg)));
  ConnectionState* c = state_of(msg);
  if (!c) return;
  c->released = true;
  c->deadline.reset();
}

void reclaim_http_connection(GSocket* socket) {
  auto* c = static_cast<ConnectionState*>(g_object_get_qdata(G_OBJECT(socket), connection_quark()));
  if (c) c->released = false;
  Ref<GSocketAddress> peer = Ref<GSocketAddress>::adopt(g_socket_get_remote_address(socket, nullptr));
  const std::string key = peer ? peer_key(peer.get()) : "";
  if (!key.empty()) reclaimed()[key] = Ref<GSocket>::add_ref(socket);
}

void guard_http_server(SoupServer* server, const std::string& name, ConnectionLimitsSource limits,
                       std::shared_ptr<PerIpConnections> per_ip) {
  auto* guard = new ServerGuard{name, std::move(limits), std::move(per_ip)};
  g_signal_connect_data(
      server, "request-started", G_CALLBACK(on_request_started), guard,
      [](gpointer p, GClosure*) { delete static_cast<ServerGuard*>(p); }, GConnectFlags(0));
}

}  // namespace estuary::server
