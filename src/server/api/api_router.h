// Owns: the SRS-compatible HTTP API's routes, independent of the HTTP library: which path and
// method does what, pagination, JSONP, and the JSON reply (envelope, payload or error). ApiServer
// feeds it requests from libsoup; tests may call it directly.
#pragma once

#include <json-glib/json-glib.h>

#include <cstddef>
#include <map>
#include <string>

#include "common/result.h"
#include "server/api/api_identity.h"
#include "server/api/api_sysinfo.h"
#include "server/api/stream_history.h"
#include "server/control/api_model.h"

namespace estuary::api {

struct ApiOptions {
  // `count` on /streams and /clients is honoured exactly (SRS forces at least 10) and clamped here.
  int max_page_count = 1000;
  // Requests with a larger body are answered 413 without calling any handler. This applies to the
  // whole SoupServer, WHIP/WHEP handlers added by other modules included.
  size_t max_request_body = 1 << 20;
  // Longer path or query strings are answered 414 (libsoup itself stops at 64 KiB of headers).
  size_t max_uri_length = 4096;
  // SRS answers "not found" API codes (2014, 2048, 2049) with HTTP 200; by default we use 404 with
  // the same `code`. true = SRS's behaviour exactly. JSONP replies are always HTTP 200.
  bool srs_error_status = false;
  // Authentication of every request on the port except CORS preflight, /rtc/, /whip/, /whep/ (WHIP/WHEP carry
  // their own tokens): "none", "basic" (username/password) or "bearer" (token). Failures get 401
  // with WWW-Authenticate before any handler runs.
  std::string auth = "none";
  std::string username, password, token;
};

struct ApiRequest {
  std::string method;                        // "GET", "DELETE", "OPTIONS", "HEAD", ...
  std::string path;                          // decoded path, e.g. "/api/v1/streams/vid-1"
  std::map<std::string, std::string> query;  // decoded query parameters
};

struct ApiReply {
  int http_status = 200;
  int code = 0;                                   // the `code` member of the body
  std::string content_type = "application/json";  // "text/javascript" for JSONP
  std::string body;
  std::string allow;  // methods of the matched route ("GET, HEAD, OPTIONS"); "" when none matched
};

struct Page {
  size_t start = 0;
  size_t count = 10;
};

// ?start=&count=: non-negative decimal integers; start defaults to 0, count to 10, count is clamped
// to max_count. Anything else is a 400 error.
Result<Page> parse_page(const std::map<std::string, std::string>& query, int max_count);

class ApiRouter {
 public:
  ApiRouter(Backend& backend, ServerIdentity identity, ApiOptions options);

  ApiReply handle(const ApiRequest& request);

  // A complete error reply (envelope + code + message) with the status from http_status_for_code.
  ApiReply error_reply(int api_code, const std::string& message) const;

  // Takes the once-a-second sample behind /api/v1/streams/{id}/history (ApiServer's timer calls it).
  void sample_history(int64_t now_ms);
  const StreamHistory& history() const { return history_; }

  const ServerIdentity& identity() const { return identity_; }
  const ApiOptions& options() const { return options_; }

 private:
  Backend& backend_;
  ServerIdentity identity_;
  ApiOptions options_;
  CpuSampler host_cpu_;
  StreamHistory history_;

  Status add_history(JsonBuilder* b, const std::string& id, const std::map<std::string, std::string>& query) const;
};

}  // namespace estuary::api
