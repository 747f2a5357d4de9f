// Owns: GET /api/v1/encoders, which reports the choice of each encoder placeholder and why
// (resolved by control/encoder_placeholders.h). Control thread only.
#pragma once

#include "server/api/api_identity.h"
#include "server/api/api_server.h"
#include "server/control/encoder_placeholders.h"

namespace estuary::server {

// GET /api/v1/encoders -> {"code":0,"server":...,"encoders":{"h264":{"element","family","reason",
// "rejected":[...]},"h265":{...}}}
void register_encoder_api(api::ApiServer& api, const api::ServerIdentity& identity);

}  // namespace estuary::server
