// Owns: the RTMP listener (port 1935) and every RTMP connection until it becomes a fan-out viewer:
// socket I/O on the control thread, the sans-IO rtmp::Session, the publisher's FLV ingest, and the
// hand-off of players to the fan-out engine. Publishers stay here for their whole life.
// All connections' sockets sit in one epoll set (one GLib source) and one 500 ms timer ticks their
// deadlines, so the control thread's poll does not grow with the number of publishers.
#pragma once

#include <gio/gio.h>

#include <map>
#include <memory>
#include <string>

#include "common/epoll_set.h"
#include "common/gobject_ptr.h"
#include "common/result.h"
#include "fanout/fanout.h"
#include "server/control/ports.h"
#include "server/net/connection_limits.h"

namespace estuary::server {

class RtmpConnection;

class RtmpServer {
 public:
  RtmpServer(ControlPorts ports, fanout::Engine& engine);
  ~RtmpServer();
  Status listen(const std::string& address, int port);
  int port() const { return port_; }
  // The per-address cap on open connections (see connection_limits.h); RTMP's deadlines are its own.
  void set_connection_limits(ConnectionLimitsSource limits, std::shared_ptr<PerIpConnections> per_ip);
  // Serves an already-connected stream socket (the plain end of a TLS relay for RTMPS) as a new
  // connection from peer_ip with client id id. Takes ownership of fd.
  void adopt(int fd, const std::string& peer_ip, const std::string& id);
  // Drops a connection object (called by the connection itself, deferred to the next loop turn).
  void forget(const std::string& id);

 private:
  static gboolean on_incoming(GSocketService* service, GSocketConnection* connection, GObject* source, gpointer self);
  // Takes a new connection object and starts it (closes it when the epoll set could not be made).
  void start_connection(std::unique_ptr<RtmpConnection> conn);
  void tick_connections();

  ControlPorts ports_;
  fanout::Engine& engine_;
  Ref<GSocketService> service_;
  SignalGuard incoming_;
  int port_ = 0;
  // Whether ip may open another connection; counts it under id (released by forget(id)).
  bool admit(const std::string& ip, const std::string& id);

  std::map<std::string, std::unique_ptr<RtmpConnection>> connections_;
  std::shared_ptr<EpollSet> epoll_;  // every connection's socket
  SourceGuard ticker_;
  ConnectionLimitsSource limits_;
  std::shared_ptr<PerIpConnections> per_ip_;
  std::map<std::string, std::unique_ptr<PerIpSlot>> slots_;  // by connection id
};

}  // namespace estuary::server
