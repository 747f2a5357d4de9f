// Owns: the ingest pipeline for FLV-tag publishers (RTMP): appsrc ! flvdemux ! parsers ! estuarysink.
// Tags are queued until the tracks are known (so the FLV header flags and the bus sink pads are
// right from the start), then the pipeline starts. push() runs on the control thread and never blocks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "pipelines/managed_pipeline.h"

namespace estuary::pipelines {

struct IngestSettings {
  uint64_t gop_cache_max_bytes = 32u << 20;
  size_t max_pending_bytes = 8u << 20;  // bound of what the appsrc may hold
};

class FlvIngest {
 public:
  FlvIngest(std::string stream_name, IngestSettings settings);
  ~FlvIngest();
  FlvIngest(const FlvIngest&) = delete;
  FlvIngest& operator=(const FlvIngest&) = delete;

  // Events of the ingest pipeline (ready message from the bus sink, errors). Set before push().
  void set_events(PipelineEvents events) { events_ = std::move(events); }
  // One media message: type 8 audio, 9 video, 18 script data (onMetaData).
  Status push(uint8_t type, uint32_t timestamp_ms, const uint8_t* body, size_t size);
  void stop();
  bool started() const { return pipeline_ != nullptr; }
  const std::string& stream_name() const { return stream_name_; }

 private:
  struct Pending {
    uint8_t type;
    uint32_t ts;
    std::vector<uint8_t> body;
  };
  bool tracks_known() const;
  Status start_pipeline();
  void push_tag(uint8_t type, uint32_t ts, const uint8_t* body, size_t size);

  std::string stream_name_;
  IngestSettings settings_;
  PipelineEvents events_;
  std::unique_ptr<ManagedPipeline> pipeline_;
  Ref<GstElement> appsrc_;
  std::vector<Pending> pending_;
  size_t pending_bytes_ = 0;
  bool seen_audio_ = false;
  bool seen_video_ = false;
  bool have_first_ts_ = false;
  uint32_t first_ts_ = 0;
  int64_t base_ms_ = 0;
  bool stopped_ = false;
};

}  // namespace estuary::pipelines
