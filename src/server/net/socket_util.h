// Owns: small helpers around GSocket / GSocketConnection used by the protocol servers: opening
// their TCP listeners (one place for the backlog, the address parse and the error text) and
// reading a connection's peer and descriptor.
#pragma once

#include <gio/gio.h>

#include <string>

#include "common/gobject_ptr.h"
#include "common/result.h"

namespace estuary::server {

// Accept backlog of every listener (GLib's default of 10, gst-rtsp-server's 5, drop SYNs under a
// burst of players and cost them a 1 s connect retry).
constexpr int kListenBacklog = 1024;

// A bound, listening TCP socket on address:port (port 0: any free one) with a deep accept backlog.
// Errors read "<what>: bad listen address A" or "<what>: cannot listen on A:P: reason".
Result<Ref<GSocket>> listen_tcp_socket(const std::string& address, int port, const char* what);
// Adds such a socket to service (not started); returns the port actually bound.
Result<int> listen_tcp_service(GSocketService* service, const std::string& address, int port, const char* what);
// The "<what>: cannot listen on A:P: reason" error; takes err (may be null).
Error listen_failed(const char* what, const std::string& address, int port, GError* err);
// The local port a listening socket is bound to (0 if unknown).
int local_port(GSocket* socket);

// "127.0.0.1" style address of the peer, or "" if unknown.
std::string peer_ip(GSocketConnection* connection);
// Duplicates the socket's fd for the fan-out engine (the GSocket keeps and closes its own).
int dup_socket_fd(GSocket* socket);

}  // namespace estuary::server
