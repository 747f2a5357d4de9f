// Owns: small helpers around GSocket / GSocketConnection used by the protocol servers.
#pragma once

#include <gio/gio.h>

#include <string>

namespace estuary::server {

// "127.0.0.1" style address of the peer, or "" if unknown.
std::string peer_ip(GSocketConnection* connection);
// Duplicates the socket's fd for the fan-out engine (the GSocket keeps and closes its own).
int dup_socket_fd(GSocket* socket);

}  // namespace estuary::server
