// Owns: DvrClip (see dvr_clip.h).
#include "pipelines/dvr_clip.h"

#include <utility>

namespace estuary::pipelines {

Result<std::unique_ptr<DvrClip>> DvrClip::create(std::vector<std::string> files, GstClockTime start_ns,
                                                 GstClockTime stop_ns, std::string out_path) {
  if (files.empty() || stop_ns <= start_ns) return Error{"empty clip", ErrorReason::invalid, "dvr"};
  std::unique_ptr<DvrClip> c(new DvrClip());
  c->files_ = std::move(files);
  c->start_ns_ = start_ns;
  c->stop_ns_ = stop_ns;
  c->out_path_ = std::move(out_path);
  c->pipeline_ = Ref<GstElement>::adopt_floating(gst_pipeline_new("dvr-clip"));
  GstElement* src = gst_element_factory_make("splitmuxsrc", "src");
  GstElement* mux = gst_element_factory_make("mp4mux", "mux");
  GstElement* sink = gst_element_factory_make("filesink", "sink");
  if (!src || !mux || !sink) {
    for (GstElement* e : {src, mux, sink})
      if (e) gst_object_unref(gst_object_ref_sink(e));
    return Error{"splitmuxsrc, mp4mux or filesink missing", ErrorReason::internal, "pipelines"};
  }
  g_object_set(mux, "faststart", TRUE, nullptr);
  g_object_set(sink, "location", c->out_path_.c_str(), nullptr);
  gst_bin_add_many(GST_BIN(c->pipeline_.get()), src, mux, sink, nullptr);
  if (!gst_element_link(mux, sink)) return Error{"cannot link mp4mux to filesink", ErrorReason::internal, "pipelines"};
  c->mux_ = Ref<GstElement>::add_ref(mux);
  // The signal handlers use the raw pointer: the pipeline (and so every signal) goes with `c`.
  g_signal_connect(src, "format-location", G_CALLBACK(on_format_location), c.get());
  g_signal_connect(src, "pad-added", G_CALLBACK(on_pad_added), c.get());
  return c;
}

GStrv DvrClip::on_format_location(GstElement*, gpointer self) {
  auto* c = static_cast<DvrClip*>(self);
  GStrv out = g_new0(gchar*, c->files_.size() + 1);
  for (size_t i = 0; i < c->files_.size(); ++i) out[i] = g_strdup(c->files_[i].c_str());
  return out;
}

// Streaming thread: links the part's video and audio, by caps, through a queue and a parser.
void DvrClip::on_pad_added(GstElement*, GstPad* pad, gpointer self) {
  auto* c = static_cast<DvrClip*>(self);
  Ref<GstCaps> caps = Ref<GstCaps>::adopt(gst_pad_get_current_caps(pad));
  if (!caps) caps = Ref<GstCaps>::adopt(gst_pad_query_caps(pad, nullptr));
  const GstStructure* s = caps && !gst_caps_is_empty(caps.get()) ? gst_caps_get_structure(caps.get(), 0) : nullptr;
  const std::string name = s ? gst_structure_get_name(s) : "";
  const char* parser = name == "video/x-h264"   ? "h264parse"
                       : name == "video/x-h265" ? "h265parse"
                       : name == "audio/mpeg"   ? "aacparse"
                                                : nullptr;
  if (!parser) return;  // data streams stay unlinked (splitmuxsrc tolerates it on EOS)
  const bool video = name.rfind("video/", 0) == 0;
  if (video) c->trim_.has_video = true;
  GstElement* queue = gst_element_factory_make("queue", nullptr);
  GstElement* parse = gst_element_factory_make(parser, nullptr);
  GstBin* bin = GST_BIN(c->pipeline_.get());
  gst_bin_add_many(bin, queue, parse, nullptr);
  gst_element_link(queue, parse);
  gst_element_link(parse, c->mux_.get());
  gst_element_sync_state_with_parent(parse);
  gst_element_sync_state_with_parent(queue);
  Ref<GstPad> parsed = Ref<GstPad>::adopt(gst_element_get_static_pad(parse, "src"));
  gst_pad_add_probe(parsed.get(), GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                    trim, c, nullptr);
  g_object_set_data(G_OBJECT(parsed.get()), "estuary-clip-video", GINT_TO_POINTER(video ? 1 : 0));
  GstSegment* seg = gst_segment_new();
  gst_segment_init(seg, GST_FORMAT_TIME);
  g_object_set_data_full(G_OBJECT(parsed.get()), "estuary-clip-segment", seg,
                         reinterpret_cast<GDestroyNotify>(gst_segment_free));
  Ref<GstPad> sinkpad = Ref<GstPad>::adopt(gst_element_get_static_pad(queue, "sink"));
  gst_pad_link(pad, sinkpad.get());
}

// Streaming threads. Positions are compared as stream time (the files' joined timeline, which is
// what splitmuxsrc's segments map each part's own timestamps to): the clip keeps what lies between
// the first keyframe at or after start_ns and stop_ns, re-timed to begin at zero on a plain segment
// (so mp4mux writes no leading empty edit, whatever the seek did to the segment).
GstPadProbeReturn DvrClip::trim(GstPad* pad, GstPadProbeInfo* info, gpointer self) {
  auto* c = static_cast<DvrClip*>(self);
  auto* seg = static_cast<GstSegment*>(g_object_get_data(G_OBJECT(pad), "estuary-clip-segment"));
  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent* ev = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(ev) != GST_EVENT_SEGMENT) return GST_PAD_PROBE_OK;
    const GstSegment* in = nullptr;
    gst_event_parse_segment(ev, &in);
    gst_segment_copy_into(in, seg);
    GstSegment plain;
    gst_segment_init(&plain, GST_FORMAT_TIME);
    gst_event_unref(ev);
    GST_PAD_PROBE_INFO_DATA(info) = gst_event_new_segment(&plain);
    return GST_PAD_PROBE_OK;
  }
  GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
  guint64 pos = 0;
  if (!GST_CLOCK_TIME_IS_VALID(GST_BUFFER_PTS(buf)) ||
      gst_segment_to_stream_time_full(seg, GST_FORMAT_TIME, GST_BUFFER_PTS(buf), &pos) != 1)
    return GST_PAD_PROBE_DROP;
  const bool video = GPOINTER_TO_INT(g_object_get_data(G_OBJECT(pad), "estuary-clip-video")) != 0;
  int64_t base = c->trim_.base_ns.load();
  if (base < 0) {
    const bool starts = (video || !c->trim_.has_video.load()) && pos >= c->start_ns_ &&
                        (!video || !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT));
    if (!starts) return GST_PAD_PROBE_DROP;
    int64_t expected = -1;
    c->trim_.base_ns.compare_exchange_strong(expected, int64_t(pos));
    base = c->trim_.base_ns.load();
  }
  // Before the start, or at or after the end: the segment's stop no longer clips once replaced.
  if (int64_t(pos) < base || pos >= c->stop_ns_) return GST_PAD_PROBE_DROP;
  const GstClockTimeDiff shift = GstClockTimeDiff(GST_BUFFER_PTS(buf)) - GstClockTimeDiff(pos - base);
  buf = gst_buffer_make_writable(buf);
  GST_BUFFER_PTS(buf) = pos - GstClockTime(base);
  const GstClockTime dts = GST_BUFFER_DTS(buf);
  if (GST_CLOCK_TIME_IS_VALID(dts)) GST_BUFFER_DTS(buf) = GstClockTimeDiff(dts) > shift ? dts - shift : 0;
  GST_PAD_PROBE_INFO_DATA(info) = buf;
  return GST_PAD_PROBE_OK;
}

Status DvrClip::start(std::function<void(Status)> done) {
  done_ = std::move(done);
  Ref<GstBus> bus = Ref<GstBus>::adopt(gst_element_get_bus(pipeline_.get()));
  GSource* watch = gst_bus_create_watch(bus.get());
  g_source_set_callback(watch, G_SOURCE_FUNC(&DvrClip::on_bus), this, nullptr);
  g_source_attach(watch, g_main_context_get_thread_default());
  bus_watch_ = SourceGuard(watch);
  // Prerolled first, then seeked (a key-unit seek needs the parts' index), then played.
  if (gst_element_set_state(pipeline_.get(), GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE)
    return Error{"the clip pipeline does not start", ErrorReason::internal, "pipelines"};
  return ok_status();
}

Error clip_error(GstMessage* msg) {
  GError* err = nullptr;
  gst_message_parse_error(msg, &err, nullptr);
  std::string text = std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(msg))) + ": " + (err ? err->message : "error");
  g_clear_error(&err);
  return Error{text, ErrorReason::internal, "pipelines"};
}

namespace {
constexpr const char* kWorkerFailedMessage = "estuary-worker-failed";
}  // namespace

void post_worker_failure(GstElement* pipeline, const Error& e) {
  GstStructure* s = gst_structure_new(kWorkerFailedMessage, "message", G_TYPE_STRING, e.message.c_str(), "reason",
                                      G_TYPE_INT, int(e.reason), "domain", G_TYPE_STRING, e.domain.c_str(), nullptr);
  gst_element_post_message(pipeline, gst_message_new_application(GST_OBJECT(pipeline), s));
}

std::optional<Error> worker_failure_of(GstMessage* msg) {
  if (GST_MESSAGE_TYPE(msg) != GST_MESSAGE_APPLICATION) return std::nullopt;
  const GstStructure* s = gst_message_get_structure(msg);
  if (!s || !gst_structure_has_name(s, kWorkerFailedMessage)) return std::nullopt;
  int reason = int(ErrorReason::internal);
  gst_structure_get_int(s, "reason", &reason);
  const char* text = gst_structure_get_string(s, "message");
  const char* domain = gst_structure_get_string(s, "domain");
  return Error{text ? text : "failed", ErrorReason(reason), domain ? domain : "dvr"};
}

gboolean DvrClip::on_bus(GstBus*, GstMessage* msg, gpointer self) {
  auto* c = static_cast<DvrClip*>(self);
  switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_ASYNC_DONE:
      if (!c->seeked_) {
        c->seeked_ = true;
        const auto flags = GstSeekFlags(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_KEY_UNIT | GST_SEEK_FLAG_SNAP_BEFORE);
        if (!gst_element_seek(c->pipeline_.get(), 1.0, GST_FORMAT_TIME, flags, GST_SEEK_TYPE_SET, gint64(c->start_ns_),
                              GST_SEEK_TYPE_SET, gint64(c->stop_ns_))) {
          c->finish(Error{"the recordings cannot be seeked", ErrorReason::internal, "pipelines"});
          return G_SOURCE_REMOVE;
        }
        gst_element_set_state(c->pipeline_.get(), GST_STATE_PLAYING);
      }
      break;
    case GST_MESSAGE_EOS:
      c->finish(ok_status());
      return G_SOURCE_REMOVE;
    case GST_MESSAGE_ERROR:
      c->finish(clip_error(msg));
      return G_SOURCE_REMOVE;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

void DvrClip::finish(Status st) {
  if (finished_) return;
  finished_ = true;
  gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
  auto done = std::move(done_);
  if (done) done(std::move(st));  // may destroy this
}

DvrClip::~DvrClip() {
  bus_watch_.reset();
  if (pipeline_) gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
}

}  // namespace estuary::pipelines
