// Owns: the stream bus queries (see stream_bus.h).
#include "pipelines/stream_bus.h"

#include "estuaryhealth.h"
#include "estuarystreambus.h"

namespace estuary::pipelines {

void register_estuary_elements() {
  estuary_streambus_register_static();
  estuary_health_register_static();
}

bool bus_stats(const std::string& stream, BusStats* out) {
  EstuaryBusStats st{};
  if (!estuary_bus_get_stats(stream.c_str(), &st)) return false;
  out->video_buffers = st.video_buffers;
  out->video_bytes = st.video_bytes;
  out->audio_buffers = st.audio_buffers;
  out->audio_bytes = st.audio_bytes;
  out->keyframes = st.keyframes;
  out->keyframe_interval_ns = st.keyframe_interval_ns;
  out->subscribers = st.subscribers;
  out->gop_cache_bytes = st.gop_cache_bytes;
  out->gop_cache_max_bytes = st.gop_cache_max_bytes;
  out->queued_bytes = st.queued_bytes;
  return true;
}

Ref<GstCaps> bus_caps(const std::string& stream, const char* media) {
  return Ref<GstCaps>::adopt(estuary_bus_get_caps(stream.c_str(), media));
}

}  // namespace estuary::pipelines
