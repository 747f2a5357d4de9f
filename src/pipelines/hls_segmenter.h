// Owns: the HLS segment producer of one stream: runs the "hls" pipeline from pipelines.d (which
// reads the stream bus and ends in an hlssink2 named "hls"), keeps every fragment in memory through
// hlssink2's stream signals (nothing touches the disk) and hands each finished MPEG-TS segment with
// its duration to the caller on the control thread. It knows nothing of playlists: the playlist
// model lives in the server layer, so another producer (fMP4 parts for LL-HLS) can feed it later.
#pragma once

#include <gst/gst.h>

#include <functional>
#include <memory>
#include <string>

#include "common/gobject_ptr.h"
#include "common/result.h"
#include "pipelines/managed_pipeline.h"

namespace estuary::pipelines {

struct HlsSegmenterSettings {
  int target_duration_s = 2;  // segments are cut at the first keyframe after this
};

class HlsSegmenter {
 public:
  // Called on the control thread for each finished segment.
  using OnSegment = std::function<void(Ref<GBytes> data, double duration_s)>;

  // `launch` must contain an hlssink2 named "hls". events.on_element_message is wrapped.
  static Result<std::unique_ptr<HlsSegmenter>> create(const std::string& stream_name, const std::string& launch,
                                                      HlsSegmenterSettings settings, OnSegment on_segment,
                                                      PipelineEvents events);
  ~HlsSegmenter();
  ManagedPipeline& pipeline() { return *pipeline_; }
  // Audio tracks after the first muxed into the segments: elements named "audio_1", "audio_2", ... in
  // the launch line (pipelines.d audio_extra) whose src pads go to the muxer next to hlssink2's own.
  int extra_audio_tracks() const { return extra_audio_; }

  struct Shared;  // state the hlssink2 signal handlers share (defined in the .cpp)

 private:
  HlsSegmenter() = default;
  void on_message(const GstStructure* s);

  std::unique_ptr<ManagedPipeline> pipeline_;
  std::shared_ptr<Shared> shared_;
  OnSegment on_segment_;
  int extra_audio_ = 0;
  SignalGuard fragment_signal_, playlist_signal_, delete_signal_;
};

}  // namespace estuary::pipelines
