// Owns: FlvIngest (see flv_ingest.h).
#include "pipelines/flv_ingest.h"

#include <gst/app/gstappsrc.h>

#include "common/log.h"
#include "pipelines/demux_ingest.h"
#include "pipelines/flv_tags.h"

namespace estuary::pipelines {
namespace {

constexpr size_t max_pending_tags = 96;  // tags held while waiting to see both tracks
constexpr uint32_t max_pending_span_ms = 1000;

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
  DemuxIngestSpec spec;
  spec.stream = stream_name_;
  spec.demuxer = "flvdemux";
  spec.caps = Ref<GstCaps>::adopt(gst_caps_new_empty_simple("video/x-flv"));
  spec.max_bytes = settings_.max_pending_bytes;
  spec.drop_when_full = true;
  spec.video = seen_video_;
  spec.audio = seen_audio_;
  spec.pass_unknown_codecs = true;  // legacy FLV codecs without a parser still reach the bus
  spec.gop_cache_max_bytes = settings_.gop_cache_max_bytes;
  spec.events = events_;
  Result<DemuxIngest> ingest = start_demux_ingest(spec);
  if (!ingest) return ingest.error();
  pipeline_ = std::move(ingest->pipeline);
  appsrc_ = std::move(ingest->appsrc);
  GstElement* src = appsrc_.get();
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
