// Owns: the HLS media playlist model of one stream (and the master playlist of a stream with several
// audio tracks): the sliding window of segments, the media
// sequence and discontinuity sequence (both continue across publishes), and rendering as m3u8.
// Segment bytes are opaque here, so a later LL-HLS variant (fMP4 parts) can reuse the window logic.
// Control thread only.
#pragma once

#include <glib.h>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "common/gobject_ptr.h"

namespace estuary::server {

struct HlsSegment {
  uint64_t sequence = 0;
  double duration_s = 0;
  bool discontinuity = false;  // first segment after a restart of the stream
  std::string name;            // file name relative to the playlist ("t-12.hls.ts")
  Ref<GBytes> data;
};

class HlsPlaylist {
 public:
  HlsPlaylist(std::string stream_name, int target_duration_s, int window);
  // Adds a finished segment; returns those that left the window (to delete from disk).
  std::vector<HlsSegment> add(Ref<GBytes> data, double duration_s);
  // The next segment follows a restart of the stream (new timestamps, maybe new codec settings).
  void mark_discontinuity() { pending_discontinuity_ = !segments_.empty(); }
  // The media breaks now, inside the segment being made (it holds what came before): the segment
  // after it carries the tag.
  void mark_discontinuity_after_current() { discontinuity_after_current_ = true; }
  bool empty() const { return segments_.empty(); }
  int target_duration() const { return target_duration_s_; }
  const HlsSegment* find(const std::string& name) const;
  const std::deque<HlsSegment>& segments() const { return segments_; }
  // segment_query ("track=audio_1") is appended to each segment's URI: one track of the segments.
  std::string render(const std::string& segment_query = "") const;
  // Segment file name of a sequence number.
  std::string segment_name(uint64_t sequence) const;

 private:
  std::string stream_name_;
  int target_duration_s_;
  size_t window_;
  uint64_t next_sequence_ = 0;
  uint64_t discontinuity_sequence_ = 0;  // discontinuities that left the window
  bool pending_discontinuity_ = false;
  bool discontinuity_after_current_ = false;
  std::deque<HlsSegment> segments_;
};

// Master playlist of a stream whose segments carry several audio tracks (audio_0, audio_1, ...): one
// #EXT-X-MEDIA:TYPE=AUDIO rendition per track (LANGUAGE when known, NAME unique, DEFAULT on the
// first; URI: its audio-only media playlist, none when the track is muxed in the variant's segments),
// and the variant at media_uri referencing the group, with CODECS when `codecs` is not empty (see
// variant_codecs).
struct AudioRendition {
  std::string language;  // RFC 5646 tag ("en"), "" when unknown
  std::string name;      // shown by players ("English"); "" = the language, else audio_N
  std::string uri;       // the track's own media playlist; "" = in the variant's segments
};
// An audio track's rendition: its ISO 639 code as an RFC 5646 tag ("eng" -> "en") and its English
// name; both empty for "".
AudioRendition audio_rendition_of(const std::string& iso639);
std::string render_audio_master(const std::vector<AudioRendition>& renditions, const std::string& media_uri,
                                uint64_t bandwidth, const std::string& codecs = "");
// The CODECS of a variant whose renditions are its video (RFC 6381 string, "" = no video track) and
// the audio tracks (RFC 8216 4.3.4.2: every codec of every rendition the variant may be played
// with): the video's, then each distinct audio codec in track order ("avc1.64001f,mp4a.40.2,opus").
// "" when a track's codec is unknown (an incomplete CODECS would be wrong; none is allowed).
std::string variant_codecs(bool has_video, const std::string& video, const std::vector<std::string>& audio);
// Peak bits per second of the playlist's segments (for BANDWIDTH); 0 when it has none.
uint64_t peak_bandwidth(const HlsPlaylist& playlist);

}  // namespace estuary::server
