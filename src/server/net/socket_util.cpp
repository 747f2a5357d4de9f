// Owns: socket helpers (see socket_util.h).
#include "server/net/socket_util.h"

#include <fcntl.h>
#include <unistd.h>

#include "common/gobject_ptr.h"

namespace estuary::server {
Error listen_failed(const char* what, const std::string& address, int port, GError* err) {
  Error e{std::string(what) + ": cannot listen on " + address + ":" + std::to_string(port) + ": " +
          (err ? err->message : "?")};
  g_clear_error(&err);
  return e;
}

Result<Ref<GSocket>> listen_tcp_socket(const std::string& address, int port, const char* what) {
  Ref<GInetAddress> inet = Ref<GInetAddress>::adopt(g_inet_address_new_from_string(address.c_str()));
  if (!inet) return Error{std::string(what) + ": bad listen address " + address};
  Ref<GSocketAddress> addr = Ref<GSocketAddress>::adopt(g_inet_socket_address_new(inet.get(), guint16(port)));
  GError* err = nullptr;
  Ref<GSocket> sock = Ref<GSocket>::adopt(
      g_socket_new(g_socket_address_get_family(addr.get()), G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &err));
  if (!sock) return listen_failed(what, address, port, err);
  g_socket_set_listen_backlog(sock.get(), kListenBacklog);
  if (!g_socket_bind(sock.get(), addr.get(), TRUE, &err) || !g_socket_listen(sock.get(), &err))
    return listen_failed(what, address, port, err);
  return sock;
}

Result<int> listen_tcp_service(GSocketService* service, const std::string& address, int port, const char* what) {
  auto sock = listen_tcp_socket(address, port, what);
  if (!sock) return sock.error();
  GError* err = nullptr;
  if (!g_socket_listener_add_socket(G_SOCKET_LISTENER(service), sock->get(), nullptr, &err))
    return listen_failed(what, address, port, err);
  return local_port(sock->get());
}

int local_port(GSocket* socket) {
  Ref<GSocketAddress> local = Ref<GSocketAddress>::adopt(g_socket_get_local_address(socket, nullptr));
  if (!local || !G_IS_INET_SOCKET_ADDRESS(local.get())) return 0;
  return g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local.get()));
}

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
