// Owns: HTTP byte-stream playback (see http_byte_stream.h).
#include "server/protocols/http/http_byte_stream.h"

#include <unistd.h>

#include "common/control_thread.h"
#include "common/ids.h"
#include "common/log.h"
#include "server/control/viewer_handoff.h"
#include "server/net/http_guard.h"
#include "server/net/socket_util.h"
#include "server/net/tls_relay.h"

namespace estuary::server {
namespace {

struct Pending {
  Ref<SoupServerMessage> msg;
  std::string id;
  ControlPorts* ports;  // owned by register_http_byte_stream's handler, which outlives every request
  fanout::Engine* engine;
  fanout::ChannelPtr channel;
  bool cors;
};

// wrote-headers: the response head is on the wire; from here the fan-out owns the socket.
void on_wrote_headers(SoupServerMessage* msg, gpointer data) {
  auto* p = static_cast<Pending*>(data);
  ClientRegistry& clients = p->ports->clients;
  const std::string id = p->id;
  GUri* uri = soup_server_message_get_uri(msg);
  const bool tls = uri && g_strcmp0(g_uri_get_scheme(uri), "https") == 0;
  GSocket* socket = http_connection_socket(msg);
  // Over TLS the kernel socket carries ciphertext: the fan-out gets a relay's plain end instead.
  int fd = tls ? -1 : (socket ? dup_socket_fd(socket) : -1);
  release_http_connection(msg);
  GIOStream* stolen = soup_server_message_steal_connection(msg);
  if (stolen && tls) {
    fd = start_tls_relay(stolen, id);
    g_object_unref(stolen);
  } else if (stolen) {
    g_io_stream_close(stolen, nullptr, nullptr);  // closes libsoup's descriptor; ours is a duplicate
    g_object_unref(stolen);
  }
  if (fd < 0 || !p->channel) {
    if (fd >= 0) ::close(fd);
    clients.remove_client(id, "socket unavailable");
    return;
  }
  hand_viewer_to_fanout(*p->engine, clients, ViewerHandoff{p->channel, fd, id, {}, 0});
}

void start_http_play(const std::shared_ptr<Pending>& pending, const HttpByteStreamFormat& format);

// The head of a 200 answer, the same for GET (before the fan-out takes the socket) and HEAD.
void set_play_headers(SoupServerMessage* msg, const HttpByteStreamFormat& format, bool cors) {
  soup_server_message_set_status(msg, 200, nullptr);
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  soup_message_headers_set_encoding(h, SOUP_ENCODING_EOF);
  soup_message_headers_replace(h, "Content-Type", format.content_type.c_str());
  soup_message_headers_replace(h, "Cache-Control", "no-cache");
  soup_message_headers_replace(h, "Connection", "close");
  if (cors) soup_message_headers_replace(h, "Access-Control-Allow-Origin", "*");
}

// HEAD (players and monitors probing a URL): the status and headers a GET would get, with no body,
// no client record, no fan-out viewer and no on_play hook. Only the rules that need no hook decide.
void answer_head(SoupServerMessage* msg, ControlPorts& ports, const StreamPath& path,
                 const HttpByteStreamFormat& format, bool cors) {
  const char* ip = soup_server_message_get_remote_host(msg);
  const Verdict v = ports.admission.check_rules(ip ? ip : "", path.app, path.stream, Admission::Action::play);
  if (!v.allowed) {
    respond_text(msg, v.http_status, v.reason + "\n", cors);
    return;
  }
  set_play_headers(msg, format, cors);
}

}  // namespace

void register_http_byte_stream(StreamRoutes& http, ControlPorts control, fanout::Engine& engine,
                               HttpByteStreamFormat format) {
  StreamRoutes* server = &http;
  auto shared_ports = std::make_shared<ControlPorts>(control);
  http.add_stream_handler(
      format.extension, [server, shared_ports, &engine, format](SoupServerMessage* msg, const StreamPath& path) {
        ControlPorts& ports = *shared_ports;
        const std::string key = path.app + "/" + path.stream;
        // Live, or a pulled source started on demand; a GET may also wait for the stream ([play] wait_ms).
        const bool head = soup_server_message_get_method(msg) == SOUP_METHOD_HEAD;
        const bool may_wait = !head && ports.settings.config().play.wait_ms > 0;
        if (!may_wait && !ports.play.stream_is_playable(key)) {
          respond_text(msg, 404, "stream " + key + " not found\n", server->cors());
          return;
        }
        if (head) {
          answer_head(msg, ports, path, format, server->cors());
          return;
        }
        Client c;
        c.id = new_client_id();
        c.type = format.client_type;
        c.ip = soup_server_message_get_remote_host(msg) ? soup_server_message_get_remote_host(msg) : "";
        c.app = path.app;
        c.stream = path.stream;
        c.query = path.query;
        c.start_us = g_get_monotonic_time();
        const std::string id = c.id;
        auto pending = std::make_shared<Pending>(
            Pending{Ref<SoupServerMessage>::add_ref(msg), id, &ports, &engine, nullptr, server->cors()});
        // Until the socket is handed over (admission, or waiting for the output to start), a kick
        // answers the paused request itself: nothing else would, and the player would wait forever.
        c.kick = [&ports, id, weak = std::weak_ptr<Pending>(pending)]() {
          if (auto p = weak.lock(); p && p->msg) {
            respond_text(p->msg.get(), 503, "kicked\n", p->cors);
            soup_server_message_unpause(p->msg.get());
          }
          ports.clients.remove_client(id, "kicked");
        };
        ports.clients.add_client(std::move(c));

        soup_server_message_pause(msg);
        // Limits, IP rules and on_play first (may answer later): 403/503 on refusal.
        ports.admission.admit(id, Admission::Action::play, [pending, format](const Verdict& v) {
          if (!v.allowed) {
            respond_text(pending->msg.get(), v.http_status, v.reason + "\n", pending->cors);
            soup_server_message_unpause(pending->msg.get());
            pending->ports->clients.remove_client(pending->id, "play refused");
            return;
          }
          start_http_play(pending, format);
        });
      });
}

namespace {

// After admission: attach to the stream's output, answer 200 and hand the socket to the fan-out.
void start_http_play(const std::shared_ptr<Pending>& pending, const HttpByteStreamFormat& format) {
  ControlPorts& ports = *pending->ports;
  const std::string id = pending->id;
  SoupServerMessage* msg = pending->msg.get();
  Status st = ports.play.begin_play(id, format.format, [pending, format](fanout::ChannelPtr channel) {
    SoupServerMessage* m = pending->msg.get();
    if (!channel) {
      // Not live by now: the wait for the stream ran out ([play] wait_ms).
      const Client* c = pending->ports->clients.find_client(pending->id);
      const std::string key = c ? c->key() : "";
      const bool not_live = !key.empty() && !pending->ports->play.stream_is_live(key);
      if (not_live)
        respond_text(m, 404, "stream " + key + " not found\n", pending->cors);
      else
        respond_text(m, 503, "stream output unavailable\n", pending->cors);
      soup_server_message_unpause(m);
      pending->ports->clients.remove_client(pending->id, not_live ? "not published in time" : "output unavailable");
      return;
    }
    pending->channel = std::move(channel);
    set_play_headers(m, format, pending->cors);
    auto* data = new Pending(*pending);
    // No reference to m in m's own handler data: that cycle kept every HTTP play's message (and its
    // channel reference) alive forever. on_wrote_headers gets the message as its argument.
    data->msg = Ref<SoupServerMessage>();
    g_signal_connect_data(
        m, "wrote-headers", G_CALLBACK(on_wrote_headers), data,
        [](gpointer d, GClosure*) { delete static_cast<Pending*>(d); }, GConnectFlags(0));
    soup_server_message_unpause(m);
  });
  if (!st) {
    ports.clients.remove_client(id, "play refused");
    respond_text(msg, st.error().reason == ErrorReason::not_found ? 404 : 503, st.error().message + "\n",
                 pending->cors);
    soup_server_message_unpause(msg);
  }
}

}  // namespace

}  // namespace estuary::server
