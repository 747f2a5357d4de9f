// Owns: GET /api/v1/encoders (see encoders.h).
#include "server/api/encoders.h"

#include <json-glib/json-glib.h>

#include "server/api/api_json.h"
#include "server/api/json_endpoint.h"

namespace estuary::server {
namespace {

void add_choice(JsonBuilder* b, const std::string& placeholder, const std::string& element, const std::string& family,
                const std::string& reason, const std::vector<std::string>& rejected) {
  json_builder_begin_object(b);
  api::add_string(b, "placeholder", placeholder);
  api::add_string(b, "element", element);
  api::add_string(b, "family", family);
  api::add_string(b, "reason", reason);
  json_builder_set_member_name(b, "rejected");
  json_builder_begin_array(b);
  for (const auto& r : rejected) json_builder_add_string_value(b, r.c_str());
  json_builder_end_array(b);
  json_builder_end_object(b);
}

}  // namespace

void register_encoder_api(api::ApiServer& api, const api::ServerIdentity&) {
  add_json_endpoint(api, "/api/v1/encoders", [](JsonBuilder* b) {
    const auto& c = placeholder_choices();
    json_builder_set_member_name(b, "encoders");
    json_builder_begin_object(b);
    for (const auto& [codec, e] : c.encoders) {
      const std::string name = pipelines::video_codec_name(codec);
      json_builder_set_member_name(b, name.c_str());
      add_choice(b, "@" + name + "enc", e.element, e.family, e.reason, e.rejected);
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "decoders");
    json_builder_begin_object(b);
    for (const auto& [codec, d] : c.decoders) {
      const std::string name = pipelines::video_codec_name(codec);
      json_builder_set_member_name(b, name.c_str());
      add_choice(b, "@" + name + "dec", d.element, d.family, d.reason, d.rejected);
    }
    json_builder_end_object(b);
    api::add_string(b, "device", c.device);
  });
}

}  // namespace estuary::server
