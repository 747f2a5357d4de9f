// Owns: the shared FLV output of one stream: runs the "flv" pipeline from pipelines.d (which reads
// the stream bus and ends in an appsink named "sink"), splits flvmux's output into tags and hands
// them to a TagSink implemented by the server layer (which feeds the fan-out). The TagSink is called
// on the pipeline's streaming thread.
#pragma once

#include <gst/gst.h>

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "pipelines/flv_tags.h"
#include "pipelines/managed_pipeline.h"

namespace estuary::pipelines {

class FlvTagSink {
 public:
  virtual ~FlvTagSink() = default;
  // Codec headers: FLV file header, onMetaData, sequence headers (each a tag buffer, in order).
  // Called before the first tag and again if flvmux renegotiates.
  virtual void on_header(const std::vector<GstBuffer*>& header) = 0;
  // One media tag; `buffer` holds exactly this tag (header, body, PreviousTagSize).
  virtual void on_tag(GstBuffer* buffer, const FlvTagView& tag, bool keyframe) = 0;
};

// Drops TAG events before every flvmux in bin (on the sink pads it has now): flvmux writes a new
// onMetaData for each one, which ffprobe then shows as a bogus "text" stream.
void drop_tags_into_muxers(GstBin* bin);

class FlvOutput {
 public:
  // `launch` is the expanded launch line; it must contain an appsink named "sink".
  static Result<std::unique_ptr<FlvOutput>> create(const std::string& stream_name, const std::string& launch,
                                                   std::shared_ptr<FlvTagSink> sink);
  ~FlvOutput();
  ManagedPipeline& pipeline() { return *pipeline_; }

 private:
  FlvOutput() = default;
  std::unique_ptr<ManagedPipeline> pipeline_;
};

}  // namespace estuary::pipelines
