// Owns: the libsoup transport of the CMAF windows: writes what answer_cmaf (cmaf_answer.h) decides
// for media playlists (.m3u8) and parts/segments (.m4s) — pausing held requests in the stream's
// waiters and streaming DASH's open segment — and serves init segments (/app/stream-G-init.mp4) and
// the DASH MPD (/app/stream.mpd; asked for before the first segment, it is held until that exists).
// Must not know: what a playlist or part request gets (answer_cmaf decides). Control thread only.
#pragma once

#include <memory>
#include <string>

#include "server/control/http_routes.h"
#include "server/outputs/hls/cmaf_answer.h"
#include "server/outputs/hls/cmaf_stream.h"

namespace estuary::server {

// Mounts the .m4s, -init.mp4 and .mpd handlers.
void register_cmaf_http(StreamRoutes& http, std::shared_ptr<CmafRegistry> registry, HlsDemandFn demand);
// Answers a .m3u8 request if app/stream has a CMAF window; false = not ours (MPEG-TS HLS may be).
bool serve_cmaf_playlist(SoupServerMessage* msg, const StreamPath& path, CmafRegistry& registry, bool cors,
                         const HlsDemandFn& demand);

}  // namespace estuary::server
