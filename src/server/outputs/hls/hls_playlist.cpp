// Owns: HlsPlaylist (see hls_playlist.h).
#include "server/outputs/hls/hls_playlist.h"

#include <gst/tag/tag.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace estuary::server {

HlsPlaylist::HlsPlaylist(std::string stream_name, int target_duration_s, int window)
    : stream_name_(std::move(stream_name)),
      target_duration_s_(target_duration_s),
      window_(size_t(window > 0 ? window : 1)) {}

std::string HlsPlaylist::segment_name(uint64_t sequence) const {
  return stream_name_ + "-" + std::to_string(sequence) + ".hls.ts";
}

std::vector<HlsSegment> HlsPlaylist::add(Ref<GBytes> data, double duration_s) {
  HlsSegment seg;
  seg.sequence = next_sequence_++;
  seg.duration_s = duration_s;
  seg.discontinuity = pending_discontinuity_;
  seg.name = segment_name(seg.sequence);
  seg.data = std::move(data);
  pending_discontinuity_ = discontinuity_after_current_;
  discontinuity_after_current_ = false;
  segments_.push_back(std::move(seg));
  std::vector<HlsSegment> removed;
  while (segments_.size() > window_) {
    removed.push_back(std::move(segments_.front()));
    segments_.pop_front();
    // EXT-X-DISCONTINUITY-SEQUENCE counts the discontinuity tags that slid out of the playlist.
    if (!segments_.empty() && segments_.front().discontinuity) {
      ++discontinuity_sequence_;
      segments_.front().discontinuity = false;
    }
  }
  return removed;
}

const HlsSegment* HlsPlaylist::find(const std::string& name) const {
  for (const auto& s : segments_)
    if (s.name == name) return &s;
  return nullptr;
}

AudioRendition audio_rendition_of(const std::string& code) {
  AudioRendition r;
  if (code.empty()) return r;
  const gchar* short_code = gst_tag_get_language_code_iso_639_1(code.c_str());
  const gchar* name = gst_tag_get_language_name(code.c_str());
  r.language = short_code ? short_code : code;
  r.name = name ? name : code;
  return r;
}

std::string variant_codecs(bool has_video, const std::string& video, const std::vector<std::string>& audio) {
  if (has_video && video.empty()) return "";
  std::vector<std::string> seen;
  std::string out = has_video ? video : "";
  for (const std::string& codec : audio) {
    if (codec.empty()) return "";
    if (std::find(seen.begin(), seen.end(), codec) != seen.end()) continue;
    seen.push_back(codec);
    out += (out.empty() ? "" : ",") + codec;
  }
  return out;
}

std::string render_audio_master(const std::vector<AudioRendition>& renditions, const std::string& media_uri,
                                uint64_t bandwidth, const std::string& codecs) {
  std::string out = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n";
  std::vector<std::string> names;
  for (size_t i = 0; i < renditions.size(); ++i) {
    const std::string track = "audio_" + std::to_string(i);
    const std::string& language = renditions[i].language;
    std::string name = !renditions[i].name.empty() ? renditions[i].name : language.empty() ? track : language;
    for (const std::string& used : names)
      if (used == name) name += " (" + track + ")";
    names.push_back(name);
    out += "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"" + name + "\"";
    if (!language.empty()) out += ",LANGUAGE=\"" + language + "\"";
    out += std::string(",DEFAULT=") + (i == 0 ? "YES" : "NO") + ",AUTOSELECT=YES";
    if (!renditions[i].uri.empty()) out += ",URI=\"" + renditions[i].uri + "\"";
    out += "\n";
  }
  out += "#EXT-X-STREAM-INF:BANDWIDTH=" + std::to_string(bandwidth ? bandwidth : 1000000);
  if (!codecs.empty()) out += ",CODECS=\"" + codecs + "\"";
  out += ",AUDIO=\"audio\"\n";
  out += media_uri + "\n";
  return out;
}

uint64_t peak_bandwidth(const HlsPlaylist& playlist) {
  uint64_t peak = 0;
  for (const HlsSegment& s : playlist.segments()) {
    if (s.duration_s <= 0 || !s.data) continue;
    peak = std::max(peak, uint64_t(double(g_bytes_get_size(s.data.get())) * 8 / s.duration_s));
  }
  return peak;
}

std::string HlsPlaylist::render(const std::string& segment_query) const {
  // The target duration may not shrink during a playlist's life; segments are cut at keyframes,
  // so a long GOP makes them longer than the configured target.
  int target = target_duration_s_;
  for (const auto& s : segments_) target = std::max(target, int(std::lround(s.duration_s)));
  std::string out = "#EXTM3U\n#EXT-X-VERSION:3\n";
  out += "#EXT-X-TARGETDURATION:" + std::to_string(target) + "\n";
  out +=
      "#EXT-X-MEDIA-SEQUENCE:" + std::to_string(segments_.empty() ? next_sequence_ : segments_.front().sequence) + "\n";
  out += "#EXT-X-DISCONTINUITY-SEQUENCE:" + std::to_string(discontinuity_sequence_) + "\n";
  char buf[64];
  for (const auto& s : segments_) {
    if (s.discontinuity) out += "#EXT-X-DISCONTINUITY\n";
    std::snprintf(buf, sizeof buf, "#EXTINF:%.3f,\n", s.duration_s);
    out += buf;
    out += s.name + (segment_query.empty() ? "" : "?" + segment_query) + "\n";
  }
  return out;
}

}  // namespace estuary::server
