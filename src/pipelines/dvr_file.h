// Owns: writing one DVR file: runs the "dvr" pipeline from pipelines.d (bus source and parsers,
// ending in elements named "video" and "audio") with a muxer for the format and an unbuffered
// filesink appended, so every byte muxed is in the file at once (crash-safe: FLV and MPEG-TS are
// streamable, MP4 is written fragmented with a moof every second). Tracks the media duration.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "common/gobject_ptr.h"
#include "common/result.h"
#include "pipelines/managed_pipeline.h"

namespace estuary::pipelines {

enum class DvrFormat { flv, ts, mp4 };
DvrFormat dvr_format_from_name(const std::string& name);  // "flv" | "ts" | "mp4"
const char* dvr_format_extension(DvrFormat f);            // ".flv" ...

class DvrFile {
 public:
  static Result<std::unique_ptr<DvrFile>> create(const std::string& stream_name, const std::string& launch,
                                                 DvrFormat format, const std::string& path);
  ~DvrFile();
  ManagedPipeline& pipeline() { return *pipeline_; }
  const std::string& path() const { return path_; }
  // Media seconds written so far (last minus first video timestamp).
  double duration_s() const;
  // Ends the file: EOS through the muxer (the MP4 index is completed); on_eos follows.
  void finish();

  struct Times {
    std::atomic<int64_t> first_ns{-1};
    std::atomic<int64_t> last_ns{-1};
    std::atomic<bool> finished{false};  // set by finish(): later buffers are dropped
  };

 private:
  DvrFile() = default;
  std::unique_ptr<ManagedPipeline> pipeline_;
  std::string path_;
  std::shared_ptr<Times> times_;
  Ref<GstElement> mux_;
};

}  // namespace estuary::pipelines
