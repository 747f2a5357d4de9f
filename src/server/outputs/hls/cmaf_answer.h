// Owns: the one decision of what a CMAF HLS request gets — a media playlist (.m3u8: LL-HLS blocking
// reload on _HLS_msn/_HLS_part, delta playlists on _HLS_skip=YES, 400 at once for requests too far
// ahead, the master and track playlists of streams with several audio tracks, the first playlist held
// until the first segment exists) or a part/segment (.m4s: held until made when it is the
// preload-hinted part or a later one; DASH's open segment streamed as made): status, content type,
// cache header and body, or a hold, or a stream, or nothing (not a CMAF stream's). Both transports —
// libsoup's handlers (cmaf_http.cpp) and the LL-HLS fast path (cmaf_fast_path.cpp) — ask this and only
// write the answer; a held request, woken, asks again (answer_cmaf_woken).
// Must not know: sockets, libsoup messages, sessions. Control thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/gobject_ptr.h"
#include "server/control/http_routes.h"
#include "server/outputs/hls/cmaf_stream.h"

namespace estuary::server {

// Called with (app, app/stream, 0) on every HLS/DASH request: starts or keeps the on-demand output
// for [hls] linger_s from now; hold_ms > 0 keeps it that much longer (a request held for the first
// segment, which calls it again with 0 once answered).
using HlsDemandFn = std::function<void(const std::string& app, const std::string& key, int hold_ms)>;

// Longest a first playlist request waits for the first segment of an output that just started.
int first_segment_hold_ms(int target_duration_s);

struct CmafAnswer {
  enum class Kind {
    none,    // not a CMAF stream's request (a playlist: MPEG-TS HLS may have it)
    reply,   // status, type, cache, body
    hold,    // wait in stream->waiters until (msn, part) exists (at most hold_ms), then ask again
    stream,  // DASH's open segment msn: sent part by part as made (stream->streamers), at most hold_ms
  } kind = Kind::none;
  int status = 200;
  const char* type = "text/plain";
  const char* cache = nullptr;  // nullptr: a text answer without a cache header (an error)
  Ref<GBytes> body;
  CmafStream* stream = nullptr;  // hold, stream
  uint64_t msn = 0;
  int64_t part = -1;
  int hold_ms = 0;
  uint32_t track = 0;             // stream: the track (1-based) taken out, 0 = all
  const char* gave_up = nullptr;  // hold: the 503's text when the hold time runs out
};

// extension: ".m3u8" or ".m4s". Tells `demand` the stream is in use (and, for a first playlist held
// for the first segment, for how long).
CmafAnswer answer_cmaf(CmafRegistry& registry, const std::string& extension, const StreamPath& path,
                       const HlsDemandFn& demand);
// A held request whose (msn, part) now exists: answered anew; anything but a reply (the stream went
// away or changed) is 503 "stream changed", and the player asks again.
CmafAnswer answer_cmaf_woken(CmafRegistry& registry, const std::string& extension, const StreamPath& path,
                             const HlsDemandFn& demand);
// A text answer (status, "text/plain", no cache header).
CmafAnswer cmaf_text(int status, const std::string& text);

// Parsed LL-HLS delivery directives. error is set for malformed or contradictory ones.
struct HlsDirectives {
  bool has_msn = false;
  uint64_t msn = 0;
  int64_t part = -1;
  bool skip = false;
  std::string error;
};
HlsDirectives parse_hls_directives(const std::string& query);

// Names shared with the init segment handler.
// A decimal number without sign, at most 15 digits (so it fits any counter we keep).
bool parse_cmaf_number(const char* s, uint64_t* out);
// The CMAF stream `app/name`, or, for DASH's per-track names "name-tK", stream app/name with track K
// (1-based, else 0). nullptr if neither exists.
CmafStream* find_cmaf_stream(CmafRegistry& registry, const std::string& app, const std::string& name, uint32_t* track);
// "audio/mp4" for an audio track, else "video/mp4".
const char* cmaf_track_type(const CmafStream& s, uint32_t track);

}  // namespace estuary::server
