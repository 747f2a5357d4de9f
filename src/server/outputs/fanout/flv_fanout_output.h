// Owns: the "flv" output kind: one FLV mux per stream (the flv pipeline from pipelines.d) feeding two
// shared fan-out channels: "flv" (HTTP-FLV bytes as muxed) and "rtmp" (the same tags chunked once
// into RTMP messages on message stream 1, shared by every RTMP player).
#pragma once

namespace estuary::server {

// Registers the "flv" output kind (formats "flv" and "rtmp").
void register_flv_fanout_output();

}  // namespace estuary::server
