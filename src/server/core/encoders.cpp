// Owns: encoder placeholder resolution for the server and its API endpoint (see encoders.h).
#include "server/core/encoders.h"

#include <json-glib/json-glib.h>

#include "common/log.h"
#include "server/api/api_json.h"
#include "server/config/pipelines_dir.h"

namespace estuary::server {
namespace {

std::map<pipelines::VideoCodec, pipelines::EncoderChoice>& choices() {
  static std::map<pipelines::VideoCodec, pipelines::EncoderChoice> c;
  return c;
}

}  // namespace

void install_encoder_placeholders() {
  if (!choices().empty()) return;
  for (auto codec : {pipelines::VideoCodec::h264, pipelines::VideoCodec::h265}) {
    auto choice = pipelines::select_encoder(
        codec, pipelines::list_gst_encoders(codec),
        [](const std::string& f, std::string* e) { return pipelines::gst_test_encode(f, e); });
    std::string placeholder = std::string("@") + pipelines::video_codec_name(codec) + "enc";
    if (choice.element.empty())
      log_warn("", "", "encoder", placeholder + " unresolved: " + choice.reason);
    else
      log_info("", "", "encoder", placeholder + " -> " + choice.element + " (" + choice.reason + ")");
    choices()[codec] = std::move(choice);
  }
  config::set_launch_preprocessor([](const std::string& launch) {
    if (!pipelines::has_encoder_placeholder(launch)) return launch;
    return pipelines::expand_encoder_placeholders(launch, choices());
  });
}

const std::map<pipelines::VideoCodec, pipelines::EncoderChoice>& encoder_choices() { return choices(); }

void register_encoder_api(api::ApiServer& api, const api::ServerIdentity& identity) {
  api.add_handler("/api/v1/encoders", [identity](SoupServerMessage* msg, const char*, GHashTable*) {
    const char* method = soup_server_message_get_method(msg);
    if (g_strcmp0(method, "GET") != 0 && g_strcmp0(method, "HEAD") != 0) {
      soup_server_message_set_status(msg, 405, nullptr);
      soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow", "GET, HEAD");
      return;
    }
    JsonBuilder* b = json_builder_new();
    json_builder_begin_object(b);
    api::add_envelope(b, identity, 0);
    json_builder_set_member_name(b, "encoders");
    json_builder_begin_object(b);
    for (const auto& [codec, c] : encoder_choices()) {
      json_builder_set_member_name(b, pipelines::video_codec_name(codec));
      json_builder_begin_object(b);
      api::add_string(b, "placeholder", std::string("@") + pipelines::video_codec_name(codec) + "enc");
      api::add_string(b, "element", c.element);
      api::add_string(b, "family", c.family);
      api::add_string(b, "reason", c.reason);
      json_builder_set_member_name(b, "rejected");
      json_builder_begin_array(b);
      for (const auto& r : c.rejected) json_builder_add_string_value(b, r.c_str());
      json_builder_end_array(b);
      json_builder_end_object(b);
    }
    json_builder_end_object(b);
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
