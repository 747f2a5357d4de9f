// Owns: reading a recorded FLV file (what the DVR writes: H.264 and AAC tags after the file
// header) for the clip cutter (flv_clip.h) and the VOD remux (flv_ts_remux.h): the file
// memory-mapped, its decoder configuration found near the start, and its media tags walked as
// frames (every tag bounds-checked by read_flv_tag; a short tail, as a crash leaves it, ends the
// walk), and the appsrc -> parser branch both feed their muxer through. Enhanced-FLV video and
// codecs other than H.264/AAC are refused with a reason.
// Must not know: the recordings index, HTTP, what the frames are muxed into.
#pragma once

#include <gst/gst.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/gobject_ptr.h"
#include "common/result.h"

namespace estuary::pipelines {

// A memory-mapped FLV file; data() starts at the first tag.
class FlvMapping {
 public:
  static Result<FlvMapping> open(const std::string& path);
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  std::shared_ptr<GMappedFile> file_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Caps with codec_data for the tracks whose decoder configuration appears within the first
// scan_bytes of the file (absent tracks stay empty).
struct FlvTracks {
  Ref<GstCaps> video;  // video/x-h264, avc, au
  Ref<GstCaps> audio;  // audio/mpeg 4, raw
};
FlvTracks flv_tracks(const FlvMapping& file, size_t scan_bytes = 1u << 20);

// One coded frame. dts_ms is relative to the file's first media tag (never negative).
struct FlvFrame {
  bool video = false;
  int64_t dts_ms = 0;
  int32_t cts_ms = 0;  // video: composition time offset (PTS - DTS)
  bool key = false;    // audio frames are all keys
  const uint8_t* data = nullptr;
  size_t size = 0;
};

// Calls on_frame for each H.264/AAC frame in file order (decoder configuration tags skipped) until
// it returns false or an error; the first error ends the walk and is returned.
Status walk_flv_frames(const FlvMapping& file, const std::function<Result<bool>(const FlvFrame&)>& on_frame);

// appsrc (TIME, blocking beyond queued_bytes, caps) -> parser -> mux, added to pipeline; the
// appsrc is returned (the bin holds the elements), the parser through *parser_out when asked.
Result<Ref<GstElement>> add_flv_branch(GstElement* pipeline, GstElement* mux, const char* parser,
                                       const Ref<GstCaps>& caps, guint64 queued_bytes,
                                       GstElement** parser_out = nullptr);

}  // namespace estuary::pipelines
