// Owns: the HTTP media server (SRS port 8080): the SoupServer and routing of /app/stream.<ext> to
// the handler registered for that extension (".flv", ".ts", ".m3u8", "_abr.m3u8", each registered by its owner),
// CORS preflight, a fallback for other paths (static pages), and 404s with a short body. Runs on
// the control thread.
#pragma once

#include <libsoup/soup.h>

#include <functional>
#include <map>
#include <string>

#include "common/gobject_ptr.h"
#include "common/result.h"
#include "server/control/http_routes.h"

namespace estuary::server {

class HttpServer final : public StreamRoutes {
 public:
  HttpServer();
  ~HttpServer();
  // https: a TLS listener (the SoupServer's tls-certificate must be set first; see TlsContext).
  Status listen(const std::string& address, int port, bool https = false);
  int port() const { return port_; }
  int https_port() const { return https_port_; }
  SoupServer* soup_server() const override { return server_.get(); }
  void release_connection(SoupServerMessage* msg) override;
  void reclaim_connection(GSocket* socket) override;
  GSocket* connection_socket(SoupServerMessage* msg) override;
  void set_cors(bool enabled) { cors_ = enabled; }
  bool cors() const override { return cors_; }
  // Registers the handler of one extension (".flv"). Outputs call this at startup.
  void add_stream_handler(const std::string& extension, StreamHandler handler) override;
  // Asked for requests no stream handler claims (static pages); returns false to let a 404 go out.
  using FallbackHandler = std::function<bool(SoupServerMessage* msg, const std::string& path)>;
  void set_fallback_handler(FallbackHandler handler) { fallback_ = std::move(handler); }

 private:
  static void on_request(SoupServer* server, SoupServerMessage* msg, const char* path, GHashTable* query,
                         gpointer self);
  void handle(SoupServerMessage* msg, const char* path);

  Ref<SoupServer> server_;
  std::map<std::string, StreamHandler> handlers_;
  FallbackHandler fallback_;
  bool cors_ = true;
  int port_ = 0;
  int https_port_ = 0;
};

}  // namespace estuary::server
