// Owns: the FLV output of a stream whose video flvmux cannot carry (H.265, AV1, VP9): reads the stream
// bus (estuarysrc ! parser ! appsink per track) and writes the FLV itself (flv_writer.h) — enhanced
// video tags (SequenceStart from the caps' configuration record, CodedFrames/CodedFramesX), AAC as
// legacy tags and Opus as enhanced ones — handing the file header, the sequence starts and then each
// tag to the same FlvTagSink as FlvOutput. Nothing is forwarded before the first video keyframe.
// Must not know: the server, RTMP sessions, HTTP. The tag sink runs on the pipeline's streaming
// threads (one per track), serialised by a lock.
#pragma once

#include <gst/gst.h>

#include <memory>
#include <string>

#include "common/result.h"
#include "pipelines/flv_media.h"
#include "pipelines/flv_output.h"
#include "pipelines/managed_pipeline.h"

namespace estuary::pipelines {

// The FLV video codec of bus caps (video/x-h264, x-h265, x-av1, x-vp9), MediaCodec::none otherwise.
MediaCodec flv_codec_of_caps(const GstCaps* caps);

class EnhancedFlvOutput {
 public:
  // stream: app/name on the bus, which must have a video track flvmux cannot carry. Errors
  // (unsupported): an audio codec FLV cannot carry here (AAC and Opus are).
  static Result<std::unique_ptr<EnhancedFlvOutput>> create(const std::string& stream, std::shared_ptr<FlvTagSink> sink);
  ~EnhancedFlvOutput();
  ManagedPipeline& pipeline() { return *pipeline_; }

  struct Writer;  // tag state shared by the appsink callbacks (implementation detail)

 private:
  EnhancedFlvOutput() = default;
  std::unique_ptr<ManagedPipeline> pipeline_;
};

}  // namespace estuary::pipelines
