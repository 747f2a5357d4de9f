// Owns: the listen endpoint (see listen_api.h).
#include "server/api/listen_api.h"

#include "server/api/api_json.h"

namespace estuary::server {

void register_listen_api(api::ApiServer& api, ListenPorts ports) {
  const api::ServerIdentity identity = api.identity();
  api.add_handler("/api/v1/listen", [identity, ports](SoupServerMessage* msg, const char*, GHashTable*) {
    const char* method = soup_server_message_get_method(msg);
    if (g_strcmp0(method, "OPTIONS") == 0) {
      api::set_cors_headers(msg, true, "GET, OPTIONS");
      soup_server_message_set_status(msg, 204, nullptr);
      return;
    }
    if (g_strcmp0(method, "GET") != 0 && g_strcmp0(method, "HEAD") != 0) {
      soup_server_message_set_status(msg, 405, nullptr);
      soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow", "GET, OPTIONS");
      return;
    }
    JsonBuilder* b = json_builder_new();
    json_builder_begin_object(b);
    api::add_envelope(b, identity, 0);
    json_builder_set_member_name(b, "ports");
    json_builder_begin_object(b);
    const std::pair<const char*, int> rows[] = {
        {"rtmp", ports.rtmp}, {"rtmps", ports.rtmps},         {"http", ports.http}, {"https", ports.https},
        {"api", ports.api},   {"api_https", ports.api_https}, {"srt", ports.srt},   {"rtsp", ports.rtsp}};
    for (const auto& [name, port] : rows) {
      json_builder_set_member_name(b, name);
      json_builder_add_int_value(b, port);
    }
    json_builder_end_object(b);
    json_builder_end_object(b);
    api::JsonNodePtr root(json_builder_get_root(b));
    g_object_unref(b);
    const std::string body = api::to_json_text(root.get());
    api::set_cors_headers(msg, false, "GET, OPTIONS");
    soup_server_message_set_status(msg, 200, nullptr);
    soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, body.data(), body.size());
  });
}

}  // namespace estuary::server
