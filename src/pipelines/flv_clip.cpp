// Owns: FlvClip (see flv_clip.h).
#include "pipelines/flv_clip.h"

#include <gst/app/gstappsrc.h>

#include <algorithm>
#include <utility>

#include "pipelines/flv_file.h"

namespace estuary::pipelines {
namespace {

constexpr guint64 kQueuedBytes = 4u << 20;              // per track, between the reader and the muxer
constexpr GstClockTime kFrameGapNs = 20 * GST_MSECOND;  // between one file's last tag and the next file's first

}  // namespace

Result<std::unique_ptr<FlvClip>> FlvClip::create(std::vector<Part> parts, GstClockTime start_ns, GstClockTime stop_ns,
                                                 std::string out_path) {
  if (parts.empty() || stop_ns <= start_ns) return Error{"empty clip", ErrorReason::invalid, "dvr"};
  // The tracks and their decoder configuration, from the first file's first tags.
  auto first = FlvMapping::open(parts.front().path);
  if (!first) return first.error();
  FlvTracks tracks = flv_tracks(first.value());
  Ref<GstCaps> video_caps = tracks.video, audio_caps = tracks.audio;
  if (!video_caps && !audio_caps)
    return Error{"no H.264 or AAC decoder configuration at the start of " + parts.front().path, ErrorReason::invalid,
                 "dvr"};
  std::unique_ptr<FlvClip> c(new FlvClip());
  c->parts_ = std::move(parts);
  c->start_ns_ = start_ns;
  c->stop_ns_ = stop_ns;
  c->out_path_ = std::move(out_path);
  c->pipeline_ = Ref<GstElement>::adopt_floating(gst_pipeline_new("flv-clip"));
  GstElement* mux = gst_element_factory_make("mp4mux", nullptr);
  GstElement* sink = gst_element_factory_make("filesink", nullptr);
  if (!mux || !sink) {
    for (GstElement* e : {mux, sink})
      if (e) gst_object_unref(gst_object_ref_sink(e));
    return Error{"mp4mux or filesink missing", ErrorReason::internal, "pipelines"};
  }
  g_object_set(mux, "faststart", TRUE, nullptr);
  g_object_set(sink, "location", c->out_path_.c_str(), nullptr);
  gst_bin_add_many(GST_BIN(c->pipeline_.get()), mux, sink, nullptr);
  if (!gst_element_link(mux, sink)) return Error{"cannot link mp4mux to filesink", ErrorReason::internal, "pipelines"};
  if (video_caps) {
    auto src = add_flv_branch(c->pipeline_.get(), mux, "h264parse", video_caps, kQueuedBytes);
    if (!src) return src.error();
    c->video_src_ = src.value();
  }
  if (audio_caps) {
    auto src = add_flv_branch(c->pipeline_.get(), mux, "aacparse", audio_caps, kQueuedBytes);
    if (!src) return src.error();
    c->audio_src_ = src.value();
  }
  return c;
}

Status FlvClip::start(std::function<void(Status)> done) {
  done_ = std::move(done);
  Ref<GstBus> bus = Ref<GstBus>::adopt(gst_element_get_bus(pipeline_.get()));
  GSource* watch = gst_bus_create_watch(bus.get());
  g_source_set_callback(watch, G_SOURCE_FUNC(&FlvClip::on_bus), this, nullptr);  // removed before `this` dies
  g_source_attach(watch, g_main_context_get_thread_default());
  bus_watch_ = SourceGuard(watch);
  if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    return Error{"the clip pipeline does not start", ErrorReason::internal, "pipelines"};
  worker_ = std::thread([this] { feed(); });  // joined by the destructor
  return ok_status();
}

void FlvClip::feed() {
  Status st = ok_status();
  for (const auto& part : parts_) {
    if (stopping_ || reached_stop_) break;
    st = feed_file(part);
    if (!st) break;
  }
  if (st && pushed_ == 0) st = Error{"no keyframe was recorded in that range", ErrorReason::not_found, "dvr"};
  if (!st) {
    if (stopping_) return;
    post_worker_failure(pipeline_.get(), st.error());
    return;
  }
  for (const auto& src : {video_src_, audio_src_})
    if (src) gst_app_src_end_of_stream(GST_APP_SRC(src.get()));
}

// Worker thread. Timestamps: the file's first media tag is its offset on the joined timeline.
Status FlvClip::feed_file(const Part& part) {
  auto mapping = FlvMapping::open(part.path);
  if (!mapping) return mapping.error();
  // The index's duration of the previous file can be shorter than its last tag: never go back.
  const GstClockTime offset = std::max(part.offset_ns, timeline_end_ns_);
  // A short tail (a crash while writing) ends the file: what came before is kept.
  return walk_flv_frames(mapping.value(), [&](const FlvFrame& f) -> Result<bool> {
    if (stopping_ || reached_stop_) return false;
    const GstClockTime dts = offset + GstClockTime(f.dts_ms) * GST_MSECOND;
    timeline_end_ns_ = std::max(timeline_end_ns_, dts + kFrameGapNs);
    const int64_t pts = int64_t(dts) + int64_t(f.cts_ms) * int64_t(GST_MSECOND);
    Status st = push(f.video, dts, GstClockTime(std::max<int64_t>(0, pts)), f.key, f.data, f.size);
    if (!st) return st.error();
    return true;
  });
}

// Worker thread: trims to [first keyframe at or after start, stop) and re-times from zero.
Status FlvClip::push(bool video, GstClockTime dts, GstClockTime pts, bool key, const uint8_t* data, size_t size) {
  const Ref<GstElement>& src = video ? video_src_ : audio_src_;
  if (!src) return ok_status();             // a track the first file did not announce
  const bool leads = video || !video_src_;  // the track whose keyframes start and end the clip
  if (base_ns_ < 0) {
    if (!leads || !key || dts < start_ns_) return ok_status();
    base_ns_ = int64_t(dts);
  }
  if (int64_t(dts) < base_ns_) return ok_status();
  if (dts >= stop_ns_) {
    if (leads) reached_stop_ = true;
    return ok_status();
  }
  GstBuffer* buf = gst_buffer_new_memdup(data, size);
  GST_BUFFER_DTS(buf) = dts - GstClockTime(base_ns_);
  GST_BUFFER_PTS(buf) = pts >= GstClockTime(base_ns_) ? pts - GstClockTime(base_ns_) : 0;
  if (!key) GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
  const GstFlowReturn flow = gst_app_src_push_buffer(GST_APP_SRC(src.get()), buf);  // blocks while the queue is full
  if (flow != GST_FLOW_OK)
    return Error{std::string("the clip muxer stopped: ") + gst_flow_get_name(flow), ErrorReason::internal, "pipelines"};
  ++pushed_;
  return ok_status();
}

gboolean FlvClip::on_bus(GstBus*, GstMessage* msg, gpointer self) {
  auto* c = static_cast<FlvClip*>(self);
  switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_EOS:
      c->finish(ok_status());
      return G_SOURCE_REMOVE;
    case GST_MESSAGE_APPLICATION:
      if (auto failed = worker_failure_of(msg)) {
        c->finish(std::move(*failed));
        return G_SOURCE_REMOVE;
      }
      break;
    case GST_MESSAGE_ERROR:
      c->finish(clip_error(msg));
      return G_SOURCE_REMOVE;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

void FlvClip::finish(Status st) {
  if (finished_) return;
  finished_ = true;
  stopping_ = true;
  gst_element_set_state(pipeline_.get(), GST_STATE_NULL);  // a blocked push returns FLUSHING
  auto done = std::move(done_);
  if (done) done(std::move(st));  // may destroy this
}

FlvClip::~FlvClip() {
  stopping_ = true;
  bus_watch_.reset();
  if (pipeline_) gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
  if (worker_.joinable()) worker_.join();
}

}  // namespace estuary::pipelines
