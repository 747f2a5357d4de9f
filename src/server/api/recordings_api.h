// Owns: the recordings API on the API port, over the DVR catalog (outputs/dvr/dvr_catalog.h):
//   GET    /api/v1/recordings?stream=app/name&from=&to=&start=&count=   the index, paginated
//   GET    /api/v1/recordings/vod.m3u8?stream=&from=&to=                HLS VOD over the TS and FLV files
//   GET    /api/v1/recordings/segments/<path>.ts                        an FLV recording remuxed to MPEG-TS
//   GET    /api/v1/recordings/clip?stream=&from=&to=                    an MP4 cut at keyframes
//   GET    /api/v1/recordings/files/<path>                              one recorded file (single Range)
//   DELETE /api/v1/recordings/files/<path>                              removes a closed recording
// from/to: milliseconds since 1970 or ISO 8601 ("2026-12-07T10:00:00Z"). Only indexed recordings are
// ever read or deleted, by paths checked to stay under the DVR root; pages, playlists and clips are
// bounded (count, files, clip length, clips and remuxes at once, remuxed file size).
#pragma once

#include "server/api/api_server.h"

namespace estuary::server {

void register_recordings_api(api::ApiServer& api);

}  // namespace estuary::server
