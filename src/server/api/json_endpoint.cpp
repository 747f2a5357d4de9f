// Owns: read-only JSON endpoints (see json_endpoint.h).
#include "server/api/json_endpoint.h"

#include "server/api/api_json.h"

namespace estuary::server {

void add_json_endpoint(api::ApiServer& api, const std::string& path, std::function<void(JsonBuilder*)> members) {
  api::ServerIdentity identity = api.identity();
  api.add_handler(path, [identity, members](SoupServerMessage* msg, const char*, GHashTable*) {
    const char* method = soup_server_message_get_method(msg);
    if (g_strcmp0(method, "OPTIONS") == 0) {
      api::set_cors_headers(msg, true, "GET, HEAD, OPTIONS");
      soup_server_message_set_status(msg, 204, nullptr);
      return;
    }
    if (g_strcmp0(method, "GET") != 0 && g_strcmp0(method, "HEAD") != 0) {
      soup_server_message_set_status(msg, 405, nullptr);
      soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow", "GET, HEAD, OPTIONS");
      return;
    }
    JsonBuilder* b = json_builder_new();
    json_builder_begin_object(b);
    api::add_envelope(b, identity, 0);
    members(b);
    json_builder_end_object(b);
    api::JsonNodePtr root(json_builder_get_root(b));
    g_object_unref(b);
    std::string body = api::to_json_text(root.get());
    api::set_cors_headers(msg, false, "GET, HEAD, OPTIONS");
    soup_server_message_set_status(msg, 200, nullptr);
    soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, body.data(), body.size());
  });
}

}  // namespace estuary::server
