// Owns: the index of DVR recordings (stream, wall-clock start and end, size, format, codecs) and
// its queries: a time range of one stream by start time, paginated; every stream; the oldest
// closed files of an app (retention). Paths are relative to the DVR root and checked by
// safe_relative_path() before anything is built from them.
// Must not know: the disk (dvr_catalog.h scans and writes), HTTP, JSON. Control thread only.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace estuary::server {

struct Recording {
  std::string stream;    // "app/name"
  std::string path;      // relative to the DVR root: "live/cam-1765000000000.flv"
  int64_t start_ms = 0;  // wall clock of the file's first frame
  int64_t end_ms = 0;    // wall clock of its last frame (start_ms while unknown)
  uint64_t size = 0;
  std::string format;  // "flv", "ts", "mp4"
  std::string codecs;  // "h264,aac"
  bool open = false;   // being written
  int64_t duration_ms() const { return end_ms > start_ms ? end_ms - start_ms : 0; }
};

struct RecordingQuery {
  std::string stream;  // "app/name"; "" = every stream
  int64_t from_ms = std::numeric_limits<int64_t>::min();
  int64_t to_ms = std::numeric_limits<int64_t>::max();
  size_t start = 0;  // pagination over the matches, by start time
  size_t count = 100;
};

struct RecordingPage {
  std::vector<Recording> items;
  size_t total = 0;  // matches before pagination
};

class RecordingIndex {
 public:
  // Adds r, or replaces the recording with the same path.
  void put(Recording r);
  bool erase(const std::string& path);
  const Recording* find(const std::string& path) const;
  // Recordings that overlap [from_ms, to_ms], ordered by start time (then path).
  RecordingPage query(const RecordingQuery& q) const;
  // The recordings of the streams of `app` (open ones included), oldest first.
  std::vector<Recording> of_app(const std::string& app) const;
  size_t size() const { return by_path_.size(); }
  // The apps that have recordings ("live" for "live/cam").
  std::vector<std::string> apps() const;

 private:
  using Key = std::pair<int64_t, std::string>;  // (start_ms, path)
  struct Stream {
    std::map<Key, Recording> by_start;
    int64_t longest_ms = 0;  // lets a range query start at from - longest instead of the beginning
  };
  std::map<std::string, Stream> streams_;
  std::unordered_map<std::string, std::pair<std::string, int64_t>> by_path_;  // path -> (stream, start_ms)
};

// Which closed recordings of one app retention removes now: oldest first, those older than
// max_age_ms (0 = no limit) and then as many as needed to bring the app's total under max_bytes
// (0 = no limit). Open files are never chosen and count towards the total.
std::vector<std::string> retention_victims(const RecordingIndex& index, const std::string& app, int64_t now_ms,
                                           int64_t max_age_ms, uint64_t max_bytes, uint64_t open_bytes);

// True for a relative path of plain segments ([A-Za-z0-9._-], none "." or ".." or starting with
// '.'), at most 8 deep and 1024 bytes: the only paths the API turns into files under the root.
bool safe_relative_path(const std::string& path);

}  // namespace estuary::server
