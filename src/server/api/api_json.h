// Owns: rendering the read model (api_model.h) into SRS-shaped JSON with json-glib: the envelope,
// stream, client and vhost objects, the member writers other API modules share (objects, optional
// objects, arrays), and serialisation. Pure functions; no HTTP here.
#pragma once

#include <json-glib/json-glib.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/api/api_identity.h"
#include "server/control/api_model.h"

namespace estuary::api {

struct JsonNodeDeleter {
  void operator()(JsonNode* n) const { json_node_unref(n); }
};
using JsonNodePtr = std::unique_ptr<JsonNode, JsonNodeDeleter>;

// Adds a string member; text that is not valid UTF-8 (stream names and ids come from the network)
// is repaired with U+FFFD so the output is always valid JSON.
void add_string(JsonBuilder* b, const char* key, std::string_view value);
void add_int(JsonBuilder* b, const char* key, int64_t value);
void add_double(JsonBuilder* b, const char* key, double value);
void add_bool(JsonBuilder* b, const char* key, bool value);

// Counters are unsigned inside, JSON integers are signed: saturates instead of wrapping negative.
int64_t as_json_int(uint64_t value);

// A member holding an object; members() adds its members.
template <typename Members>
void add_object(JsonBuilder* b, const char* key, Members&& members) {
  json_builder_set_member_name(b, key);
  json_builder_begin_object(b);
  members();
  json_builder_end_object(b);
}

// An optional view as an object member (members(value) adds its members). When absent it is left
// out, or written as null where SRS does that (video, audio).
enum class IfAbsent { omit, null };
template <typename T, typename Members>
void add_optional_object(JsonBuilder* b, const char* key, const std::optional<T>& value, IfAbsent absent,
                         Members&& members) {
  if (value) {
    add_object(b, key, [&] { members(*value); });
  } else if (absent == IfAbsent::null) {
    json_builder_set_member_name(b, key);
    json_builder_add_null_value(b);
  }
}

// A member holding an array with one object per item; members(item) adds each object's members.
template <typename Items, typename Members>
void add_object_array(JsonBuilder* b, const char* key, const Items& items, Members&& members) {
  json_builder_set_member_name(b, key);
  json_builder_begin_array(b);
  for (const auto& item : items) {
    json_builder_begin_object(b);
    members(item);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
}

// A member holding an array of strings, repaired as add_string does.
void add_string_array(JsonBuilder* b, const char* key, const std::vector<std::string>& values);

// "code", "server", "service", "pid" (pid as a string, as SRS writes it).
void add_envelope(JsonBuilder* b, const ServerIdentity& id, int code);

// Members of one stream/client object (the builder must be inside begin_object). An empty vhost in
// the view is rendered as `default_vhost`.
void add_stream_members(JsonBuilder* b, const StreamView& s, const std::string& default_vhost);
void add_client_members(JsonBuilder* b, const ClientView& c, const std::string& default_vhost);

// The single default vhost "__defaultVhost__" with counters aggregated over everything.
inline constexpr const char* kDefaultVhostName = "__defaultVhost__";
void add_vhost_members(JsonBuilder* b, const ServerIdentity& id, const std::vector<StreamView>& streams,
                       const std::vector<ClientView>& clients, const SummaryView& summary);

// Compact JSON text of a node.
std::string to_json_text(JsonNode* node);

// Repairs invalid UTF-8 and cuts to at most max_bytes (on a character boundary) for echoing
// request-controlled text (paths, ids) in error messages.
std::string printable(std::string_view text, size_t max_bytes = 128);

}  // namespace estuary::api
