// Owns: start_tls_relay (see tls_relay.h).
#include "server/net/tls_relay.h"

#include <sys/socket.h>
#include <unistd.h>

#include "common/gobject_ptr.h"
#include "common/log.h"

namespace estuary::server {
namespace {

struct Relay {
  Ref<GIOStream> tls;
  Ref<GSocketConnection> plain;
  std::string id;
};

void on_splice_done(GObject*, GAsyncResult* result, gpointer data) {
  auto* relay = static_cast<Relay*>(data);
  GError* err = nullptr;
  // Both streams are closed by the splice (CLOSE_STREAM1 | CLOSE_STREAM2) whatever the outcome.
  if (!g_io_stream_splice_finish(result, &err)) {
    log_debug("", relay->id, "tls-relay-end", err ? err->message : "error");
    g_clear_error(&err);
  } else {
    log_debug("", relay->id, "tls-relay-end", "closed");
  }
  delete relay;
}

}  // namespace

int start_tls_relay(GIOStream* tls_stream, const std::string& client_id) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    log_warn("", client_id, "tls-relay", "socketpair failed");
    g_io_stream_close(tls_stream, nullptr, nullptr);
    return -1;
  }
  GError* err = nullptr;
  Ref<GSocket> socket = Ref<GSocket>::adopt(g_socket_new_from_fd(sv[1], &err));
  if (!socket) {
    log_warn("", client_id, "tls-relay", std::string("socket: ") + (err ? err->message : "?"));
    g_clear_error(&err);
    ::close(sv[0]);
    ::close(sv[1]);
    g_io_stream_close(tls_stream, nullptr, nullptr);
    return -1;
  }
  auto* relay =
      new Relay{Ref<GIOStream>::add_ref(tls_stream),
                Ref<GSocketConnection>::adopt(g_socket_connection_factory_create_connection(socket.get())), client_id};
  g_io_stream_splice_async(relay->tls.get(), G_IO_STREAM(relay->plain.get()),
                           GIOStreamSpliceFlags(G_IO_STREAM_SPLICE_CLOSE_STREAM1 | G_IO_STREAM_SPLICE_CLOSE_STREAM2),
                           G_PRIORITY_DEFAULT, nullptr, on_splice_done, relay);
  return sv[0];
}

}  // namespace estuary::server
