// Owns: serving the ABR master playlist GET /app/stream_abr.m3u8 on the HTTP media server: for a
// stream that running transcodes publish renditions of, one variant per stream (the source and
// each rendition) whose HLS playlist has a segment, with BANDWIDTH from the encoder's configured
// bitrate or the measured rate (whichever is higher), RESOLUTION and CODECS from the bus caps.
// 404 when the stream has no renditions or no variant is playable yet. Control thread only.
#pragma once

#include "server/control/api_model.h"
#include "server/control/http_routes.h"

namespace estuary::server {

inline constexpr const char* kAbrPlaylistSuffix = "_abr.m3u8";

void register_abr_playlist(StreamRoutes& http, const api::Backend& model);

}  // namespace estuary::server
