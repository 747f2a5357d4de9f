// Owns: the C++ face of the stream bus plugin (gst-plugins/streambus): registering our elements and
// querying a published stream's tracks and counters by name. This folder is the only code that
// includes the plugin's C header; everything above asks here.
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/gobject_ptr.h"
#include "common/result.h"

namespace estuary::pipelines {

// Registers our static plugins (estuarysink/estuarysrc and estuaryhealth). Call once after gst_init().
void register_estuary_elements();

// A new pipeline holding an estuarysink named "bus" that publishes `stream` with its GOP cache bounded
// (the publishing side of an ingest); the pipeline owns the sink.
struct BusIngestPipeline {
  Ref<GstElement> pipeline;
  GstElement* sink = nullptr;
};
Result<BusIngestPipeline> new_bus_ingest_pipeline(const std::string& stream, uint64_t gop_cache_max_bytes);

struct BusStats {
  uint64_t video_buffers = 0, video_bytes = 0, audio_buffers = 0, audio_bytes = 0, keyframes = 0;
  uint64_t keyframe_interval_ns = 0;  // between the last two keyframes, 0 if unknown
  unsigned subscribers = 0;
  // Memory the bus holds for the stream now: the GOP cache (and its cap), the subscribers' queues.
  uint64_t gop_cache_bytes = 0, gop_cache_max_bytes = 0, queued_bytes = 0;
};

// Counters of a stream with a live publisher; false if there is none.
bool bus_stats(const std::string& stream, BusStats* out);
// Latest caps of the stream's first track of media ("video" or "audio"); empty if none.
Ref<GstCaps> bus_caps(const std::string& stream, const char* media);

// One audio track of a stream: audio_0, audio_1, ... in publishing order.
struct BusAudioTrack {
  Ref<GstCaps> caps;
  std::string language;  // ISO 639 code, "" when the source gave none
};
// The audio tracks of a stream with a live publisher (tracks with caps only); empty if none.
std::vector<BusAudioTrack> bus_audio_tracks(const std::string& stream);

}  // namespace estuary::pipelines
