// Owns: cutting a clip out of FLV recordings into one MP4 without re-encoding. GStreamer 1.22's
// splitmuxsrc cannot read FLV, so the files are read here: a worker thread walks their tags (each
// file memory-mapped, every tag bounds-checked), turns H.264 and AAC tags into timestamped buffers on
// the files' joined timeline, keeps what lies between the first keyframe at or after the start and
// the stop (re-timed to begin at zero) and pushes it through appsrc, h264parse/aacparse and mp4mux
// (faststart) into a file. The bus watch and `done` run on the thread that called start().
// Must not know: the recordings index or HTTP (the caller gives files, offsets and the range).
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/gobject_ptr.h"
#include "common/result.h"
#include "pipelines/dvr_clip.h"

namespace estuary::pipelines {

class FlvClip : public RecordingClip {
 public:
  struct Part {
    std::string path;        // absolute
    GstClockTime offset_ns;  // where the file starts on the joined timeline
  };
  // parts in time order; [start_ns, stop_ns) on their joined timeline. Refused when the first file
  // is not an FLV with H.264 and/or AAC decoder configuration near its start.
  static Result<std::unique_ptr<FlvClip>> create(std::vector<Part> parts, GstClockTime start_ns, GstClockTime stop_ns,
                                                 std::string out_path);
  ~FlvClip() override;
  FlvClip(const FlvClip&) = delete;
  FlvClip& operator=(const FlvClip&) = delete;

  Status start(std::function<void(Status)> done) override;

 private:
  FlvClip() = default;
  static gboolean on_bus(GstBus*, GstMessage* msg, gpointer self);
  void feed();  // worker thread
  Status feed_file(const Part& part);
  Status push(bool video, GstClockTime dts, GstClockTime pts, bool key, const uint8_t* data, size_t size);
  void finish(Status st);

  std::vector<Part> parts_;
  GstClockTime start_ns_ = 0, stop_ns_ = 0;
  std::string out_path_;
  Ref<GstElement> pipeline_;
  Ref<GstElement> video_src_, audio_src_;  // absent when the recording lacks the track
  SourceGuard bus_watch_;
  std::thread worker_;
  std::atomic<bool> stopping_{false};
  // Worker thread only.
  int64_t base_ns_ = -1;  // timeline position of the clip's first keyframe; -1 until seen
  bool reached_stop_ = false;
  GstClockTime timeline_end_ns_ = 0;  // past the latest tag read so far
  uint64_t pushed_ = 0;
  // Control thread only.
  bool finished_ = false;
  std::function<void(Status)> done_;
};

}  // namespace estuary::pipelines
