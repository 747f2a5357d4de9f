// Owns: remuxing one FLV recording into MPEG-TS in memory without re-encoding, for HLS VOD over
// FLV recordings (splitmuxsrc cannot read FLV in GStreamer 1.22, and a TS segment is what every
// HLS player reads). A worker thread walks the file's frames (flv_file.h: memory-mapped, every tag
// bounds-checked), starting at its first video keyframe, and pushes them through appsrc,
// h264parse (SPS/PPS before every IDR) / aacparse and mpegtsmux into an appsink that collects the
// bytes, at most max_bytes of them. Timestamps are base_ns plus the frame's offset in the file, so a
// caller that gives each file its wall-clock start gets segments whose PTS follow the recording's
// wall clock. The bus watch and `done` run on the thread that called start(); nothing here blocks it.
// A remux that has not finished after kRemuxTimeoutS (a track announced but never fed leaves the
// muxer waiting) ends with an error.
// Must not know: the recordings index, HTTP, how many remuxes run at once.
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/gobject_ptr.h"
#include "common/result.h"
#include "pipelines/flv_file.h"

namespace estuary::pipelines {

constexpr guint kRemuxTimeoutS = 120;

class FlvTsRemux {
 public:
  using Done = std::function<void(Result<Ref<GBytes>>)>;
  // path: an FLV recording with H.264 and/or AAC decoder configuration near its start (refused
  // otherwise); base_ns: the timestamp its first frame gets; max_bytes: the most TS it may make.
  static Result<std::unique_ptr<FlvTsRemux>> create(std::string path, GstClockTime base_ns, size_t max_bytes);
  ~FlvTsRemux();
  FlvTsRemux(const FlvTsRemux&) = delete;
  FlvTsRemux& operator=(const FlvTsRemux&) = delete;

  // Starts; done(the MPEG-TS bytes or the error) runs once, on this thread's main context. The
  // object may be destroyed inside done.
  Status start(Done done);

 private:
  FlvTsRemux() = default;
  static gboolean on_bus(GstBus*, GstMessage* msg, gpointer self);
  static GstFlowReturn on_sample(GstElement* sink, gpointer self);
  static gboolean on_timeout(gpointer self);
  void feed();  // worker thread
  Status push(const FlvFrame& f);
  void fail_from_thread(const Error& e);
  void finish(Result<Ref<GBytes>> result);

  std::string path_;
  FlvMapping file_;
  GstClockTime base_ns_ = 0;
  size_t max_bytes_ = 0;
  Ref<GstElement> pipeline_;
  Ref<GstElement> video_src_, audio_src_;  // absent when the recording lacks the track
  SourceGuard bus_watch_;
  SourceGuard timeout_;
  std::thread worker_;
  std::atomic<bool> stopping_{false};
  // Worker thread only.
  bool started_ = false;  // the first video keyframe (or, without video, the first frame) was pushed
  // Streaming thread of the appsink; read on the control thread after EOS.
  std::mutex out_mutex_;
  GByteArray* out_ = nullptr;
  bool overflow_ = false;
  // Control thread only.
  bool finished_ = false;
  Done done_;
};

}  // namespace estuary::pipelines
