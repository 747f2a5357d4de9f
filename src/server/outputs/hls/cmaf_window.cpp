// Owns: the CMAF window and its HLS rendering (see cmaf_window.h).
#include "server/outputs/hls/cmaf_window.h"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "common/log.h"
#include "pipelines/cmaf_track_split.h"

namespace estuary::server {
namespace {
// Parts are listed for the segments of the last this many target durations (RFC 8216bis: at least 3).
constexpr double kPartListTargets = 3.0;
// Parts' bytes are kept for this many newest segments; older segments keep only their whole bytes.
constexpr size_t kSegmentsWithParts = 4;
// The origin moves earlier only by more than this: not for every few microseconds of jitter.
constexpr gint64 kOriginSlackUs = 5000;

std::string fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}
}  // namespace

std::string iso8601_utc(gint64 wall_us) {
  const time_t secs = time_t(wall_us / G_USEC_PER_SEC);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, int((wall_us % G_USEC_PER_SEC) / 1000));
  return buf;
}

CmafWindow::CmafWindow(std::string stream_name, CmafWindowSettings settings)
    : stream_name_(std::move(stream_name)), settings_(settings) {}

void CmafWindow::set_init(Ref<GBytes> init, std::string codecs, int width, int height, std::vector<CmafTrack> tracks) {
  rendered_.clear();
  if (!inits_.empty()) ++generation_;
  inits_[generation_] = std::move(init);
  tracks_[generation_] = std::move(tracks);
  codecs_ = std::move(codecs);
  width_ = width;
  height_ = height;
  wall_origin_us_ = -1;
  // An unfinished segment of the previous publish can never complete: drop it (and its number, so
  // that the playlist's sequence numbers stay consecutive).
  if (!segments_.empty() && !segments_.back().complete) {
    next_msn_ = segments_.back().msn;
    segments_.pop_back();
  }
  pending_discontinuity_ = !segments_.empty();
}

const CmafSegmentEntry* CmafWindow::add_part(uint32_t index, int64_t media_time_ns, int64_t duration_ns,
                                             bool independent, bool last_in_segment, Ref<GBytes> data, gint64 now_us) {
  if (inits_.empty()) return nullptr;
  rendered_.clear();
  // Wall clock of media time 0: when a part is made, minus its end in media time. A part is never
  // made before its media was live, only after (encoding, muxing, the start's cached GOP), so the
  // earliest such origin is the truest: players place the live edge with it (availabilityStartTime,
  // program date-time), and one too late makes them think they are nearer the edge than they are.
  const gint64 origin_us = now_us - (media_time_ns + duration_ns) / 1000;
  if (wall_origin_us_ < 0) {
    wall_origin_us_ = origin_us;
  } else if (origin_us + kOriginSlackUs < wall_origin_us_) {
    const gint64 earlier_us = wall_origin_us_ - origin_us;
    for (auto& seg : segments_)
      if (seg.generation == generation_) seg.wall_us -= earlier_us;
    wall_origin_us_ = origin_us;
  }
  const bool open = !segments_.empty() && !segments_.back().complete;
  if (!open) {
    if (index != 0) return nullptr;  // a segment's first part went missing: wait for the next one
    CmafSegmentEntry s;
    s.msn = next_msn_++;
    s.generation = generation_;
    s.discontinuity = pending_discontinuity_;
    pending_discontinuity_ = false;
    s.media_time_ns = media_time_ns;
    s.wall_us = wall_origin_us_ + media_time_ns / 1000;
    segments_.push_back(std::move(s));
  }
  CmafSegmentEntry& seg = segments_.back();
  CmafPartEntry p;
  p.index = uint32_t(seg.parts.size());
  p.duration_s = double(duration_ns) / 1e9;
  p.independent = independent;
  seg.bytes += g_bytes_get_size(data.get());
  p.data = std::move(data);
  seg.duration_s += p.duration_s;
  seg.parts.push_back(std::move(p));
  if (!last_in_segment) return nullptr;

  // The segment is whole: its bytes are the parts' bytes in order.
  seg.complete = true;
  max_duration_s_ = std::max(max_duration_s_, seg.duration_s);
  GByteArray* all = g_byte_array_sized_new(guint(seg.bytes));
  for (const auto& part : seg.parts) {
    gsize n = 0;
    const guint8* d = static_cast<const guint8*>(g_bytes_get_data(part.data.get(), &n));
    g_byte_array_append(all, d, guint(n));
  }
  seg.data = Ref<GBytes>::adopt(g_byte_array_free_to_bytes(all));
  measure_tracks(seg);
  size_t complete = 0;
  for (const auto& s : segments_) complete += s.complete ? 1 : 0;
  while (complete > settings_.window) {
    if (segments_.front().discontinuity) ++discontinuity_sequence_;
    segments_.pop_front();
    --complete;
  }
  // Keep parts' bytes only where players may still ask for parts.
  if (segments_.size() > kSegmentsWithParts)
    for (size_t i = 0; i + kSegmentsWithParts < segments_.size(); ++i)
      for (auto& part : segments_[i].parts) part.data = Ref<GBytes>();
  // Inits no segment refers to any more.
  const uint32_t oldest = segments_.front().generation;
  while (!inits_.empty() && inits_.begin()->first < oldest) inits_.erase(inits_.begin());
  while (!tracks_.empty() && tracks_.begin()->first < oldest) tracks_.erase(tracks_.begin());
  return &segments_[segments_.size() - 1];
}

bool CmafWindow::empty() const { return segments_.empty() || !segments_.front().complete; }

GBytes* CmafWindow::init(uint32_t generation) const {
  auto it = inits_.find(generation);
  return it == inits_.end() ? nullptr : it->second.get();
}

const std::vector<CmafTrack>& CmafWindow::tracks(uint32_t generation) const {
  static const std::vector<CmafTrack> none;
  auto it = tracks_.find(generation);
  return it == tracks_.end() ? none : it->second;
}

const CmafSegmentEntry* CmafWindow::segment(uint64_t msn) const {
  for (const auto& s : segments_)
    if (s.msn == msn && s.complete) return &s;
  return nullptr;
}

const CmafPartEntry* CmafWindow::part(uint64_t msn, uint32_t index) const {
  for (const auto& s : segments_)
    if (s.msn == msn) return index < s.parts.size() && s.parts[index].data ? &s.parts[index] : nullptr;
  return nullptr;
}

std::pair<uint64_t, uint32_t> CmafWindow::next_part() const {
  if (segments_.empty()) return {next_msn_, 0};
  const auto& last = segments_.back();
  if (last.complete) return {last.msn + 1, 0};
  return {last.msn, uint32_t(last.parts.size())};
}

CmafAvailability CmafWindow::availability(uint64_t msn, int64_t part) const {
  const auto [next_msn, next_index] = next_part();
  const bool ready = part < 0 ? msn < next_msn : (msn < next_msn || (msn == next_msn && uint64_t(part) < next_index));
  if (ready) return CmafAvailability::ready;
  // The newest segment a playlist lists is the open one (LL-HLS) or the last complete one.
  const uint64_t last_listed = next_index > 0 ? next_msn : (next_msn == 0 ? 0 : next_msn - 1);
  if (msn > last_listed + 2) return CmafAvailability::too_far;
  // A part index far beyond what a segment can hold is not worth a wait either.
  const double per_segment = std::ceil(double(target_duration()) / settings_.part_target_s) * 4 + 8;
  if (part >= 0 && double(part) > per_segment) return CmafAvailability::too_far;
  return CmafAvailability::wait;
}

int CmafWindow::target_duration() const {
  return std::max(settings_.target_duration_s, int(std::lround(std::ceil(max_duration_s_ - 0.0005))));
}

int CmafWindow::bandwidth() const {
  double peak = 0;
  for (const auto& s : segments_)
    if (s.complete && s.duration_s > 0) peak = std::max(peak, double(s.bytes) * 8 / s.duration_s);
  return int(peak) + 1;
}

int CmafWindow::track_bandwidth(uint32_t track) const {
  double peak = 0;
  for (const auto& s : segments_)
    if (s.complete && s.generation == generation_ && s.duration_s > 0 && track >= 1 && track <= s.track_bytes.size())
      peak = std::max(peak, double(s.track_bytes[track - 1]) * 8 / s.duration_s);
  return peak > 0 ? int(peak) + 1 : 0;
}

void CmafWindow::measure_tracks(CmafSegmentEntry& seg) const {
  auto it = tracks_.find(seg.generation);
  if (it == tracks_.end() || it->second.empty()) return;
  std::vector<uint64_t> bytes(it->second.size(), 0);
  gsize n = 0;
  const auto* data = static_cast<const uint8_t*>(g_bytes_get_data(seg.data.get(), &n));
  std::string error;
  if (pipelines::cmaf::track_bytes(data, n, &bytes, &error)) seg.track_bytes = std::move(bytes);
}

std::string CmafWindow::stem(uint32_t track) const {
  return track ? stream_name_ + "-t" + std::to_string(track) : stream_name_;
}

std::string CmafWindow::segment_name(uint64_t msn, uint32_t track) const {
  return stem(track) + "-" + std::to_string(msn) + ".m4s";
}

std::string CmafWindow::part_name(uint64_t msn, uint32_t index, uint32_t track) const {
  return stem(track) + "-" + std::to_string(msn) + "." + std::to_string(index) + ".m4s";
}

std::string CmafWindow::init_name(uint32_t generation) const {
  return stream_name_ + "-" + std::to_string(generation) + "-init.mp4";
}

Ref<GBytes> cmaf_track_bytes(GBytes* muxed, uint32_t track) {
  gsize n = 0;
  const auto* data = static_cast<const uint8_t*>(g_bytes_get_data(muxed, &n));
  auto* out = new std::vector<uint8_t>();
  std::string error;
  if (!pipelines::cmaf::extract_track(data, n, track, out, &error)) {
    delete out;
    log_warn("", "", "cmaf-split", "track " + std::to_string(track) + ": " + error);
    return Ref<GBytes>();
  }
  return Ref<GBytes>::adopt(g_bytes_new_with_free_func(
      out->data(), out->size(), [](gpointer p) { delete static_cast<std::vector<uint8_t>*>(p); }, out));
}

std::string CmafWindow::track_init_name(uint32_t generation, uint32_t track) const {
  return stem(track) + "-" + std::to_string(generation) + "-init.mp4";
}

std::string CmafWindow::track_media_template(uint32_t track) const { return stem(track) + "-$Number$.m4s"; }

std::string CmafWindow::rendition_report(const std::string& uri) const {
  // The last part made: the one before the next.
  const auto [msn, index] = next_part();
  if (segments_.empty()) return "";
  const uint64_t last_msn = index > 0 ? msn : msn - 1;
  const CmafSegmentEntry* last = nullptr;
  for (const auto& s : segments_)
    if (s.msn == last_msn) last = &s;
  if (!last || last->parts.empty()) return "";
  return "#EXT-X-RENDITION-REPORT:URI=\"" + uri + "\",LAST-MSN=" + std::to_string(last_msn) +
         ",LAST-PART=" + std::to_string(last->parts.size() - 1) + "\n";
}

std::string CmafWindow::track_rendition_reports(const std::string& base, uint32_t track) const {
  const std::vector<CmafTrack>& all = tracks(generation_);
  size_t audio = 0;
  bool video = false;
  std::vector<std::string> others;
  for (size_t i = 0; i < all.size(); ++i) {
    const std::string name = all[i].video ? "video" : "audio_" + std::to_string(audio++);
    video = video || all[i].video;
    if (i + 1 != track) others.push_back(base + "track=" + name);
  }
  if (audio < 2 || track == 0 || track > all.size()) return "";
  if (!video) others.push_back(base + "media=1");
  std::string out;
  for (const std::string& uri : others) out += rendition_report(uri);
  return out;
}

std::string CmafWindow::render_hls(bool skip, const std::string& reports, uint32_t track) const {
  std::string& cached = rendered_[{skip, track}];
  if (cached.empty()) cached = render_uncached(skip, track);
  if (reports.empty() || !settings_.low_latency) return cached;
  return cached + reports;  // the reports close the playlist, after the preload hint
}

std::string CmafWindow::render_uncached(bool skip, uint32_t track) const {
  const bool ll = settings_.low_latency;
  std::string out = "#EXTM3U\n";
  out += ll ? "#EXT-X-VERSION:9\n" : "#EXT-X-VERSION:7\n";
  out += "#EXT-X-TARGETDURATION:" + std::to_string(target_duration()) + "\n";
  if (ll) {
    out += "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=" + fixed(part_hold_back_s(), 3) +
           ",CAN-SKIP-UNTIL=" + fixed(can_skip_until_s(), 1) + "\n";
    out += "#EXT-X-PART-INF:PART-TARGET=" + fixed(settings_.part_target_s, 3) + "\n";
  }
  const uint64_t first = segments_.empty() ? next_msn_ : segments_.front().msn;
  out += "#EXT-X-MEDIA-SEQUENCE:" + std::to_string(first) + "\n";
  if (discontinuity_sequence_ > 0)
    out += "#EXT-X-DISCONTINUITY-SEQUENCE:" + std::to_string(discontinuity_sequence_) + "\n";

  // Complete segments' total length behind each one, for skipping and for listing parts.
  std::vector<double> behind(segments_.size(), 0);
  double acc = 0;
  for (size_t i = segments_.size(); i-- > 0;) {
    behind[i] = acc;  // length of the segments after this one
    acc += segments_[i].duration_s;
  }
  size_t skipped = 0;
  if (ll && skip)
    while (skipped < segments_.size() && segments_[skipped].complete &&
           behind[skipped] >= can_skip_until_s() - 0.001)  // durations are sums of parts: allow rounding
      ++skipped;
  if (skipped > 0) out += "#EXT-X-SKIP:SKIPPED-SEGMENTS=" + std::to_string(skipped) + "\n";

  uint32_t map_generation = UINT32_MAX;
  for (size_t i = skipped; i < segments_.size(); ++i) {
    const auto& s = segments_[i];
    if (!s.complete && !ll) break;
    if (s.generation != map_generation) {
      if (s.discontinuity) out += "#EXT-X-DISCONTINUITY\n";
      out += "#EXT-X-MAP:URI=\"" + (track ? track_init_name(s.generation, track) : init_name(s.generation)) + "\"\n";
      map_generation = s.generation;
    } else if (s.discontinuity) {
      out += "#EXT-X-DISCONTINUITY\n";
    }
    out += "#EXT-X-PROGRAM-DATE-TIME:" + iso8601_utc(s.wall_us) + "\n";
    if (ll && (behind[i] < kPartListTargets * settings_.target_duration_s || !s.complete)) {
      for (const auto& p : s.parts) {
        if (!p.data) continue;
        out += "#EXT-X-PART:DURATION=" + fixed(p.duration_s, 5) + ",URI=\"" + part_name(s.msn, p.index, track) + "\"" +
               (p.independent ? ",INDEPENDENT=YES" : "") + "\n";
      }
    }
    if (s.complete) out += "#EXTINF:" + fixed(s.duration_s, 5) + ",\n" + segment_name(s.msn, track) + "\n";
  }
  if (ll) {
    const auto [msn, index] = next_part();
    out += "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"" + part_name(msn, index, track) + "\"\n";
  }
  return out;
}

}  // namespace estuary::server
