// Owns: the tsdemux sink-pad probe that runs TsGuard (see ts_guard_probe.h).
#include "pipelines/ts_guard_probe.h"

#include <vector>

#include "common/gobject_ptr.h"
#include "common/log.h"
#include "pipelines/ts_guard.h"

namespace estuary::pipelines {
namespace {

struct ProbeState {
  std::string stream;
  TsGuard guard;
  std::vector<uint8_t> out;
  uint64_t rejections_logged = 0;
  bool failed = false;
};

uint64_t rejections(const TsGuardStats& s) { return s.pes_rejected + s.psi_rejected + s.packets_invalid; }

void feed(ProbeState& st, GstBuffer* buffer) {
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) return;
  st.guard.feed(map.data, map.size, st.out);
  gst_buffer_unmap(buffer, &map);
}

void fail(ProbeState& st, GstPad* pad) {
  st.failed = true;
  const TsGuardStats& s = st.guard.stats();
  const std::string message = "malformed MPEG-TS input: " + std::to_string(s.pes_rejected) + " of " +
                              std::to_string(s.pes_rejected + s.pes_accepted) +
                              " PES headers rejected (last: " + st.guard.last_rejection() + ")";
  log_warn(st.stream, "", "ts-guard", message + "; ending the ingest");
  Ref<GstElement> demux = Ref<GstElement>::adopt(gst_pad_get_parent_element(pad));
  if (!demux) return;
  GError* err = g_error_new_literal(GST_STREAM_ERROR, GST_STREAM_ERROR_DEMUX, message.c_str());
  gst_element_post_message(demux.get(), gst_message_new_error(GST_OBJECT(demux.get()), err, "ts-guard"));
  g_error_free(err);
}

GstPadProbeReturn on_buffer(GstPad* pad, GstPadProbeInfo* info, gpointer data) {
  auto& st = *static_cast<ProbeState*>(data);
  if (st.failed) return GST_PAD_PROBE_DROP;
  st.out.clear();
  GstBuffer* meta_from = nullptr;
  bool unchanged = false;  // every byte passed as it came: the buffer goes on as it is, no copy
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    meta_from = GST_PAD_PROBE_INFO_BUFFER(info);
    const bool nothing_held = st.guard.held_bytes() == 0;
    feed(st, meta_from);
    unchanged = nothing_held && st.guard.held_bytes() == 0 && st.out.size() == gst_buffer_get_size(meta_from);
  } else {
    GstBufferList* list = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
    for (guint i = 0; i < gst_buffer_list_length(list); ++i) feed(st, gst_buffer_list_get(list, i));
  }
  const uint64_t rejected = rejections(st.guard.stats());
  if (rejected > st.rejections_logged) {
    // The first rejection, then every power of two: enough to follow, never a flood.
    if (st.rejections_logged == 0 || (rejected & (rejected - 1)) == 0)
      log_warn(st.stream, "", "ts-guard",
               "dropped malformed MPEG-TS (" + st.guard.last_rejection() + "); " + std::to_string(rejected) +
                   " rejections so far");
    st.rejections_logged = rejected;
  }
  if (st.guard.hopeless()) {
    fail(st, pad);
    return GST_PAD_PROBE_DROP;
  }
  if (st.out.empty()) return GST_PAD_PROBE_DROP;
  if (unchanged) return GST_PAD_PROBE_OK;
  GstBuffer* clean = gst_buffer_new_memdup(st.out.data(), st.out.size());
  if (meta_from) {  // the probe owns the data it replaces
    gst_buffer_copy_into(clean, meta_from, GstBufferCopyFlags(GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_TIMESTAMPS), 0,
                         0);
    gst_buffer_unref(meta_from);
    GST_PAD_PROBE_INFO_DATA(info) = clean;
  } else {  // a list stays a list (the pad pushes it as one)
    gst_buffer_list_unref(GST_PAD_PROBE_INFO_BUFFER_LIST(info));
    GstBufferList* one = gst_buffer_list_new_sized(1);
    gst_buffer_list_add(one, clean);
    GST_PAD_PROBE_INFO_DATA(info) = one;
  }
  return GST_PAD_PROBE_OK;
}

}  // namespace

bool is_ts_demuxer(GstElement* element) {
  GstElementFactory* f = element ? gst_element_get_factory(element) : nullptr;
  return f && g_strcmp0(GST_OBJECT_NAME(f), "tsdemux") == 0;
}

void guard_ts_demuxer(GstElement* demux, const std::string& stream) {
  Ref<GstPad> sink = Ref<GstPad>::adopt(gst_element_get_static_pad(demux, "sink"));
  if (!sink) return;
  auto* state = new ProbeState{};
  state->stream = stream;
  gst_pad_add_probe(
      sink.get(), GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST | GST_PAD_PROBE_TYPE_PUSH),
      &on_buffer, state, [](gpointer p) { delete static_cast<ProbeState*>(p); });
}

}  // namespace estuary::pipelines
