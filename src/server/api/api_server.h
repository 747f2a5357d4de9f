// Owns: the HTTP API listener (SRS port 1985): the SoupServer, its sockets, the SRS-compatible
// /api/ routes (via ApiRouter), CORS, request size limits, and the hook other modules use to serve
// their own paths (WHIP/WHEP, /metrics) on the same port. Runs on the main loop thread: sockets are
// attached to the thread-default GMainContext of the thread that calls listen().
//
// Error statuses: an unknown stream/client/vhost answers HTTP 404 with SRS's `code` (2048/2049/2014)
// in the body; set ApiOptions::srs_error_status for SRS's HTTP 200. JSONP (?callback=) is always 200.
#pragma once

#include <libsoup/soup.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/gobject_ptr.h"
#include "common/result.h"
#include "server/api/api_identity.h"
#include "server/api/api_router.h"
#include "server/control/api_model.h"
#include "server/control/http_routes.h"

namespace estuary::api {

// The CORS headers the API sends (Access-Control-Allow-Origin: *; for preflight also
// Allow-Methods/Allow-Headers/Max-Age); defined with the HTTP ports in server/control.
using server::set_cors_headers;

class ApiServer final : public server::PathRoutes {
 public:
  // backend must outlive the ApiServer.
  ApiServer(Backend& backend, ServerIdentity id, ApiOptions options = {});
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // address: an IP literal ("0.0.0.0", "127.0.0.1", "::"), "" or "*" for every interface (IPv4 and
  // IPv6), or "localhost" (loopback, both families). port 0 picks a free port; see port(). May be
  // called more than once to listen on several addresses.
  // https: a TLS listener; the SoupServer's tls-certificate must be set first (see TlsContext).
  Status listen(const std::string& address, int port, bool https = false);

  int port() const { return port_; }              // the port bound by the first successful listen(); 0 before
  int https_port() const { return https_port_; }  // likewise for the first https listen()
  SoupServer* soup_server() const { return server_.get(); }  // borrowed; valid while this lives
  const ServerIdentity& identity() const;

  // Serves path_prefix (and everything below it) with `handler` instead of the API's "/" fallback.
  // The handler runs on the main loop thread; an exception it throws is answered 500 (it never
  // reaches libsoup). Adding a prefix again replaces its handler; "/" is the API's own and is refused.
  using Handler = server::PathRoutes::Handler;
  void add_handler(const std::string& path_prefix, Handler handler) override;
  void remove_handler(const std::string& path_prefix) override;

  struct Core;  // implementation detail, public only so the C callbacks in the .cpp can name it

 private:
  std::shared_ptr<Core> core_;  // shared with libsoup callbacks, so none of them holds `this`
  Ref<SoupServer> server_;
  SignalGuard request_started_;
  SourceGuard history_timer_;  // samples the streams' history once a second
  std::vector<std::string> extra_prefixes_;
  int port_ = 0;
  int https_port_ = 0;
};

}  // namespace estuary::api
