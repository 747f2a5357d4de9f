// Owns: the stream bus queries (see stream_bus.h).
#include "pipelines/stream_bus.h"

#include "estuaryhealth.h"
#include "estuarystreambus.h"

namespace estuary::pipelines {

void register_estuary_elements() {
  estuary_streambus_register_static();
  estuary_health_register_static();
}

Result<BusIngestPipeline> new_bus_ingest_pipeline(const std::string& stream, uint64_t gop_cache_max_bytes) {
  auto pipeline = Ref<GstElement>::adopt_floating(gst_pipeline_new(nullptr));
  GstElement* sink = gst_element_factory_make("estuarysink", "bus");
  if (!pipeline || !sink) {
    if (sink) gst_object_unref(gst_object_ref_sink(sink));
    return Error{"ingest " + stream + ": missing GStreamer element estuarysink", ErrorReason::internal, "pipelines"};
  }
  g_object_set(sink, "stream", stream.c_str(), "gop-cache-max-bytes", guint64(gop_cache_max_bytes), nullptr);
  gst_bin_add(GST_BIN(pipeline.get()), sink);
  return BusIngestPipeline{std::move(pipeline), sink};
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

std::vector<BusAudioTrack> bus_audio_tracks(const std::string& stream) {
  constexpr guint kMaxAudio = 8;  // ESTUARY_MAX_AUDIO_TRACKS of the bus
  GstCaps* caps[kMaxAudio] = {};
  gchar* languages[kMaxAudio] = {};
  const guint n = estuary_bus_get_audio_tracks(stream.c_str(), caps, languages, kMaxAudio);
  std::vector<BusAudioTrack> out(n);
  for (guint i = 0; i < n; ++i) {
    out[i].caps = Ref<GstCaps>::adopt(caps[i]);
    out[i].language = languages[i] ? languages[i] : "";
    g_free(languages[i]);
  }
  return out;
}

}  // namespace estuary::pipelines
