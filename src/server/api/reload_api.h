// Owns: the configuration reload over the HTTP API: POST /api/v1/reload, and SRS's
// GET /api/v1/raw?rpc=reload. Both run the same reload as SIGHUP (a bad file is refused and the
// running configuration stays) and answer in the SRS envelope: code 0 when applied, otherwise
// code 1 with the error message (the HTTP status from http_status_for). Control thread only.
#pragma once

#include <functional>

#include "common/result.h"
#include "server/api/api_server.h"

namespace estuary::server {

// `reload` loads and applies the configuration (what SIGHUP does); called on the control thread.
void register_reload_api(api::ApiServer& api, std::function<Status()> reload);

}  // namespace estuary::server
