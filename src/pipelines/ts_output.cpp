// Owns: TsOutput (see ts_output.h).
#include "pipelines/ts_output.h"

#include <gst/app/gstappsink.h>

#include "pipelines/appsink_pipeline.h"
#include "pipelines/ts_packets.h"

namespace estuary::pipelines {
namespace {

// State shared with the appsink callbacks (streaming thread); freed by the appsink's destroy notify.
struct SinkState {
  std::shared_ptr<TsChunkSink> sink;
  TsScanner scanner;
  bool started = false;  // nothing is forwarded before the first keyframe
  int64_t last_dts_ms = 0;
};

GstFlowReturn on_new_sample(GstAppSink* appsink, gpointer data) {
  auto* st = static_cast<SinkState*>(data);
  GstSample* sample = gst_app_sink_pull_sample(appsink);
  if (!sample) return GST_FLOW_EOS;
  Ref<GstSample> owned = Ref<GstSample>::adopt(sample);
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  if (!buffer) return GST_FLOW_OK;
  const GstClockTime ts = GST_BUFFER_DTS_OR_PTS(buffer);
  if (GST_CLOCK_TIME_IS_VALID(ts)) st->last_dts_ms = int64_t(ts / GST_MSECOND);
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) return GST_FLOW_OK;
  const size_t whole = map.size - map.size % ts_packet_size;
  TsScanResult r = st->scanner.scan(map.data, whole);
  gst_buffer_unmap(buffer, &map);
  if (r.header_changed && st->scanner.has_header()) st->sink->on_header(st->scanner.header());
  if (!st->scanner.has_header() || whole == 0) return GST_FLOW_OK;
  if (r.key_offset < 0) {
    if (st->started) st->sink->on_chunk(buffer, 0, whole, false, st->last_dts_ms);
    return GST_FLOW_OK;
  }
  // Split at the keyframe so a viewer that starts there gets PAT, PMT, then the keyframe PES.
  const size_t k = size_t(r.key_offset);
  if (k > 0 && st->started) st->sink->on_chunk(buffer, 0, k, false, st->last_dts_ms);
  st->started = true;
  st->sink->on_chunk(buffer, k, whole - k, true, st->last_dts_ms);
  return GST_FLOW_OK;
}

}  // namespace

Result<std::unique_ptr<TsOutput>> TsOutput::create(const std::string& stream_name, const std::string& launch,
                                                   std::shared_ptr<TsChunkSink> sink) {
  auto built =
      build_appsink_pipeline("ts", stream_name, launch, {on_new_sample, nullptr}, new SinkState{std::move(sink)},
                             [](gpointer p) { delete static_cast<SinkState*>(p); });
  if (!built) return built.error();
  std::unique_ptr<TsOutput> out(new TsOutput());
  out->pipeline_ = std::move(built.value());
  return out;
}

TsOutput::~TsOutput() {
  if (pipeline_) pipeline_->stop();
}

}  // namespace estuary::pipelines
