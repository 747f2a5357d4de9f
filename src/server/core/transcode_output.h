// Owns: the "transcode" output kind: a pipelines.d pipeline (output=transcode) that reads a stream
// from the bus and publishes new streams (renditions) with its estuarysink elements. Each rendition
// becomes a real stream in the supervisor — published by an internal client of type "transcode",
// ready when its estuarysink posts "estuary-stream-ready" — so every output (FLV, RTMP, TS, HLS,
// RTSP) serves it and the API lists it. The renditions stop with the transcode (which stops with
// its source); the supervisor restarts a failed transcode with backoff. Also owns the index
// source → renditions that the ABR master playlist reads. Control thread only.
#pragma once

#include <string>
#include <vector>

namespace estuary::server {

class Supervisor;

// Client type of a rendition's publisher (API, metrics, logs).
inline constexpr const char* kTranscodeClientType = "transcode";

// Registers the "transcode" output kind; its outputs publish through `supervisor`, which must
// outlive them (it does: the supervisor owns every output).
void register_transcode_output(Supervisor& supervisor);

struct RenditionInfo {
  std::string key;        // "live/x_720p"
  std::string client_id;  // its internal publisher
  int video_kbps = 0;     // the encoder's configured bitrate, 0 if unknown
};

// Renditions that running transcodes publish from `source_key`, in launch-line order.
std::vector<RenditionInfo> renditions_of(const std::string& source_key);

}  // namespace estuary::server
