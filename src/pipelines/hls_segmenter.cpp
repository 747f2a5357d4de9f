// Owns: HlsSegmenter (see hls_segmenter.h).
#include "pipelines/hls_segmenter.h"

#include <gio/gio.h>

#include <deque>
#include <mutex>

namespace estuary::pipelines {

// Fragment streams handed to hlssink2 (streaming thread) and collected when splitmuxsink reports
// the fragment closed (control thread): guarded by the mutex.
struct HlsSegmenter::Shared {
  std::mutex mutex;
  // hlssink2 writes one fragment at a time and its messages carry no location (giostreamsink), so
  // fragments are matched in order: the oldest open stream is the one that closes.
  std::deque<Ref<GOutputStream>> open;
  std::deque<GstClockTime> opened_at;  // running time of each fragment's start
};

namespace {

GOutputStream* on_get_fragment_stream(GstElement*, const char*, gpointer data) {
  auto& shared = *static_cast<std::shared_ptr<HlsSegmenter::Shared>*>(data);
  GOutputStream* stream = g_memory_output_stream_new_resizable();
  std::lock_guard lock(shared->mutex);
  shared->open.push_back(Ref<GOutputStream>::add_ref(stream));
  return stream;  // hlssink2 takes this reference
}

// The playlist hlssink2 writes is not used (ours carries discontinuities across publishes).
GOutputStream* on_get_playlist_stream(GstElement*, const char*, gpointer) {
  return g_memory_output_stream_new_resizable();
}

// Retention is the playlist model's job; hlssink2's deletions are ignored.
void on_delete_fragment(GstElement*, const char*, gpointer) {}

void free_shared(gpointer data, GClosure*) { delete static_cast<std::shared_ptr<HlsSegmenter::Shared>*>(data); }

// True when what is linked to hlssink2's audio pad can only produce Opus.
bool audio_is_opus(GstElement* hlssink) {
  Ref<GstPad> pad = Ref<GstPad>::adopt(gst_element_get_static_pad(hlssink, "audio"));
  Ref<GstPad> peer = pad ? Ref<GstPad>::adopt(gst_pad_get_peer(pad.get())) : Ref<GstPad>();
  if (!peer) return false;
  Ref<GstCaps> caps = Ref<GstCaps>::adopt(gst_pad_query_caps(peer.get(), nullptr));
  if (!caps || gst_caps_is_empty(caps.get()) || gst_caps_is_any(caps.get())) return false;
  for (guint i = 0; i < gst_caps_get_size(caps.get()); ++i)
    if (!gst_structure_has_name(gst_caps_get_structure(caps.get(), i), "audio/x-opus")) return false;
  return true;
}

// GStreamer 1.22's mpegtsmux refuses the Opus caps that splitmuxsink sends again at each new
// fragment ("Stream type change from 06 to 8f"), and hlssink2 keeps one muxer for all fragments
// (reset-muxer=false). A fresh muxer per fragment avoids it: timestamps stay continuous and every
// segment starts with PAT/PMT; only the continuity counters restart, at a segment boundary.
void reset_muxer_per_fragment(GstElement* hlssink) {
  GstIterator* it = gst_bin_iterate_elements(GST_BIN(hlssink));
  GValue item = G_VALUE_INIT;
  while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
    GstElement* child = GST_ELEMENT(g_value_get_object(&item));
    GstElementFactory* f = gst_element_get_factory(child);
    if (f && g_str_equal(GST_OBJECT_NAME(f), "splitmuxsink")) g_object_set(child, "reset-muxer", TRUE, nullptr);
    g_value_reset(&item);
  }
  g_value_unset(&item);
  gst_iterator_free(it);
}

// hlssink2 has one audio pad; its splitmuxsink takes several ("audio_%u"). Each element "audio_K" of
// the launch line is linked to a new one through a ghost pad on hlssink2, so mpegtsmux muxes every
// audio track into the segments. Returns how many were linked, or an error.
Result<int> link_extra_audio(GstBin* pipeline, GstElement* hlssink) {
  GstElement* splitmux = nullptr;
  GstIterator* it = gst_bin_iterate_elements(GST_BIN(hlssink));
  GValue item = G_VALUE_INIT;
  while (!splitmux && gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
    GstElement* child = GST_ELEMENT(g_value_get_object(&item));
    GstElementFactory* f = gst_element_get_factory(child);
    if (f && g_str_equal(GST_OBJECT_NAME(f), "splitmuxsink")) splitmux = GST_ELEMENT(gst_object_ref(child));
    g_value_reset(&item);
  }
  g_value_unset(&item);
  gst_iterator_free(it);
  Ref<GstElement> owned = Ref<GstElement>::adopt(splitmux);
  int linked = 0;
  for (int k = 1; k < 8; ++k) {
    const std::string name = "audio_" + std::to_string(k);
    Ref<GstElement> from = Ref<GstElement>::adopt(gst_bin_get_by_name(pipeline, name.c_str()));
    if (!from) break;
    if (!owned) return Error{"hls: no splitmuxsink in hlssink2 to take " + name};
    Ref<GstPad> src = Ref<GstPad>::adopt(gst_element_get_static_pad(from.get(), "src"));
    GstPad* request = gst_element_request_pad_simple(owned.get(), "audio_%u");
    if (!src || !request) return Error{"hls: cannot link " + name + " to the segment muxer"};
    GstPad* ghost = gst_ghost_pad_new(name.c_str(), request);
    gst_object_unref(request);
    gst_pad_set_active(ghost, TRUE);
    gst_element_add_pad(hlssink, ghost);
    if (gst_pad_link(src.get(), ghost) != GST_PAD_LINK_OK) return Error{"hls: " + name + " does not link"};
    ++linked;
  }
  return linked;
}

}  // namespace

Result<std::unique_ptr<HlsSegmenter>> HlsSegmenter::create(const std::string& stream_name, const std::string& launch,
                                                           HlsSegmenterSettings settings, OnSegment on_segment,
                                                           PipelineEvents events) {
  auto built = ManagedPipeline::from_launch("hls:" + stream_name, launch);
  if (!built) return built.error();
  std::unique_ptr<HlsSegmenter> out(new HlsSegmenter());
  out->pipeline_ = std::move(built.value());
  out->shared_ = std::make_shared<Shared>();
  out->on_segment_ = std::move(on_segment);
  Ref<GstElement> sink = out->pipeline_->element("hls");
  if (!sink || !g_signal_lookup("get-fragment-stream", G_OBJECT_TYPE(sink.get())))
    return Error{"hls output " + stream_name + ": launch line has no hlssink2 named \"hls\""};
  // max-files bounds what hlssink2 itself remembers; our playlist keeps its own window.
  g_object_set(sink.get(), "target-duration", guint(settings.target_duration_s), "max-files", 3u, "playlist-length", 3u,
               "location", "segment%05d.ts", "playlist-location", "playlist.m3u8", nullptr);
  if (audio_is_opus(sink.get())) reset_muxer_per_fragment(sink.get());
  Result<int> extra = link_extra_audio(GST_BIN(out->pipeline_->pipeline()), sink.get());
  if (!extra) return Error{"hls output " + stream_name + ": " + extra.error().message};
  out->extra_audio_ = *extra;
  auto connect = [&](const char* signal, GCallback cb) {
    auto* data = new std::shared_ptr<Shared>(out->shared_);
    gulong id = g_signal_connect_data(sink.get(), signal, cb, data, free_shared, GConnectFlags(0));
    return SignalGuard(sink.get(), id);
  };
  out->fragment_signal_ = connect("get-fragment-stream", G_CALLBACK(on_get_fragment_stream));
  out->playlist_signal_ = connect("get-playlist-stream", G_CALLBACK(on_get_playlist_stream));
  out->delete_signal_ = connect("delete-fragment", G_CALLBACK(on_delete_fragment));
  auto forward = std::move(events.on_element_message);
  HlsSegmenter* self = out.get();
  events.on_element_message = [self, forward](const GstStructure* s) {
    self->on_message(s);
    if (forward) forward(s);
  };
  out->pipeline_->set_events(std::move(events));
  return out;
}

void HlsSegmenter::on_message(const GstStructure* s) {
  const bool opened = gst_structure_has_name(s, "splitmuxsink-fragment-opened");
  const bool closed = gst_structure_has_name(s, "splitmuxsink-fragment-closed");
  if (!opened && !closed) return;
  GstClockTime rt = GST_CLOCK_TIME_NONE;
  gst_structure_get_clock_time(s, "running-time", &rt);
  Ref<GOutputStream> stream;
  GstClockTime start = GST_CLOCK_TIME_NONE;
  {
    std::lock_guard lock(shared_->mutex);
    if (opened) {
      shared_->opened_at.push_back(rt);
      return;
    }
    if (shared_->open.empty()) return;
    stream = std::move(shared_->open.front());
    shared_->open.pop_front();
    if (!shared_->opened_at.empty()) {
      start = shared_->opened_at.front();
      shared_->opened_at.pop_front();
    }
  }
  // The fragment is complete once closed: its sink got EOS before the message was posted.
  auto* mem = G_MEMORY_OUTPUT_STREAM(stream.get());
  const gsize size = g_memory_output_stream_get_data_size(mem);
  if (size == 0) return;
  Ref<GBytes> bytes = Ref<GBytes>::adopt(g_bytes_new(g_memory_output_stream_get_data(mem), size));
  double duration = 0;
  if (GST_CLOCK_TIME_IS_VALID(rt) && GST_CLOCK_TIME_IS_VALID(start) && rt > start)
    duration = double(rt - start) / double(GST_SECOND);
  if (on_segment_) on_segment_(std::move(bytes), duration);
}

HlsSegmenter::~HlsSegmenter() {
  if (pipeline_) pipeline_->stop();
}

}  // namespace estuary::pipelines
