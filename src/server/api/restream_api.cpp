// Owns: the API of pulled sources and forwarding: GET /api/v1/sources (pull_sources.h) and
// GET /api/v1/forwards (forward_output.h), SRS envelope plus one object per source/destination.
#include <functional>
#include <string>

#include "server/api/api_json.h"
#include "server/api/api_server.h"
#include "server/api/json_endpoint.h"
#include "server/outputs/forward/forward_output.h"
#include "server/sources/pull_sources.h"

namespace estuary::server {
namespace {

// The retry state that sources and forward destinations both report, in the same member order.
template <typename Status>
void add_retry_members(JsonBuilder* b, const Status& s) {
  api::add_string(b, "state", s.state);
  api::add_int(b, "state_since_ms", s.state_since_ms);
  api::add_int(b, "restarts", s.restarts);
  api::add_int(b, "retry_in_ms", s.retry_in_ms);
  api::add_string(b, "last_error", s.last_error);
}

}  // namespace

void register_sources_api(api::ApiServer& api, PullSources& sources) {
  PullSources* s = &sources;
  add_json_endpoint(api, "/api/v1/sources", [s](JsonBuilder* b) {
    api::add_object_array(b, "sources", s->status(), [b](const PullSources::SourceStatus& src) {
      api::add_string(b, "name", src.name);
      api::add_string(b, "stream", src.stream);
      api::add_string(b, "url", src.url);
      api::add_string(b, "kind", src.kind);
      api::add_string(b, "mode", src.mode);
      add_retry_members(b, src);
      api::add_int(b, "recv_bytes", api::as_json_int(src.bytes));
      api::add_string(b, "cid", src.client_id);
      api::add_int(b, "viewers", src.viewers);
    });
  });
}

void register_forwards_api(api::ApiServer& api) {
  add_json_endpoint(api, "/api/v1/forwards", [](JsonBuilder* b) {
    api::add_object_array(b, "forwards", forward_status(), [b](const ForwardStatus& f) {
      api::add_string(b, "stream", f.stream);
      api::add_string(b, "rule", f.rule);
      api::add_string(b, "url", f.url);
      add_retry_members(b, f);
      api::add_int(b, "send_bytes", api::as_json_int(f.bytes));
    });
  });
}

}  // namespace estuary::server
