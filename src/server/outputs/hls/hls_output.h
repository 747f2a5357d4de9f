// Owns: the "hls" output kind and HLS serving: per stream an HLS segmenter (started on the first HLS
// request and stopped [hls] linger_s after the last, or on publish with [hls] always; off per app), the playlist state
// kept per stream key across publishes for hls.dispose_s (so a restart gives players a discontinuity, not a broken
// playlist), serving /app/stream.m3u8 and /app/stream-N.hls.ts from memory (optionally mirrored to hls.directory), and
// the "hls-segment" event for hooks. Control thread only.
#pragma once

#include "server/config/config.h"
#include "server/control/http_routes.h"
#include "server/control/ports.h"

namespace estuary::server {

// Registers the "hls" and "cmaf" output kinds and the .m3u8 / .hls.ts / CMAF handlers on `http`;
// with [hls] always = false each request starts or keeps the stream's output through `outputs`.
// Every request belongs to a viewer session ("hls-play" / "dash-play" in `clients`, admitted by
// `admission`: limits, IP rules, on_play hooks and their tokens; see hls_sessions.h).
void register_hls_output(StreamRoutes& http, OutputControl& outputs, const ConfigSource& settings,
                         ClientRegistry& clients, Admission& admission);

// True while app/stream has a live HLS playlist with at least one segment, or its on-demand output
// was just started for this request (the ABR master playlist lists only variants a player can open;
// the variant's playlist request then waits for the first segment).
bool hls_playlist_available(const std::string& key);

// Shared with the CMAF serving of this folder: [hls] disabled_apps names `app`; a 200 reply with
// bytes, a media type and a Cache-Control value.
bool hls_app_disabled(const config::HlsSection& hls, const std::string& app);
void respond_bytes(SoupServerMessage* msg, const char* type, GBytes* bytes, const char* cache, bool cors);
// The value of a query parameter ("track=audio_1"), "" when absent.
std::string query_value(const std::string& query, const char* name);

}  // namespace estuary::server
