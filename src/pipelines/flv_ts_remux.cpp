// Owns: FlvTsRemux (see flv_ts_remux.h).
#include "pipelines/flv_ts_remux.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

#include <algorithm>
#include <utility>

#include "pipelines/dvr_clip.h"

namespace estuary::pipelines {
namespace {

constexpr guint64 kQueuedBytes = 4u << 20;  // per track, between the reader and the muxer

}  // namespace

Result<std::unique_ptr<FlvTsRemux>> FlvTsRemux::create(std::string path, GstClockTime base_ns, size_t max_bytes) {
  auto file = FlvMapping::open(path);
  if (!file) return file.error();
  FlvTracks tracks = flv_tracks(file.value());
  if (!tracks.video && !tracks.audio)
    return Error{"no H.264 or AAC decoder configuration at the start of " + path, ErrorReason::unsupported, "dvr"};
  std::unique_ptr<FlvTsRemux> r(new FlvTsRemux());
  r->path_ = std::move(path);
  r->file_ = file.value();
  r->base_ns_ = base_ns;
  r->max_bytes_ = max_bytes;
  r->pipeline_ = Ref<GstElement>::adopt_floating(gst_pipeline_new("flv-ts-remux"));
  GstElement* mux = gst_element_factory_make("mpegtsmux", nullptr);
  GstElement* sink = gst_element_factory_make("appsink", nullptr);
  if (!mux || !sink) {
    for (GstElement* e : {mux, sink})
      if (e) gst_object_unref(gst_object_ref_sink(e));
    return Error{"mpegtsmux or appsink missing", ErrorReason::internal, "pipelines"};
  }
  g_object_set(sink, "sync", FALSE, "async", FALSE, "max-buffers", 64u, nullptr);
  gst_bin_add_many(GST_BIN(r->pipeline_.get()), mux, sink, nullptr);
  if (!gst_element_link(mux, sink))
    return Error{"cannot link mpegtsmux to appsink", ErrorReason::internal, "pipelines"};
  GstAppSinkCallbacks callbacks{};
  callbacks.new_sample = [](GstAppSink* s, gpointer self) { return on_sample(GST_ELEMENT(s), self); };
  // The pipeline goes to NULL (its streaming threads stopped) before `r` is destroyed.
  gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, r.get(), nullptr);
  if (tracks.video) {
    GstElement* parse = nullptr;
    auto src = add_flv_branch(r->pipeline_.get(), mux, "h264parse", tracks.video, kQueuedBytes, &parse);
    if (!src) return src.error();
    r->video_src_ = src.value();
    g_object_set(parse, "config-interval", -1, nullptr);  // SPS/PPS in front of every IDR
  }
  if (tracks.audio) {
    auto src = add_flv_branch(r->pipeline_.get(), mux, "aacparse", tracks.audio, kQueuedBytes);
    if (!src) return src.error();
    r->audio_src_ = src.value();
  }
  r->out_ = g_byte_array_new();
  return r;
}

Status FlvTsRemux::start(Done done) {
  done_ = std::move(done);
  Ref<GstBus> bus = Ref<GstBus>::adopt(gst_element_get_bus(pipeline_.get()));
  GSource* watch = gst_bus_create_watch(bus.get());
  g_source_set_callback(watch, G_SOURCE_FUNC(&FlvTsRemux::on_bus), this, nullptr);  // removed before `this` dies
  g_source_attach(watch, g_main_context_get_thread_default());
  bus_watch_ = SourceGuard(watch);
  GSource* timer = g_timeout_source_new_seconds(kRemuxTimeoutS);
  g_source_set_callback(timer, &FlvTsRemux::on_timeout, this, nullptr);  // removed before `this` dies
  g_source_attach(timer, g_main_context_get_thread_default());
  timeout_ = SourceGuard(timer);
  if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    return Error{"the remux pipeline does not start", ErrorReason::internal, "pipelines"};
  worker_ = std::thread([this] { feed(); });  // joined by the destructor
  return ok_status();
}

// Worker thread.
void FlvTsRemux::feed() {
  Status st = walk_flv_frames(file_, [this](const FlvFrame& f) -> Result<bool> {
    if (stopping_) return false;
    Status pushed = push(f);
    if (!pushed) return pushed.error();
    return true;
  });
  if (st && !started_) st = Error{path_ + " holds no keyframe", ErrorReason::unprocessable, "dvr"};
  if (!st) {
    if (!stopping_) fail_from_thread(st.error());
    return;
  }
  for (const auto& src : {video_src_, audio_src_})
    if (src) gst_app_src_end_of_stream(GST_APP_SRC(src.get()));
}

// Worker thread: the segment starts at the first video keyframe; everything is re-timed to base_ns_.
Status FlvTsRemux::push(const FlvFrame& f) {
  const Ref<GstElement>& src = f.video ? video_src_ : audio_src_;
  if (!src) return ok_status();  // a track the file's start did not announce
  if (!started_) {
    const bool leads = f.video || !video_src_;
    if (!leads || !f.key) return ok_status();
    started_ = true;
  }
  GstBuffer* buf = gst_buffer_new_memdup(f.data, f.size);
  const GstClockTime dts = base_ns_ + GstClockTime(f.dts_ms) * GST_MSECOND;
  const int64_t pts = int64_t(dts) + int64_t(f.cts_ms) * int64_t(GST_MSECOND);
  GST_BUFFER_DTS(buf) = dts;
  GST_BUFFER_PTS(buf) = GstClockTime(std::max<int64_t>(int64_t(base_ns_), pts));
  if (!f.key) GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
  const GstFlowReturn flow = gst_app_src_push_buffer(GST_APP_SRC(src.get()), buf);  // blocks while the queue is full
  if (flow != GST_FLOW_OK)
    return Error{std::string("the remux muxer stopped: ") + gst_flow_get_name(flow), ErrorReason::internal,
                 "pipelines"};
  return ok_status();
}

void FlvTsRemux::fail_from_thread(const Error& e) { post_worker_failure(pipeline_.get(), e); }

// The appsink's streaming thread: the muxed bytes are collected, at most max_bytes_ of them.
GstFlowReturn FlvTsRemux::on_sample(GstElement* sink, gpointer self) {
  auto* r = static_cast<FlvTsRemux*>(self);
  Ref<GstSample> sample = Ref<GstSample>::adopt(gst_app_sink_pull_sample(GST_APP_SINK(sink)));
  if (!sample) return GST_FLOW_EOS;
  GstBuffer* buf = gst_sample_get_buffer(sample.get());
  GstMapInfo map;
  if (!buf || !gst_buffer_map(buf, &map, GST_MAP_READ)) return GST_FLOW_OK;
  bool over = false;
  {
    std::lock_guard<std::mutex> lock(r->out_mutex_);
    if (r->out_->len + map.size > r->max_bytes_) {
      over = !r->overflow_;
      r->overflow_ = true;
    } else {
      g_byte_array_append(r->out_, map.data, guint(map.size));
    }
  }
  gst_buffer_unmap(buf, &map);
  if (over)
    r->fail_from_thread(Error{"the segment would exceed " + std::to_string(r->max_bytes_ >> 20) + " MiB",
                              ErrorReason::too_large, "dvr"});
  return over ? GST_FLOW_EOS : GST_FLOW_OK;
}

gboolean FlvTsRemux::on_bus(GstBus*, GstMessage* msg, gpointer self) {
  auto* r = static_cast<FlvTsRemux*>(self);
  switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_EOS: {
      GByteArray* out = nullptr;
      {
        std::lock_guard<std::mutex> lock(r->out_mutex_);
        if (r->overflow_) return G_SOURCE_CONTINUE;  // its application message says why
        out = std::exchange(r->out_, nullptr);
      }
      r->finish(Ref<GBytes>::adopt(g_byte_array_free_to_bytes(out)));
      return G_SOURCE_REMOVE;
    }
    case GST_MESSAGE_APPLICATION:
      if (auto failed = worker_failure_of(msg)) {
        r->finish(std::move(*failed));
        return G_SOURCE_REMOVE;
      }
      break;
    case GST_MESSAGE_ERROR:
      r->finish(clip_error(msg));
      return G_SOURCE_REMOVE;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

gboolean FlvTsRemux::on_timeout(gpointer self) {
  auto* r = static_cast<FlvTsRemux*>(self);
  r->finish(Error{"the remux of " + r->path_ + " did not end within " + std::to_string(kRemuxTimeoutS) + " s",
                  ErrorReason::internal, "dvr"});
  return G_SOURCE_REMOVE;
}

void FlvTsRemux::finish(Result<Ref<GBytes>> result) {
  if (finished_) return;
  finished_ = true;
  stopping_ = true;
  gst_element_set_state(pipeline_.get(), GST_STATE_NULL);  // a blocked push returns FLUSHING
  auto done = std::move(done_);
  if (done) done(std::move(result));  // may destroy this
}

FlvTsRemux::~FlvTsRemux() {
  stopping_ = true;
  bus_watch_.reset();
  timeout_.reset();
  if (pipeline_) gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
  if (worker_.joinable()) worker_.join();
  if (out_) g_byte_array_unref(out_);
}

}  // namespace estuary::pipelines
