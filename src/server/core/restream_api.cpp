// Owns: the API of pulled sources and forwarding: GET /api/v1/sources (pull_sources.h) and
// GET /api/v1/forwards (forward_output.h), SRS envelope plus one object per source/destination.
#include <functional>
#include <string>

#include "server/api/api_json.h"
#include "server/api/api_server.h"
#include "server/core/forward_output.h"
#include "server/core/pull_sources.h"

namespace estuary::server {
namespace {

int64_t clamp_int(uint64_t v) { return v > uint64_t(G_MAXINT64) ? G_MAXINT64 : int64_t(v); }

// A read-only JSON endpoint: `members` adds the payload members to the enveloped object.
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

}  // namespace

void register_sources_api(api::ApiServer& api, PullSources& sources) {
  PullSources* s = &sources;
  add_json_endpoint(api, "/api/v1/sources", [s](JsonBuilder* b) {
    json_builder_set_member_name(b, "sources");
    json_builder_begin_array(b);
    for (const auto& src : s->status()) {
      json_builder_begin_object(b);
      api::add_string(b, "name", src.name);
      api::add_string(b, "stream", src.stream);
      api::add_string(b, "url", src.url);
      api::add_string(b, "kind", src.kind);
      api::add_string(b, "mode", src.mode);
      api::add_string(b, "state", src.state);
      api::add_int(b, "state_since_ms", src.state_since_ms);
      api::add_int(b, "restarts", src.restarts);
      api::add_int(b, "retry_in_ms", src.retry_in_ms);
      api::add_string(b, "last_error", src.last_error);
      api::add_int(b, "recv_bytes", clamp_int(src.bytes));
      api::add_string(b, "cid", src.client_id);
      api::add_int(b, "viewers", src.viewers);
      json_builder_end_object(b);
    }
    json_builder_end_array(b);
  });
}

void register_forwards_api(api::ApiServer& api) {
  add_json_endpoint(api, "/api/v1/forwards", [](JsonBuilder* b) {
    json_builder_set_member_name(b, "forwards");
    json_builder_begin_array(b);
    for (const auto& f : forward_status()) {
      json_builder_begin_object(b);
      api::add_string(b, "stream", f.stream);
      api::add_string(b, "rule", f.rule);
      api::add_string(b, "url", f.url);
      api::add_string(b, "state", f.state);
      api::add_int(b, "state_since_ms", f.state_since_ms);
      api::add_int(b, "restarts", f.restarts);
      api::add_int(b, "retry_in_ms", f.retry_in_ms);
      api::add_string(b, "last_error", f.last_error);
      api::add_int(b, "send_bytes", clamp_int(f.bytes));
      json_builder_end_object(b);
    }
    json_builder_end_array(b);
  });
}

}  // namespace estuary::server
