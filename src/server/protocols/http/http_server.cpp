// Owns: HttpServer (see http_server.h).
#include "server/protocols/http/http_server.h"

#include "common/log.h"
#include "server/net/http_guard.h"
#include "server/net/socket_util.h"

namespace estuary::server {

HttpServer::HttpServer() {
  server_ =
      Ref<SoupServer>::adopt(SOUP_SERVER(g_object_new(SOUP_TYPE_SERVER, "server-header", "Estuary/0.1", nullptr)));
  // Bare `this`: the handler is removed in ~HttpServer before the object goes.
  soup_server_add_handler(server_.get(), nullptr, &HttpServer::on_request, this, nullptr);
}

HttpServer::~HttpServer() {
  soup_server_remove_handler(server_.get(), nullptr);
  soup_server_disconnect(server_.get());
}

Status HttpServer::listen(const std::string& address, int port, bool https) {
  const std::string scheme = https ? "https" : "http";
  // Our own socket: soup_server_listen() keeps GLib's accept backlog of 10, and a burst of players
  // beyond it sees SYNs dropped and 1 s connect retries.
  auto sock = listen_tcp_socket(address, port, scheme.c_str());
  if (!sock) return sock.error();
  GError* err = nullptr;
  const auto options = https ? SOUP_SERVER_LISTEN_HTTPS : SoupServerListenOptions(0);
  if (!soup_server_listen_socket(server_.get(), sock->get(), options, &err))
    return listen_failed(scheme.c_str(), address, port, err);
  const int bound = local_port(sock->get());
  (https ? https_port_ : port_) = bound;
  log_info("", "", "listen", std::string(https ? "HTTPS" : "HTTP") + " on " + address + ":" + std::to_string(bound));
  return ok_status();
}

void HttpServer::add_stream_handler(const std::string& extension, StreamHandler handler) {
  handlers_[extension] = std::move(handler);
}

void HttpServer::on_request(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, gpointer self) {
  static_cast<HttpServer*>(self)->handle(msg, path);
}

void HttpServer::handle(SoupServerMessage* msg, const char* path_c) {
  const std::string method = soup_server_message_get_method(msg);
  const std::string path = path_c ? path_c : "";
  if (method == "OPTIONS") {
    SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
    if (cors_) {
      soup_message_headers_replace(h, "Access-Control-Allow-Origin", "*");
      soup_message_headers_replace(h, "Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
      soup_message_headers_replace(h, "Access-Control-Allow-Headers", "*");
    }
    soup_server_message_set_status(msg, 200, nullptr);
    return;
  }
  // The longest registered extension that ends the path wins ("_abr.m3u8" before ".m3u8").
  const std::string* best = nullptr;
  for (const auto& [ext, handler] : handlers_)
    if (path.size() >= ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0 &&
        (!best || ext.size() > best->size()))
      best = &ext;
  for (const auto& [ext, handler] : handlers_) {
    StreamPath sp;
    if (&ext == best) {
      if (method != "GET" && method != "HEAD") {
        respond_text(msg, 405, "method not allowed\n", cors_);
        return;
      }
      if (!parse_stream_path(path, ext, &sp)) {
        respond_text(msg, 400, "bad stream path\n", cors_);
        return;
      }
      GUri* uri = soup_server_message_get_uri(msg);
      if (const char* q = g_uri_get_query(uri)) sp.query = std::string(q).substr(0, 2048);
      handler(msg, sp);
      return;
    }
  }
  if (fallback_ && fallback_(msg, path)) return;
  respond_text(msg, 404, "not found\n", cors_);
}

void HttpServer::release_connection(SoupServerMessage* msg) { release_http_connection(msg); }

void HttpServer::reclaim_connection(GSocket* socket) { reclaim_http_connection(socket); }

GSocket* HttpServer::connection_socket(SoupServerMessage* msg) { return http_connection_socket(msg); }

}  // namespace estuary::server
