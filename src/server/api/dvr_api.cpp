// Owns: the DVR API handler (see dvr_api.h).
#include "server/api/dvr_api.h"

#include <string>

namespace estuary::server {
namespace {

constexpr const char* kPrefix = "/api/v1/dvr";

void reply(SoupServerMessage* msg, int status, int code, const std::string& message) {
  std::string body =
      "{\"code\":" + std::to_string(code) + (message.empty() ? "" : ",\"message\":\"" + message + "\"") + "}";
  api::set_cors_headers(msg, false, "POST, DELETE, OPTIONS");
  soup_server_message_set_status(msg, guint(status), nullptr);
  soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, body.data(), body.size());
}

}  // namespace

void register_dvr_api(api::ApiServer& api, OutputControl& outputs) {
  OutputControl* sup = &outputs;
  api.add_handler(kPrefix, [sup](SoupServerMessage* msg, const char* path_c, GHashTable*) {
    const std::string method = soup_server_message_get_method(msg);
    if (method == "OPTIONS") {
      api::set_cors_headers(msg, true, "POST, DELETE, OPTIONS");
      soup_server_message_set_status(msg, 204, nullptr);
      return;
    }
    std::string path = path_c ? path_c : "";
    std::string id = path.size() > std::string(kPrefix).size() + 1 ? path.substr(std::string(kPrefix).size() + 1) : "";
    if (!id.empty() && id.back() == '/') id.pop_back();
    if (id.empty() || id.find('/') != std::string::npos || id.find('"') != std::string::npos) {
      reply(msg, 404, 2048, "use /api/v1/dvr/STREAM_ID");
      return;
    }
    if (method != "POST" && method != "DELETE") {
      reply(msg, 405, 1, "method not allowed");
      return;
    }
    Status st = sup->set_requested_output(id, "dvr", method == "POST");
    if (!st) {
      const bool missing = st.error().reason == ErrorReason::not_found;
      reply(msg, http_status_for(st.error()), missing ? 2048 : 1, st.error().message);
      return;
    }
    reply(msg, 200, 0, "");
  });
}

}  // namespace estuary::server
