// Owns: GET /api/v1/encoders (see encoders.h).
#include "server/api/encoders.h"

#include <json-glib/json-glib.h>

#include "server/api/api_json.h"
#include "server/api/json_endpoint.h"

namespace estuary::server {

void register_encoder_api(api::ApiServer& api, const api::ServerIdentity&) {
  add_json_endpoint(api, "/api/v1/encoders", [](JsonBuilder* b) {
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
  });
}

}  // namespace estuary::server
