// Owns: the reload endpoints (see reload_api.h).
#include "server/api/reload_api.h"

#include <cstring>

#include "server/api/api_json.h"
#include "server/control/http_routes.h"

namespace estuary::server {
namespace {

void answer(SoupServerMessage* msg, const api::ServerIdentity& identity, const Status& st) {
  JsonBuilder* b = json_builder_new();
  json_builder_begin_object(b);
  api::add_envelope(b, identity, st ? 0 : 1);
  if (!st) api::add_string(b, "msg", st.error().message);
  json_builder_end_object(b);
  api::JsonNodePtr root(json_builder_get_root(b));
  g_object_unref(b);
  std::string body = api::to_json_text(root.get());
  api::set_cors_headers(msg, false, "GET, POST, OPTIONS");
  soup_server_message_set_status(msg, st ? 200 : http_status_for(st.error(), 400), nullptr);
  soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, body.data(), body.size());
}

bool preflight_or_refuse(SoupServerMessage* msg, const char* allowed) {
  const char* method = soup_server_message_get_method(msg);
  if (g_strcmp0(method, "OPTIONS") == 0) {
    api::set_cors_headers(msg, true, allowed);
    soup_server_message_set_status(msg, 204, nullptr);
    return true;
  }
  return false;
}

}  // namespace

void register_reload_api(api::ApiServer& api, std::function<Status()> reload) {
  const api::ServerIdentity identity = api.identity();
  api.add_handler("/api/v1/reload", [identity, reload](SoupServerMessage* msg, const char*, GHashTable*) {
    if (preflight_or_refuse(msg, "POST, OPTIONS")) return;
    if (g_strcmp0(soup_server_message_get_method(msg), "POST") != 0) {
      soup_server_message_set_status(msg, 405, nullptr);
      soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow", "POST, OPTIONS");
      return;
    }
    answer(msg, identity, reload());
  });
  // SRS: GET /api/v1/raw?rpc=reload (other rpc values are not served here).
  api.add_handler("/api/v1/raw", [identity, reload](SoupServerMessage* msg, const char*, GHashTable* query) {
    if (preflight_or_refuse(msg, "GET, OPTIONS")) return;
    if (g_strcmp0(soup_server_message_get_method(msg), "GET") != 0) {
      soup_server_message_set_status(msg, 405, nullptr);
      soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow", "GET, OPTIONS");
      return;
    }
    const char* rpc = query ? static_cast<const char*>(g_hash_table_lookup(query, "rpc")) : nullptr;
    if (g_strcmp0(rpc, "reload") != 0) {
      answer(msg, identity,
             Error{std::string("rpc \"") + (rpc ? rpc : "") + "\" is not supported (only rpc=reload)",
                   ErrorReason::invalid, "api"});
      return;
    }
    answer(msg, identity, reload());
  });
}

}  // namespace estuary::server
