// Owns: the HLS VOD playlist over recorded files: one MPEG-TS segment per file (#EXTINF its
// duration), #EXT-X-PROGRAM-DATE-TIME on every segment, and #EXT-X-DISCONTINUITY where the
// timeline breaks. MPEG-TS recordings are their own segments; FLV recordings are named by a URI
// that answers their MPEG-TS remux; other formats (MP4) are left out, their time counted as a gap. A stretch where
// nothing was recorded (between two files, more than gap_tolerance_ms) is marked with a discontinuity and the jump of
// the program date-time. The fMP4 playlist (vod_playlist_fmp4) does the same over fragmented MP4
// recordings: per file an #EXT-X-MAP of its init section and one byte-range segment of all its
// fragments, from the layouts the caller read (mp4_layout_read.h). One container per playlist
// (vod_container() picks it). Must not know: HTTP, the disk. Pure text.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/mp4_box_scan.h"
#include "server/outputs/dvr/recording_index.h"

namespace estuary::server {

struct VodPlaylist {
  std::string text;
  size_t segments = 0;
  size_t gaps = 0;     // unrecorded stretches marked
  size_t skipped = 0;  // closed recordings of a format the playlist cannot carry
};

// recordings: one stream's, by start time (open ones and formats other than "ts" and "flv" are left
// out). A TS file's URI is files_prefix + its path ("files/" + "live/cam-1.ts"), an FLV file's
// remux_prefix + its path + ".ts" ("segments/" + "live/cam-1.flv" + ".ts"; FLV is left out when
// remux_prefix is empty). Every file is its own encoder
// session on disk (its timestamps start anew), so each one after the first begins with a
// discontinuity; gaps is how many of those stand for time nothing was recorded.
VodPlaylist vod_playlist(const std::vector<Recording>& recordings, const std::string& files_prefix,
                         const std::string& remux_prefix = "", int64_t gap_tolerance_ms = 1500);

// The container a playlist over these recordings carries: "mp4" when closed MP4 recordings make
// more of the recorded time than closed FLV and TS ones together, else "ts" (FLV remuxed and TS).
// The other kind is left out of the playlist ("# not playable here") and its time is a gap.
std::string vod_container(const std::vector<Recording>& recordings);

// fMP4 HLS (version 7) over the closed MP4 recordings that have a layout in `layouts` (by path):
// per file #EXT-X-MAP:URI=files_prefix+path,BYTERANGE="init_end@0", then one segment, the same URI
// with #EXT-X-BYTERANGE over its fragments, #EXTINF the file's duration. Every other recording (other
// formats, open, MP4 without a layout: `why_not` says why, by path) is left out and its time is a gap.
VodPlaylist vod_playlist_fmp4(const std::vector<Recording>& recordings, const std::map<std::string, Mp4Layout>& layouts,
                              const std::string& files_prefix, const std::map<std::string, std::string>& why_not = {},
                              int64_t gap_tolerance_ms = 1500);

// "2026-12-07T00:04:00.250Z" for a wall-clock time in ms.
std::string iso8601_ms(int64_t wall_ms);

}  // namespace estuary::server
