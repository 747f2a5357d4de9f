// Owns: the CMAF packager of one stream as a pipeline: runs the "cmaf" pipeline from pipelines.d
// (which reads the stream bus and ends in appsinks named "video" and/or "audio", and "audio_1", ...
// for further audio tracks), turns each
// appsink's caps into a track configuration, feeds the samples of every streaming thread to one
// Fragmenter under a lock and hands the init segment and each finished part to a CmafPartSink
// (called on a streaming thread; the server layer posts to the control thread).
// Must not know: HTTP, playlists, the server.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "pipelines/cmaf_fragmenter.h"
#include "pipelines/managed_pipeline.h"

namespace estuary::pipelines {

class CmafPartSink {
 public:
  virtual ~CmafPartSink() = default;
  // Once, before the first part: the init segment and the tracks it describes (video first).
  virtual void on_init(std::vector<uint8_t> init, std::vector<cmaf::TrackConfig> tracks) = 0;
  virtual void on_part(cmaf::Part part) = 0;
  // The stream cannot be packaged (unsupported codec or caps); the output should fail.
  virtual void on_error(const std::string& message) = 0;
};

class CmafFeed {
 public:
  // `launch` is the expanded launch line; it must contain an appsink named "video" or "audio".
  static Result<std::unique_ptr<CmafFeed>> create(const std::string& stream_name, const std::string& launch,
                                                  cmaf::FragmenterSettings settings,
                                                  std::shared_ptr<CmafPartSink> sink);
  ~CmafFeed();
  ManagedPipeline& pipeline() { return *pipeline_; }

  struct State;  // shared by the appsink callbacks (defined in the .cpp)

 private:
  CmafFeed() = default;
  std::unique_ptr<ManagedPipeline> pipeline_;
};

// The track configuration of negotiated caps (H.264 avc, H.265 hvc1, AV1 obu-stream, raw AAC, Opus), or an
// error. An AV1 track's av1C may be empty here: the feed then takes it from the first sequence header.
Result<cmaf::TrackConfig> cmaf_track_from_caps(const GstCaps* caps);

}  // namespace estuary::pipelines
