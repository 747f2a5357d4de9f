// Owns: the RTMPS listener (port 1443): accepting TCP, the TLS handshake (asynchronous, bounded in
// time and in how many run at once), and handing each secured connection to the RTMP server through
// a TLS relay as if it were a plain one, with the real peer address. Control thread only.
#pragma once

#include <gio/gio.h>

#include <memory>
#include <string>

#include "common/gobject_ptr.h"
#include "common/result.h"
#include "server/net/tls_context.h"
#include "server/protocols/rtmp/rtmp_server.h"

namespace estuary::server {

class RtmpsServer {
 public:
  // handshake_timeout_ms: a client that has not finished the TLS handshake in this time is dropped.
  RtmpsServer(RtmpServer& rtmp, TlsContext& tls, int handshake_timeout_ms);
  ~RtmpsServer();
  Status listen(const std::string& address, int port);
  int port() const { return port_; }
  // After a handshake: the RTMP server takes the relay's plain end (fd) as a new connection.
  void adopt_connection(int fd, const std::string& ip, const std::string& id);

  struct Handshake;  // one connection in its TLS handshake (public for the C callbacks)

 private:
  static gboolean on_incoming(GSocketService* service, GSocketConnection* connection, GObject* source, gpointer self);

  RtmpServer& rtmp_;
  TlsContext& tls_;
  int handshake_timeout_ms_;
  Ref<GSocketService> service_;
  SignalGuard incoming_;
  int port_ = 0;
  std::shared_ptr<int> pending_ = std::make_shared<int>(0);  // handshakes in flight; weak refs outlive us safely
};

}  // namespace estuary::server
