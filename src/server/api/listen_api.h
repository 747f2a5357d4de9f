// Owns: GET /api/v1/listen — the ports this server listens on for each protocol, so the console
// (and any client) can build play and publish URLs that work on a server whose ports are not
// SRS's defaults. 0 means "not listening". Control thread only.
// Must not know: how the listeners are opened.
#pragma once

#include "server/api/api_server.h"

namespace estuary::server {

struct ListenPorts {
  int rtmp = 0, rtmps = 0, http = 0, https = 0, api = 0, api_https = 0, srt = 0, rtsp = 0;
};

void register_listen_api(api::ApiServer& api, ListenPorts ports);

}  // namespace estuary::server
