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

VodPlaylist vod_playlist(const std::vector<Recording>& recordings, const std::string& files_prefix,
                         const std::string& remux_prefix, int64_t gap_tolerance_ms) {
  VodPlaylist out;
  std::string body;
  double longest = 1;
  int64_t prev_end = -1;
  for (const Recording& r : recordings) {
    if (r.open || r.duration_ms() <= 0) continue;
    const bool remuxed = r.format == "flv" && !remux_prefix.empty();
    if (r.format != "ts" && !remuxed) {
      ++out.skipped;
      body += "# not playable here: " + r.path + " (" + r.format + ")\n";
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
    body += "#EXT-X-PROGRAM-DATE-TIME:" + iso8601_ms(r.start_ms) + "\n";
    char extinf[48];
    std::snprintf(extinf, sizeof extinf, "#EXTINF:%.3f,\n", seconds);
    body += extinf;
    body += remuxed ? remux_prefix + r.path + ".ts\n" : files_prefix + r.path + "\n";
    prev_end = r.end_ms;
    ++out.segments;
  }
  out.text =
      "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MEDIA-SEQUENCE:0\n"
      "#EXT-X-TARGETDURATION:" +
      std::to_string(int(std::ceil(longest))) + "\n" + body + "#EXT-X-ENDLIST\n";
  return out;
}

}  // namespace estuary::server
