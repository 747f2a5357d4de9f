// Owns: FlvOutput (see flv_output.h).
#include "pipelines/flv_output.h"

#include <gst/app/gstappsink.h>

#include "pipelines/appsink_pipeline.h"

namespace estuary::pipelines {
namespace {

// State shared with the appsink callbacks (streaming thread); freed by the appsink's destroy notify.
struct SinkState {
  std::shared_ptr<FlvTagSink> sink;
  bool header_sent = false;
  bool has_video = false;
  bool video_started = false;  // no tag is forwarded before the first video keyframe
  std::vector<FlvTagView> scratch;
};

void send_header_from_caps(SinkState& st, GstCaps* caps) {
  if (!caps) return;
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  const GValue* headers = gst_structure_get_value(s, "streamheader");
  if (!headers || !GST_VALUE_HOLDS_ARRAY(headers)) return;
  std::vector<GstBuffer*> list;
  for (guint i = 0; i < gst_value_array_get_size(headers); ++i) {
    const GValue* v = gst_value_array_get_value(headers, i);
    if (GST_VALUE_HOLDS_BUFFER(v)) list.push_back(gst_value_get_buffer(v));
  }
  if (list.empty()) return;
  // The file header's flags say whether a video track exists (byte 4, bit 0).
  GstMapInfo map;
  if (gst_buffer_map(list[0], &map, GST_MAP_READ)) {
    if (map.size >= 5) st.has_video = (map.data[4] & 0x01) != 0;
    gst_buffer_unmap(list[0], &map);
  }
  st.sink->on_header(list);
  st.header_sent = true;
}

GstFlowReturn on_new_sample(GstAppSink* appsink, gpointer data) {
  auto* st = static_cast<SinkState*>(data);
  GstSample* sample = gst_app_sink_pull_sample(appsink);
  if (!sample) return GST_FLOW_EOS;
  Ref<GstSample> owned = Ref<GstSample>::adopt(sample);
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  if (!st->header_sent) send_header_from_caps(*st, gst_sample_get_caps(sample));
  // Header buffers are repeated in-band by flvmux; the caps already delivered them.
  if (!buffer || GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_HEADER) || !st->header_sent) return GST_FLOW_OK;
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) return GST_FLOW_OK;
  st->scratch.clear();
  bool ok = parse_flv_tags(map.data, map.size, st->scratch);
  if (ok && st->scratch.size() == 1) {
    const FlvTagView& tag = st->scratch[0];
    // flvmux re-sends onMetaData on tag events; players take a mid-stream one for a data track.
    if (tag.type != flv_script && !flv_is_sequence_header(tag)) {
      bool keyframe = st->has_video ? flv_is_video_keyframe(tag) : tag.type == flv_audio;
      if (keyframe) st->video_started = true;
      if (st->video_started) st->sink->on_tag(buffer, tag, keyframe);
    }
  }
  gst_buffer_unmap(buffer, &map);
  return GST_FLOW_OK;
}

void on_caps_changed(SinkState& st, GstCaps* caps) { send_header_from_caps(st, caps); }

GstPadProbeReturn on_sink_event(GstPad*, GstPadProbeInfo* info, gpointer data) {
  GstEvent* ev = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(ev) == GST_EVENT_CAPS) {
    auto* st = static_cast<SinkState*>(data);
    if (st->header_sent) {
      GstCaps* caps = nullptr;
      gst_event_parse_caps(ev, &caps);
      on_caps_changed(*st, caps);
    }
  }
  return GST_PAD_PROBE_OK;
}

// Drops TAG events before the muxer: flvmux writes a new onMetaData for each one.
GstPadProbeReturn drop_tag_events(GstPad*, GstPadProbeInfo* info, gpointer) {
  return GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_TAG ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
}

}  // namespace

void drop_tags_into_muxers(GstBin* bin) {
  GstIterator* it = gst_bin_iterate_recurse(bin);
  GValue item = G_VALUE_INIT;
  while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
    GstElement* e = GST_ELEMENT(g_value_get_object(&item));
    GstElementFactory* f = gst_element_get_factory(e);
    if (f && g_str_equal(GST_OBJECT_NAME(f), "flvmux")) {
      GstIterator* pads = gst_element_iterate_sink_pads(e);
      GValue pv = G_VALUE_INIT;
      while (gst_iterator_next(pads, &pv) == GST_ITERATOR_OK) {
        gst_pad_add_probe(GST_PAD(g_value_get_object(&pv)), GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, drop_tag_events,
                          nullptr, nullptr);
        g_value_reset(&pv);
      }
      g_value_unset(&pv);
      gst_iterator_free(pads);
    }
    g_value_reset(&item);
  }
  g_value_unset(&item);
  gst_iterator_free(it);
}

Result<std::unique_ptr<FlvOutput>> FlvOutput::create(const std::string& stream_name, const std::string& launch,
                                                     std::shared_ptr<FlvTagSink> sink) {
  auto built =
      build_appsink_pipeline("flv", stream_name, launch, {on_new_sample, on_sink_event}, new SinkState{std::move(sink)},
                             [](gpointer p) { delete static_cast<SinkState*>(p); });
  if (!built) return built.error();
  std::unique_ptr<FlvOutput> out(new FlvOutput());
  out->pipeline_ = std::move(built.value());
  drop_tags_into_muxers(GST_BIN(out->pipeline_->pipeline()));
  return out;
}

FlvOutput::~FlvOutput() {
  if (pipeline_) pipeline_->stop();
}

}  // namespace estuary::pipelines
