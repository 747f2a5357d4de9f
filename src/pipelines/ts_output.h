// Owns: the shared MPEG-TS output of one stream: runs the "ts" pipeline from pipelines.d (which
// reads the stream bus, muxes with mpegtsmux and ends in an appsink named "sink"), scans the muxed
// packets and hands them to a TsChunkSink implemented by the server layer (which feeds the fan-out).
// The sink is called on the pipeline's streaming thread.
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "pipelines/managed_pipeline.h"

namespace estuary::pipelines {

class TsChunkSink {
 public:
  virtual ~TsChunkSink() = default;
  // PAT + PMT packets; called before the first chunk and again when the program changes.
  virtual void on_header(std::vector<uint8_t> pat_pmt) = 0;
  // Whole TS packets [offset, offset+size) of `buffer`. keyframe: the chunk begins with the first
  // packet of a video keyframe (or of an audio frame in an audio-only program).
  virtual void on_chunk(GstBuffer* buffer, size_t offset, size_t size, bool keyframe, int64_t dts_ms) = 0;
};

class TsOutput {
 public:
  // `launch` is the expanded launch line; it must contain an appsink named "sink".
  static Result<std::unique_ptr<TsOutput>> create(const std::string& stream_name, const std::string& launch,
                                                  std::shared_ptr<TsChunkSink> sink);
  ~TsOutput();
  ManagedPipeline& pipeline() { return *pipeline_; }

 private:
  TsOutput() = default;
  std::unique_ptr<ManagedPipeline> pipeline_;
};

}  // namespace estuary::pipelines
