// Owns: vod_playlist() (see vod_playlist.h).
#include "server/outputs/dvr/vod_playlist.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace estuary::server {

std::string iso8601_ms(int64_t wall_ms) {
  const time_t secs = time_t(wall_ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[96];  // room for any int fields, so the compiler can prove no truncation
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, int(wall_ms % 1000));
  return buf;
}

namespace {

// What one recording is in the playlist: left out (with a reason), or a segment (its lines after
// the timing ones, and an optional #EXT-X-MAP before them).
struct Entry {
  bool play = false;
  std::string why_not;  // "mp4", "flv", "mp4: truncated moov at 24"
  std::string map;      // "#EXT-X-MAP:...\n" or ""
  std::string lines;    // "[#EXT-X-BYTERANGE:...\n]URI\n"
};

template <typename Fn>
VodPlaylist build(const std::vector<Recording>& recordings, int version, int64_t gap_tolerance_ms, Fn entry_of) {
  VodPlaylist out;
  std::string body;
  double longest = 1;
  int64_t prev_end = -1;
  for (const Recording& r : recordings) {
    if (r.open || r.duration_ms() <= 0) continue;
    const Entry e = entry_of(r);
    if (!e.play) {
      ++out.skipped;
      body += "# not playable here: " + r.path + " (" + e.why_not + ")\n";
      continue;
    }
    const double seconds = double(r.duration_ms()) / 1000.0;
    longest = std::max(longest, seconds);
    if (prev_end >= 0) {
      const int64_t hole = r.start_ms - prev_end;
      if (hole > gap_tolerance_ms) {
        ++out.gaps;
        body += "# nothing recorded for " + std::to_string(hole) + " ms\n";
      }
      body += "#EXT-X-DISCONTINUITY\n";
    }
    body += e.map;
    body += "#EXT-X-PROGRAM-DATE-TIME:" + iso8601_ms(r.start_ms) + "\n";
    char extinf[48];
    std::snprintf(extinf, sizeof extinf, "#EXTINF:%.3f,\n", seconds);
    body += extinf;
    body += e.lines;
    prev_end = r.end_ms;
    ++out.segments;
  }
  out.text = "#EXTM3U\n#EXT-X-VERSION:" + std::to_string(version) +
             "\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MEDIA-SEQUENCE:0\n"
             "#EXT-X-TARGETDURATION:" +
             std::to_string(int(std::ceil(longest))) + "\n" + (version >= 6 ? "#EXT-X-INDEPENDENT-SEGMENTS\n" : "") +
             body + "#EXT-X-ENDLIST\n";
  return out;
}

}  // namespace

VodPlaylist vod_playlist(const std::vector<Recording>& recordings, const std::string& files_prefix,
                         const std::string& remux_prefix, int64_t gap_tolerance_ms) {
  return build(recordings, 3, gap_tolerance_ms, [&](const Recording& r) {
    Entry e;
    const bool remuxed = r.format == "flv" && !remux_prefix.empty();
    e.play = r.format == "ts" || remuxed;
    e.why_not = r.format;
    e.lines = remuxed ? remux_prefix + r.path + ".ts\n" : files_prefix + r.path + "\n";
    return e;
  });
}

std::string vod_container(const std::vector<Recording>& recordings) {
  int64_t mp4_ms = 0, ts_ms = 0;
  for (const Recording& r : recordings) {
    if (r.open) continue;
    if (r.format == "mp4") mp4_ms += r.duration_ms();
    if (r.format == "ts" || r.format == "flv") ts_ms += r.duration_ms();
  }
  return mp4_ms > ts_ms ? "mp4" : "ts";
}

VodPlaylist vod_playlist_fmp4(const std::vector<Recording>& recordings, const std::map<std::string, Mp4Layout>& layouts,
                              const std::string& files_prefix, const std::map<std::string, std::string>& why_not,
                              int64_t gap_tolerance_ms) {
  return build(recordings, 7, gap_tolerance_ms, [&](const Recording& r) {
    Entry e;
    auto it = r.format == "mp4" ? layouts.find(r.path) : layouts.end();
    if (it == layouts.end()) {
      auto why = why_not.find(r.path);
      e.why_not = r.format + (why == why_not.end() ? "" : ": " + why->second);
      return e;
    }
    const Mp4Layout& l = it->second;
    const std::string uri = files_prefix + r.path;
    e.play = true;
    e.map = "#EXT-X-MAP:URI=\"" + uri + "\",BYTERANGE=\"" + std::to_string(l.init_end) + "@0\"\n";
    e.lines =
        "#EXT-X-BYTERANGE:" + std::to_string(l.media_bytes()) + "@" + std::to_string(l.media_first) + "\n" + uri + "\n";
    return e;
  });
}

}  // namespace estuary::server
