// Owns: the "ts" output kind: one MPEG-TS mux per stream (the ts pipeline from pipelines.d) feeding
// the shared fan-out channel "ts" (HTTP-TS viewers and SRT players). The channel header is
// the PAT + PMT; packets that begin a video keyframe are marked so late joiners start there.
#pragma once

namespace estuary::server {

// Registers the "ts" output kind (formats "ts" for HTTP-TS and "srt" for SRT players).
void register_ts_fanout_output();

}  // namespace estuary::server
