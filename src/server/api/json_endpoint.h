// Owns: read-only JSON endpoints on the API port in the SRS envelope ({"code":0,"server":...} plus the
// endpoint's members): GET and HEAD answered, OPTIONS as CORS preflight, other methods 405.
#pragma once

#include <json-glib/json-glib.h>

#include <functional>
#include <string>

#include "server/api/api_server.h"

namespace estuary::server {

// Serves `path`; `members` adds the payload members to the enveloped object on each request.
void add_json_endpoint(api::ApiServer& api, const std::string& path, std::function<void(JsonBuilder*)> members);

}  // namespace estuary::server
