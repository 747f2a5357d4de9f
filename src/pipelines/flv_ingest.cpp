// Owns: FlvIngest (see flv_ingest.h).
#include "pipelines/flv_ingest.h"

#include <gst/app/gstappsrc.h>

#include "common/log.h"
#include "pipelines/flv_tags.h"

namespace estuary::pipelines {
namespace {

constexpr size_t max_pending_tags = 96;  // tags held while waiting to see both tracks
constexpr uint32_t max_pending_span_ms = 1000;

// Links a new flvdemux pad through the parser its caps need into the matching bus sink pad.
// Runs on the demuxer's streaming thread; touches only elements of this pipeline.
void on_demux_pad_added(GstElement* demux, GstPad* pad, gpointer bin_ptr) {
  GstBin* bin = GST_BIN(bin_ptr);
  Ref<GstCaps> caps = Ref<GstCaps>::adopt(gst_pad_get_current_caps(pad));
  if (!caps) caps = Ref<GstCaps>::adopt(gst_pad_query_caps(pad, nullptr));
  const GstStructure* s = gst_caps_get_structure(caps.get(), 0);
  const char* media = gst_structure_get_name(s);
  const bool video = g_str_has_prefix(media, "video/");
  const char* parser_name = nullptr;
  if (g_str_equal(media, "video/x-h264"))
    parser_name = "h264parse";
  else if (g_str_equal(media, "video/x-h265"))
    parser_name = "h265parse";
  else if (g_str_equal(media, "audio/mpeg")) {
    int version = 0;
    gst_structure_get_int(s, "mpegversion", &version);
    parser_name = version == 1 ? "mpegaudioparse" : "aacparse";
  } else
    parser_name = "identity";
  Ref<GstElement> sink = Ref<GstElement>::adopt(gst_bin_get_by_name(bin, "bus"));
  Ref<GstPad> target = Ref<GstPad>::adopt(gst_element_get_static_pad(sink.get(), video ? "sink_0" : "sink_1"));
  if (!target || gst_pad_is_linked(target.get())) return;  // track not announced, or a second one
  GstElement* parser = gst_element_factory_make(parser_name, nullptr);
  if (!parser) return;
  gst_bin_add(bin, parser);
  Ref<GstPad> psink = Ref<GstPad>::adopt(gst_element_get_static_pad(parser, "sink"));
  Ref<GstPad> psrc = Ref<GstPad>::adopt(gst_element_get_static_pad(parser, "src"));
  gst_pad_link(psrc.get(), target.get());
  gst_element_sync_state_with_parent(parser);
  gst_pad_link(pad, psink.get());
  (void)demux;
}

}  // namespace

FlvIngest::FlvIngest(std::string stream_name, IngestSettings settings)
    : stream_name_(std::move(stream_name)), settings_(settings) {}

FlvIngest::~FlvIngest() { stop(); }

bool FlvIngest::tracks_known() const {
  if (seen_audio_ && seen_video_) return true;
  if (pending_.size() >= max_pending_tags) return true;
  if (pending_bytes_ >= settings_.max_pending_bytes / 2) return true;
  if (pending_.size() >= 2 && pending_.back().ts - pending_.front().ts >= max_pending_span_ms) return true;
  return false;
}

Status FlvIngest::push(uint8_t type, uint32_t ts, const uint8_t* body, size_t size) {
  if (stopped_) return ok_status();
  if (type != flv_audio && type != flv_video && type != flv_script) return ok_status();
  if (pipeline_) {
    push_tag(type, ts, body, size);
    return ok_status();
  }
  if (type == flv_audio && size > 0) seen_audio_ = true;
  if (type == flv_video && size > 0) seen_video_ = true;
  pending_.push_back({type, ts, std::vector<uint8_t>(body, body + size)});
  pending_bytes_ += size;
  if (!tracks_known() || (!seen_audio_ && !seen_video_)) return ok_status();
  Status started = start_pipeline();
  if (!started) return started;
  for (auto& p : pending_) push_tag(p.type, p.ts, p.body.data(), p.body.size());
  pending_.clear();
  pending_.shrink_to_fit();
  pending_bytes_ = 0;
  return ok_status();
}

Status FlvIngest::start_pipeline() {
  GstElement* pipeline = gst_pipeline_new(nullptr);
  GstElement* src = gst_element_factory_make("appsrc", "src");
  GstElement* demux = gst_element_factory_make("flvdemux", "demux");
  GstElement* sink = gst_element_factory_make("estuarysink", "bus");
  if (!pipeline || !src || !demux || !sink) {
    for (GstElement* e : {pipeline, src, demux, sink})
      if (e) gst_object_unref(gst_object_ref_sink(e));
    return Error{"ingest " + stream_name_ + ": missing GStreamer element (appsrc, flvdemux or estuarysink)"};
  }
  Ref<GstCaps> caps = Ref<GstCaps>::adopt(gst_caps_new_empty_simple("video/x-flv"));
  g_object_set(src, "caps", caps.get(), "format", GST_FORMAT_BYTES, "is-live", TRUE, "max-bytes",
               static_cast<guint64>(settings_.max_pending_bytes), "leaky-type", 1 /* upstream: drop new */, nullptr);
  g_object_set(sink, "stream", stream_name_.c_str(), "gop-cache-max-bytes", settings_.gop_cache_max_bytes, nullptr);
  gst_bin_add_many(GST_BIN(pipeline), src, demux, sink, nullptr);
  gst_element_link(src, demux);
  // Announce exactly the tracks we saw, so the bus declares the stream ready with all of them.
  if (seen_video_) gst_object_unref(gst_element_request_pad_simple(sink, "sink_0"));
  if (seen_audio_) gst_object_unref(gst_element_request_pad_simple(sink, "sink_1"));
  g_signal_connect_object(demux, "pad-added", G_CALLBACK(on_demux_pad_added), pipeline, GConnectFlags(0));
  appsrc_ = Ref<GstElement>::add_ref(src);
  pipeline_ = ManagedPipeline::adopt("ingest:" + stream_name_, pipeline);
  pipeline_->set_events(events_);
  Status st = pipeline_->start();
  if (!st) {
    pipeline_.reset();
    appsrc_.reset();
    return st;
  }
  base_ms_ = static_cast<int64_t>(pipeline_->running_time() / GST_MSECOND);
  auto header = make_flv_file_header(seen_audio_, seen_video_);
  GstBuffer* buf = gst_buffer_new_memdup(header.data(), header.size());
  gst_app_src_push_buffer(GST_APP_SRC(src), buf);
  log_info(stream_name_, "", "ingest-start",
           std::string("ingest pipeline started video=") + (seen_video_ ? "yes" : "no") +
               " audio=" + (seen_audio_ ? "yes" : "no"));
  return ok_status();
}

void FlvIngest::push_tag(uint8_t type, uint32_t ts, const uint8_t* body, size_t size) {
  if (!appsrc_) return;
  if (!have_first_ts_) {
    have_first_ts_ = true;
    first_ts_ = ts;
  }
  // Rebase so the first tag lands at "now" on the pipeline clock (flvdemux keeps absolute times).
  int64_t rebased = int64_t(int32_t(ts - first_ts_)) + base_ms_;
  if (rebased < 0) rebased = 0;
  std::vector<uint8_t> tag;
  tag.reserve(size + flv_tag_header_size + flv_prev_tag_size);
  append_flv_tag(tag, type, static_cast<uint32_t>(rebased), body, size);
  GstBuffer* buf = gst_buffer_new_memdup(tag.data(), tag.size());
  gst_app_src_push_buffer(GST_APP_SRC(appsrc_.get()), buf);
}

void FlvIngest::stop() {
  stopped_ = true;
  if (pipeline_) pipeline_->stop();
  pipeline_.reset();
  appsrc_.reset();
  pending_.clear();
}

}  // namespace estuary::pipelines
