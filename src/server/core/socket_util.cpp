// Owns: socket helpers (see socket_util.h).
#include "server/core/socket_util.h"

#include <fcntl.h>
#include <unistd.h>

#include "common/gobject_ptr.h"

namespace estuary::server {

std::string peer_ip(GSocketConnection* connection) {
  GError* err = nullptr;
  Ref<GSocketAddress> addr = Ref<GSocketAddress>::adopt(g_socket_connection_get_remote_address(connection, &err));
  if (err) g_error_free(err);
  if (!addr || !G_IS_INET_SOCKET_ADDRESS(addr.get())) return "";
  GInetAddress* inet = g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(addr.get()));
  gchar* text = g_inet_address_to_string(inet);
  std::string ip = text ? text : "";
  g_free(text);
  return ip;
}

int dup_socket_fd(GSocket* socket) { return fcntl(g_socket_get_fd(socket), F_DUPFD_CLOEXEC, 3); }

}  // namespace estuary::server
