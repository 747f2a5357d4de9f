// Owns: the DVR part of the HTTP API (Estuary extension): POST /api/v1/dvr/STREAM_ID starts
// recording a live stream (with the [dvr] format, plan and path), DELETE stops it. The recorder's
// state and files appear in /api/v1/streams[/STREAM_ID] under "dvr".
#pragma once

#include "server/api/api_server.h"
#include "server/control/ports.h"

namespace estuary::server {

// outputs must outlive api.
void register_dvr_api(api::ApiServer& api, OutputControl& outputs);

}  // namespace estuary::server
