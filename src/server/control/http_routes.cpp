// Owns: the shared HTTP reply helpers and stream-path parsing (see http_routes.h).
#include "server/control/http_routes.h"

namespace estuary::server {
namespace {
constexpr size_t max_path = 1024;
constexpr size_t max_name = 256;

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > max_name) return false;
  for (unsigned char c : s)
    if (c < 0x21 || c == 0x7f || c == '?' || c == '#' || c == '\\') return false;
  return true;
}
}  // namespace

bool parse_stream_path(const std::string& path, const std::string& extension, StreamPath* out) {
  if (path.size() > max_path || path.size() < 2 + extension.size() || path[0] != '/') return false;
  if (path.compare(path.size() - extension.size(), extension.size(), extension) != 0) return false;
  std::string body = path.substr(1, path.size() - 1 - extension.size());
  auto slash = body.rfind('/');
  if (slash == std::string::npos) return false;
  out->app = body.substr(0, slash);
  out->stream = body.substr(slash + 1);
  if (out->app.find("..") != std::string::npos) return false;
  return valid_name(out->app) && valid_name(out->stream);
}

void respond_text(SoupServerMessage* msg, int status, const std::string& body, bool cors) {
  soup_server_message_set_status(msg, guint(status), nullptr);
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  if (cors) soup_message_headers_replace(h, "Access-Control-Allow-Origin", "*");
  soup_server_message_set_response(msg, "text/plain", SOUP_MEMORY_COPY, body.data(), body.size());
}

void set_cors_headers(SoupServerMessage* msg, bool preflight, const char* allow_methods) {
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  soup_message_headers_replace(h, "Access-Control-Allow-Origin", "*");
  if (!preflight) return;
  soup_message_headers_replace(h, "Access-Control-Allow-Methods", allow_methods);
  soup_message_headers_replace(h, "Access-Control-Allow-Headers",
                               "origin, range, accept-encoding, referer, cache-control, x-proxy-authorization, "
                               "x-requested-with, content-type, authorization");
  soup_message_headers_replace(h, "Access-Control-Expose-Headers", "Server, Location, Content-Length");
  soup_message_headers_replace(h, "Access-Control-Max-Age", "600");
}

int http_status_for(const Error& error, int fallback) {
  switch (error.reason) {
    case ErrorReason::invalid:
      return 400;
    case ErrorReason::not_found:
      return 404;
    case ErrorReason::conflict:
      return 409;
    case ErrorReason::too_large:
      return 413;
    case ErrorReason::unsupported:
      return 415;
    case ErrorReason::unprocessable:
      return 422;
    case ErrorReason::unavailable:
      return 503;
    case ErrorReason::internal:
      return 500;
    case ErrorReason::unspecified:
      break;
  }
  return fallback;
}

}  // namespace estuary::server
