// Owns: the "transcode" output kind: a pipelines.d pipeline (output=transcode) that reads a stream
// from the bus and publishes new streams (renditions) with its estuarysink elements. Each rendition
// becomes a real stream in the supervisor — published by an internal client of type "transcode",
// ready when its estuarysink posts "estuary-stream-ready" — so every output (FLV, RTMP, TS, HLS,
// RTSP) serves it and the API lists it. The renditions stop with the transcode (which stops with
// its source); the supervisor restarts a failed transcode with backoff. Keeps the index
// source → renditions (control/renditions.h) up to date for the ABR master playlist. Control thread only.
#pragma once

#include <string>
#include <vector>

namespace estuary::server {

class ClientRegistry;
class PublishPort;

// Client type of a rendition's publisher (API, metrics, logs).
inline constexpr const char* kTranscodeClientType = "transcode";

// Registers the "transcode" output kind; its outputs publish through `clients`/`publish`, whose
// owner (the control plane) outlives them: it owns every output.
void register_transcode_output(ClientRegistry& clients, PublishPort& publish);

}  // namespace estuary::server
