// Owns: the recordings on disk under the DVR root: the index (recording_index.h) kept up to date by
// the recorders (a file is indexed when it opens and again when it closes), a sidecar per
// recording (<root>/.index/<path>.json: stream, wall-clock start and end, format, codecs) so the
// index can be rebuilt from disk at start (on a worker thread), retention per app ([dvr] max_age_s, max_mb:
// oldest first, never an open file), and removal of one recording.
// Must not know: HTTP, the API's JSON. Control thread only (the rebuild scans off it and posts back).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "common/result.h"
#include "server/outputs/dvr/recording_index.h"

namespace estuary::server {

// The fixed directory a DVR path template writes under: the part before its first "[", cut at the
// last "/" ("./dvr/[app]/[stream].[timestamp]" -> "./dvr"; "[app]/x" -> ".").
std::string dvr_root_of(const std::string& path_template);

// How long an app's recordings are kept: older than max_age_ms, or beyond max_bytes in total, go
// (0 = no limit).
struct RetentionLimits {
  int64_t max_age_ms = 0;
  uint64_t max_bytes = 0;
};

class DvrCatalog {
 public:
  static DvrCatalog& instance();

  // Sets the root and the retention limits (each app separately: `per_app` where an app has its
  // own, `limits` for the others). A new root forgets the index and rebuilds it from disk.
  void configure(const std::string& root, RetentionLimits limits, std::map<std::string, RetentionLimits> per_app = {});
  const std::string& root() const { return root_; }
  const RecordingIndex& index() const { return index_; }
  bool ready() const { return ready_; }  // the first scan of the root has been indexed

  // Scans root for recordings on a worker thread and indexes them on this one; done(count) after.
  void rebuild(std::function<void(size_t)> done = {});

  // The recorder's events. `absolute_path` must be under the root (others are not indexed).
  void opened(const std::string& absolute_path, const std::string& stream, const std::string& format,
              const std::string& codecs, int64_t start_ms);
  void closed(const std::string& absolute_path, int64_t end_ms, double duration_s, uint64_t size);
  // The file's final size, once its muxer has drained (after closed()).
  void resized(const std::string& absolute_path, uint64_t size);

  // Deletes a closed recording (file and sidecar). invalid: not a safe relative path; not_found;
  // conflict: being written.
  Status remove(const std::string& relative_path);
  // Applies retention to the app of `stream` ("app/name") now; returns the files removed.
  size_t apply_retention(const std::string& app, int64_t now_ms);
  // root + "/" + relative_path; "" unless safe_relative_path(relative_path).
  std::string absolute(const std::string& relative_path) const;

 private:
  std::string relative(const std::string& absolute_path) const;  // "" when not under the root

  std::string root_;
  RetentionLimits limits_;
  std::map<std::string, RetentionLimits> per_app_;
  RecordingIndex index_;
  bool ready_ = false;
  uint64_t generation_ = 0;  // a scan of an older root is dropped
};

// Writes r's sidecar under root (what scan_recordings reads back). false (logged) on failure.
bool write_recording_sidecar(const std::string& root, const Recording& r);

// Reads the recordings under root (media files .flv/.ts/.mp4 with their sidecars; a file without
// one is indexed from its path and times). Blocking: run it off the control thread.
std::vector<Recording> scan_recordings(const std::string& root);

}  // namespace estuary::server
