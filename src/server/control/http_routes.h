// Owns: the two narrow HTTP ports that protocols and outputs mount handlers on without knowing which
// server answers: StreamRoutes (the media server on 8080, routed by /app/stream.EXT) and PathRoutes
// (the API server on 1985, routed by path prefix), plus the reply helpers they share (plain-text
// replies, CORS headers). Implemented by protocols/http (HttpServer) and api (ApiServer); must not
// know either of them.
#pragma once

#include <libsoup/soup.h>

#include <functional>
#include <string>

#include "common/result.h"

namespace estuary::server {

struct StreamPath {
  std::string app;
  std::string stream;
  std::string query;  // raw query string ("token=abc"), for hooks
};

// Splits "/live/test.flv" into app "live", stream "test" for extension ".flv". false if malformed.
bool parse_stream_path(const std::string& path, const std::string& extension, StreamPath* out);

// The media server's routing by extension (".flv", ".ts", ".m3u8", ...). Control thread only.
class StreamRoutes {
 public:
  using StreamHandler = std::function<void(SoupServerMessage* msg, const StreamPath& path)>;
  virtual ~StreamRoutes() = default;
  // Registers the handler of one extension. Outputs and protocols call this at startup.
  virtual void add_stream_handler(const std::string& extension, StreamHandler handler) = 0;
  // Whether replies carry CORS headers ([http] cors).
  virtual bool cors() const = 0;
  // The server behind the routes, for handlers that take a connection over and may give it back
  // (soup_server_accept_iostream); nullptr when there is none.
  virtual SoupServer* soup_server() const { return nullptr; }
  // msg's connection is about to leave libsoup (soup_server_message_steal_connection): the server's
  // request deadlines stop applying to it. And back: a released connection returns to the server
  // (soup_server_accept_iostream) and its deadlines apply again.
  virtual void release_connection(SoupServerMessage* msg) { (void)msg; }
  virtual void reclaim_connection(GSocket* socket) { (void)socket; }
  // The socket of msg's connection (also of one given back), nullptr if unknown.
  virtual GSocket* connection_socket(SoupServerMessage* msg) { return soup_server_message_get_socket(msg); }
};

// The API server's routing by path prefix (WHIP/WHEP, /metrics, /api/v1/dvr, ...). Control thread only.
class PathRoutes {
 public:
  using Handler = std::function<void(SoupServerMessage* msg, const char* path, GHashTable* query)>;
  virtual ~PathRoutes() = default;
  // Serves path_prefix (and everything below it) with `handler`.
  virtual void add_handler(const std::string& path_prefix, Handler handler) = 0;
  virtual void remove_handler(const std::string& path_prefix) = 0;
};

// The HTTP status for an error's reason: invalid 400, not_found 404, conflict 409, too_large 413,
// unsupported 415, unprocessable 422, unavailable 503, internal 500; `fallback` when unspecified.
// The one place that turns errors into status codes.
int http_status_for(const Error& error, int fallback = 500);

// Answers with a status and a short text body (and CORS if enabled).
void respond_text(SoupServerMessage* msg, int status, const std::string& body, bool cors);
// Access-Control-* headers (SRS's set); preflight adds the method/header lists for OPTIONS.
void set_cors_headers(SoupServerMessage* msg, bool preflight, const char* allow_methods);

}  // namespace estuary::server
