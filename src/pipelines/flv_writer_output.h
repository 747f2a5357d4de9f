// Owns: the FLV output Estuary writes itself for every stream whose tracks FLV carries as they are:
// reads the stream bus (estuarysrc ! parser ! appsink per track, one streaming thread, no queues) and
// writes the FLV (flv_writer.h) — onMetaData, H.264 as legacy AVC tags, H.265/AV1/VP9 as enhanced
// video tags (SequenceStart from the caps' configuration record, CodedFrames/CodedFramesX), AAC as
// legacy tags and Opus as enhanced ones — handing the file header, the sequence starts and then each
// tag to the same FlvTagSink as FlvOutput (the flvmux one, kept for audio that must be re-encoded).
// Nothing is forwarded before the first video keyframe.
// Must not know: the server, RTMP sessions, HTTP. The tag sink runs on the pipeline's streaming
// thread, serialised by a lock.
#pragma once

#include <gst/gst.h>

#include <memory>
#include <string>

#include "common/gobject_ptr.h"
#include "common/result.h"
#include "pipelines/flv_media.h"
#include "pipelines/flv_output.h"
#include "pipelines/managed_pipeline.h"

namespace estuary::pipelines {

// The FLV video codec of bus caps (video/x-h264, x-h265, x-av1, x-vp9), MediaCodec::none otherwise.
MediaCodec flv_codec_of_caps(const GstCaps* caps);

// What the bus says about a stream's tracks for FLV: their caps and FLV codecs, looked up once.
struct FlvTracks {
  Ref<GstCaps> video_caps, audio_caps;  // audio_caps empty: the stream has no such audio track
  MediaCodec video = MediaCodec::none, audio = MediaCodec::none;

  // The tracks of stream (app/name) with audio track audio_track (0: audio_0).
  static FlvTracks of(const std::string& stream, int audio_track = 0);
  // Whether FlvWriterOutput can carry them: video H.264 (legacy AVC tags), H.265, AV1 or VP9
  // (enhanced), with no audio, AAC, or Opus (enhanced video only).
  bool writable() const;
};

class FlvWriterOutput {
 public:
  // stream: app/name on the bus. Errors: no video (invalid), audio it cannot carry (unsupported).
  static Result<std::unique_ptr<FlvWriterOutput>> create(const std::string& stream, const FlvTracks& tracks,
                                                         std::shared_ptr<FlvTagSink> sink, int audio_track = 0);
  static Result<std::unique_ptr<FlvWriterOutput>> create(const std::string& stream, std::shared_ptr<FlvTagSink> sink,
                                                         int audio_track = 0) {
    return create(stream, FlvTracks::of(stream, audio_track), std::move(sink), audio_track);
  }
  ~FlvWriterOutput();
  ManagedPipeline& pipeline() { return *pipeline_; }

  struct Writer;  // tag state shared by the appsink callbacks (implementation detail)

 private:
  FlvWriterOutput() = default;
  std::unique_ptr<ManagedPipeline> pipeline_;
};

}  // namespace estuary::pipelines
