// Owns: RtmpServer (see rtmp_server.h).
#include "server/protocols/rtmp/rtmp_server.h"

#include <unistd.h>

#include <vector>

#include "common/control_thread.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/timer.h"
#include "server/net/socket_util.h"
#include "server/protocols/rtmp/rtmp_connection.h"

namespace estuary::server {

RtmpServer::RtmpServer(ControlPorts ports, fanout::Engine& engine) : ports_(ports), engine_(engine) {
  auto set = EpollSet::create("rtmp connections");
  if (set)
    epoll_ = *set;
  else
    log_error("", "", "rtmp-start", set.error().message);
  // The guard stops the timer before this object goes away.
  ticker_ = start_repeating_timer(500, [this]() {
    tick_connections();
    return true;
  });
}

RtmpServer::~RtmpServer() {
  ticker_.reset();
  if (service_) g_socket_service_stop(service_.get());
  incoming_.disconnect();
  connections_.clear();
}

void RtmpServer::tick_connections() {
  // A tick may close a connection, which forgets it: walk a copy of the ids.
  std::vector<std::string> ids;
  ids.reserve(connections_.size());
  for (const auto& [id, conn] : connections_) ids.push_back(id);
  for (const auto& id : ids) {
    auto it = connections_.find(id);
    if (it != connections_.end()) it->second->tick();
  }
}

void RtmpServer::start_connection(std::unique_ptr<RtmpConnection> conn) {
  RtmpConnection* raw = conn.get();
  const std::string id = raw->id();
  connections_[id] = std::move(conn);
  raw->start(epoll_.get());
}

Status RtmpServer::listen(const std::string& address, int port) {
  service_ = Ref<GSocketService>::adopt(g_socket_service_new());
  auto bound = listen_tcp_service(service_.get(), address, port, "rtmp");
  if (!bound) return bound.error();
  port_ = *bound;
  // The guard disconnects before this object goes away, so the bare pointer never dangles.
  incoming_ = SignalGuard(service_.get(),
                          g_signal_connect(service_.get(), "incoming", G_CALLBACK(&RtmpServer::on_incoming), this));
  g_socket_service_start(service_.get());
  log_info("", "", "listen", "RTMP on " + address + ":" + std::to_string(port_));
  return ok_status();
}

void RtmpServer::set_connection_limits(ConnectionLimitsSource limits, std::shared_ptr<PerIpConnections> per_ip) {
  limits_ = std::move(limits);
  per_ip_ = std::move(per_ip);
}

bool RtmpServer::admit(const std::string& ip, const std::string& id) {
  if (!per_ip_) return true;
  const int max = limits_ ? limits_().max_per_ip : 0;
  if (!per_ip_->acquire(ip, max)) {
    if (worth_logging(per_ip_->refusals()))
      log_warn("", id, "rtmp-refused",
               "connection from " + ip + " refused: " + std::to_string(max) +
                   " connections from that address are open (max_connections_per_ip); " +
                   std::to_string(per_ip_->refusals()) + " refused so far");
    return false;
  }
  slots_[id] = std::make_unique<PerIpSlot>(per_ip_, ip);
  return true;
}

gboolean RtmpServer::on_incoming(GSocketService*, GSocketConnection* connection, GObject*, gpointer self) {
  auto* server = static_cast<RtmpServer*>(self);
  std::string id = new_client_id();
  if (!server->admit(peer_ip(connection), id)) {
    g_io_stream_close(G_IO_STREAM(connection), nullptr, nullptr);
    return TRUE;
  }
  server->start_connection(std::make_unique<RtmpConnection>(*server, server->ports_, server->engine_, connection, id));
  return TRUE;
}

void RtmpServer::adopt(int fd, const std::string& peer_ip, const std::string& id) {
  GError* err = nullptr;
  Ref<GSocket> socket = Ref<GSocket>::adopt(g_socket_new_from_fd(fd, &err));
  if (!socket) {
    log_warn("", id, "rtmp-adopt", std::string("cannot use descriptor: ") + (err ? err->message : "?"));
    g_clear_error(&err);
    ::close(fd);
    return;
  }
  if (!admit(peer_ip, id)) return;  // the socket (and fd) close with `socket`
  Ref<GSocketConnection> connection =
      Ref<GSocketConnection>::adopt(g_socket_connection_factory_create_connection(socket.get()));
  start_connection(std::make_unique<RtmpConnection>(*this, ports_, engine_, connection.get(), id, peer_ip));
}

void RtmpServer::forget(const std::string& id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  // Freed on a later loop turn: the connection is usually inside one of its own callbacks now.
  std::shared_ptr<RtmpConnection> doomed(it->second.release());
  connections_.erase(it);
  slots_.erase(id);
  post_to_control([doomed]() {});
}

}  // namespace estuary::server
