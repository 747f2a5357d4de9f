// Owns: the CMAF media model of one stream key for HLS and DASH: init segments per publish
// (generation), the sliding window of segments and of the parts of the newest ones, the media
// sequence and discontinuity counts (both continue across publishes), the wall clock of media time
// (EXT-X-PROGRAM-DATE-TIME, DASH availabilityStartTime), and rendering as an fMP4 / LL-HLS media
// playlist (parts, preload hint, server control, delta playlists). Bytes are opaque here.
// Must not know: GStreamer, HTTP, sockets. Control thread only.
#pragma once

#include <glib.h>

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "common/gobject_ptr.h"

namespace estuary::server {

struct CmafWindowSettings {
  int target_duration_s = 2;
  double part_target_s = 0.2;
  double part_hold_back_s = 0;  // PART-HOLD-BACK; 0 = three parts, never under two (RFC 8216bis 4.4.3.8)
  size_t window = 5;            // complete segments kept and listed
  bool low_latency = true;      // parts, preload hints, blocking reload, delta playlists
};

struct CmafPartEntry {
  uint32_t index = 0;
  double duration_s = 0;
  bool independent = false;
  Ref<GBytes> data;
};

struct CmafSegmentEntry {
  uint64_t msn = 0;
  uint32_t generation = 0;
  bool discontinuity = false;
  bool complete = false;
  double duration_s = 0;
  int64_t media_time_ns = 0;  // of its first frame (tfdt 0 = 0, per generation)
  gint64 wall_us = 0;         // wall clock of its first frame
  std::vector<CmafPartEntry> parts;
  Ref<GBytes> data;  // whole segment, once complete
  size_t bytes = 0;
  std::vector<uint64_t> track_bytes;  // once complete: each track's bytes as served alone (track K at K-1)
};

// One track of a publish, for MPEG-DASH's separate adaptation sets: its codec and its own
// one-track init segment (its fragments are taken out of the muxed parts when served).
struct CmafTrack {
  bool video = false;
  std::string codec;  // RFC 6381
  int width = 0, height = 0;
  int sample_rate = 0, channels = 0;
  std::string language;  // audio: ISO 639 code from the stream bus, "" when unknown
  Ref<GBytes> init;
};

// Where a blocking request stands against the window.
enum class CmafAvailability { ready, wait, too_far };

class CmafWindow {
 public:
  CmafWindow(std::string stream_name, CmafWindowSettings settings);
  const CmafWindowSettings& settings() const { return settings_; }
  // A new publish: a new init segment generation; the next segment follows a discontinuity if
  // there were segments before.
  // `tracks` (video first) are what DASH serves separately.
  void set_init(Ref<GBytes> init, std::string codecs, int width, int height, std::vector<CmafTrack> tracks = {});
  // The media breaks now (a new upstream under the same publisher): the next segment to open
  // follows a discontinuity if there were segments before (the open one holds what came before).
  void mark_discontinuity() { pending_discontinuity_ = pending_discontinuity_ || !segments_.empty(); }
  // Adds a part (index 0 opens a segment); returns the segment it completed, or nullptr.
  const CmafSegmentEntry* add_part(uint32_t index, int64_t media_time_ns, int64_t duration_ns, bool independent,
                                   bool last_in_segment, Ref<GBytes> data, gint64 now_us);

  bool empty() const;  // no complete segment yet
  uint32_t generation() const { return generation_; }
  GBytes* init(uint32_t generation) const;
  // The tracks of a generation (empty if unknown).
  const std::vector<CmafTrack>& tracks(uint32_t generation) const;
  const CmafSegmentEntry* segment(uint64_t msn) const;  // complete segments only
  const CmafPartEntry* part(uint64_t msn, uint32_t index) const;
  const std::deque<CmafSegmentEntry>& segments() const { return segments_; }
  // The next part to be produced: (msn, index), as the preload hint names it.
  std::pair<uint64_t, uint32_t> next_part() const;
  // Whether segment msn (whole, part < 0) or part (msn, part) exists yet, is worth waiting for
  // (at most two segments ahead, RFC 8216bis 6.2.5.2), or is too far ahead.
  CmafAvailability availability(uint64_t msn, int64_t part) const;
  const std::string& codecs() const { return codecs_; }
  int width() const { return width_; }
  int height() const { return height_; }
  gint64 wall_origin_us() const { return wall_origin_us_; }  // wall clock of media time 0 (this generation)
  int target_duration() const;                               // EXT-X-TARGETDURATION
  int bandwidth() const;                                     // peak bits per second of a segment
  // Peak bits per second of one track (1-based) of the current publish's segments, as served alone
  // (DASH's per-track representations); 0 before a complete segment has it.
  int track_bandwidth(uint32_t track) const;
  double can_skip_until_s() const { return 6.0 * settings_.target_duration_s; }
  double part_hold_back_s() const {
    if (settings_.part_hold_back_s <= 0) return 3.0 * settings_.part_target_s;
    return settings_.part_hold_back_s < 2.0 * settings_.part_target_s ? 2.0 * settings_.part_target_s
                                                                      : settings_.part_hold_back_s;
  }

  // The media playlist; skip = a delta playlist (_HLS_skip=YES) when low latency. `reports` are
  // #EXT-X-RENDITION-REPORT lines of the other renditions of an ABR ladder (low latency only).
  // track (1-based, 0 = all muxed): the playlist of that track alone (its own init segment, and
  // segment and part names the server answers with the other tracks taken out).
  std::string render_hls(bool skip, const std::string& reports = "", uint32_t track = 0) const;
  // This window's #EXT-X-RENDITION-REPORT line for a sibling's playlist ("" before any part).
  std::string rendition_report(const std::string& uri) const;
  // For one track's playlist (track 1-based) of a publish with several audio tracks (whose master
  // lists each track's playlist): the #EXT-X-RENDITION-REPORT lines of the master's other
  // renditions, base + "track=video" / "track=audio_K", and base + "media=1" (the master's variant)
  // when there is no video track. base: "s.m3u8?" with the master's own query and "&". "" otherwise.
  std::string track_rendition_reports(const std::string& base, uint32_t track) const;
  std::string segment_name(uint64_t msn, uint32_t track = 0) const;
  std::string part_name(uint64_t msn, uint32_t index, uint32_t track = 0) const;
  std::string init_name(uint32_t generation) const;
  // One track's names (track 1-based): "s-t2-0-init.mp4", and the DASH template "s-t2-$Number$.m4s".
  std::string track_init_name(uint32_t generation, uint32_t track) const;
  std::string track_media_template(uint32_t track) const;

 private:
  std::string stream_name_;
  CmafWindowSettings settings_;
  std::map<uint32_t, Ref<GBytes>> inits_;
  std::map<uint32_t, std::vector<CmafTrack>> tracks_;
  uint32_t generation_ = 0;
  std::string codecs_;
  int width_ = 0, height_ = 0;
  gint64 wall_origin_us_ = -1;
  bool pending_discontinuity_ = false;
  uint64_t next_msn_ = 0;
  uint64_t discontinuity_sequence_ = 0;
  double max_duration_s_ = 0;
  std::deque<CmafSegmentEntry> segments_;  // complete ones, then the open one (if any)
  // Rendered playlists (full or delta, by track) until the window changes: every held request woken
  // by one part gets the same text, rendered once.
  mutable std::map<std::pair<bool, uint32_t>, std::string> rendered_;
  std::string render_uncached(bool skip, uint32_t track) const;
  void measure_tracks(CmafSegmentEntry& seg) const;  // sets seg.track_bytes (left empty if unknown)
  std::string stem(uint32_t track) const;            // "s", or "s-t2" for one track's names
};

// One track (1-based) of muxed CMAF fragments, renumbered as track 1 (DASH serves tracks apart);
// empty when the fragments do not have it, nullptr if the bytes are malformed (logged).
Ref<GBytes> cmaf_track_bytes(GBytes* muxed, uint32_t track);

// "2026-12-07T00:10:00.123Z"
std::string iso8601_utc(gint64 wall_us);

}  // namespace estuary::server
