// Owns: serving the CMAF windows over HTTP: the fMP4 / LL-HLS media playlist (blocking reload on
// _HLS_msn/_HLS_part, delta playlists on _HLS_skip=YES, 400 at once for requests too far ahead),
// init segments (/app/stream-G-init.mp4), segments and parts (/app/stream-N.m4s,
// /app/stream-N.P.m4s; the preload-hinted part and the open segment are held until made) and the
// DASH MPD (/app/stream.mpd); a playlist or MPD asked for before the first segment is held until it
// exists. Every request tells `demand` that the stream's HLS is in use. Control thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "server/control/http_routes.h"
#include "server/outputs/hls/cmaf_stream.h"

namespace estuary::server {

// Called with (app, app/stream, 0) on every HLS/DASH request: starts or keeps the on-demand output
// for [hls] linger_s from now; hold_ms > 0 keeps it that much longer (a request held for the first
// segment, which calls it again with 0 once answered).
using HlsDemandFn = std::function<void(const std::string& app, const std::string& key, int hold_ms)>;

// Longest a first playlist request waits for the first segment of an output that just started.
int first_segment_hold_ms(int target_duration_s);

// Mounts the .m4s, -init.mp4 and .mpd handlers.
void register_cmaf_http(StreamRoutes& http, std::shared_ptr<CmafRegistry> registry, HlsDemandFn demand);
// Answers a .m3u8 request if app/stream has a CMAF window; false = not ours (MPEG-TS HLS may be).
bool serve_cmaf_playlist(SoupServerMessage* msg, const StreamPath& path, CmafRegistry& registry, bool cors,
                         const HlsDemandFn& demand);

// What a request served without libsoup (the LL-HLS fast path) gets now: an answer, a hold until
// (msn, part) exists (then ask again), or `pass` — not one the fast path answers (libsoup serves it:
// other playlists, track and master playlists, DASH's open segments, 404s).
struct CmafQuickAnswer {
  enum class Kind { pass, reply, hold } kind = Kind::pass;
  int status = 200;
  const char* type = "text/plain";
  const char* cache = "no-cache";
  Ref<GBytes> body;
  CmafStream* stream = nullptr;  // hold: whose waiters to join
  uint64_t msn = 0;
  int64_t part = -1;
  int hold_ms = 0;
};
// extension: ".m3u8" (the muxed LL-HLS playlist) or ".m4s" (a part or a segment).
CmafQuickAnswer answer_cmaf_quick(CmafRegistry& registry, const std::string& extension, const StreamPath& path,
                                  const HlsDemandFn& demand);

// Parsed LL-HLS delivery directives. error is set for malformed or contradictory ones.
struct HlsDirectives {
  bool has_msn = false;
  uint64_t msn = 0;
  int64_t part = -1;
  bool skip = false;
  std::string error;
};
HlsDirectives parse_hls_directives(const std::string& query);

}  // namespace estuary::server
