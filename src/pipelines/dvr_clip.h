// Owns: cutting a clip out of recorded files into one MP4 without re-encoding: splitmuxsrc reads the
// files as one timeline (format-location gives them in order), a seek sets where it ends, and the
// clip starts at the first keyframe at or after its start (probes drop what comes before and
// rebase the timestamps to zero); h264parse/aacparse feed mp4mux (faststart) into a file. Runs on
// GStreamer's threads; the bus watch and `done` run on the thread that called start().
// Works on MPEG-TS and MP4 recordings (splitmuxsrc cannot read FLV in GStreamer 1.22: FLV
// recordings are cut by FlvClip, flv_clip.h).
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/gobject_ptr.h"
#include "common/result.h"

namespace estuary::pipelines {

// A clip being cut into an MP4 file; what the recordings API holds while it waits.
class RecordingClip {
 public:
  virtual ~RecordingClip() = default;
  // Starts; done(ok status or the error) runs once, on this thread's main context, when the MP4 is
  // complete or failed. The object may be destroyed inside done.
  virtual Status start(std::function<void(Status)> done) = 0;
};

// The error a clip pipeline's ERROR message carries, naming the element.
Error clip_error(GstMessage* error_message);
// A worker thread's failure, posted on its pipeline's bus (an application message), and read back on
// the bus handler's thread: the error when the message is such a failure, nullopt otherwise.
void post_worker_failure(GstElement* pipeline, const Error& e);
std::optional<Error> worker_failure_of(GstMessage* msg);

class DvrClip : public RecordingClip {
 public:
  // files: absolute paths in time order; [start_ns, stop_ns) on the files' joined timeline.
  static Result<std::unique_ptr<DvrClip>> create(std::vector<std::string> files, GstClockTime start_ns,
                                                 GstClockTime stop_ns, std::string out_path);
  ~DvrClip() override;
  DvrClip(const DvrClip&) = delete;
  DvrClip& operator=(const DvrClip&) = delete;

  Status start(std::function<void(Status)> done) override;

 private:
  DvrClip() = default;
  static gboolean on_bus(GstBus*, GstMessage* msg, gpointer self);
  static void on_pad_added(GstElement*, GstPad* pad, gpointer self);
  static GStrv on_format_location(GstElement*, gpointer self);
  static GstPadProbeReturn trim(GstPad*, GstPadProbeInfo* info, gpointer self);

  // Shared by the streaming threads of the video and audio branches.
  struct Trim {
    std::atomic<bool> has_video{false};
    std::atomic<int64_t> base_ns{-1};  // PTS of the clip's first keyframe; -1 until it is seen
  };
  Trim trim_;
  void finish(Status st);

  std::vector<std::string> files_;
  GstClockTime start_ns_ = 0, stop_ns_ = 0;
  std::string out_path_;
  Ref<GstElement> pipeline_;
  Ref<GstElement> mux_;
  SourceGuard bus_watch_;
  bool seeked_ = false;
  bool finished_ = false;
  std::function<void(Status)> done_;
};

}  // namespace estuary::pipelines
