// Owns: cutting samples into CMAF parts and segments (see cmaf_fragmenter.h).
#include "pipelines/cmaf_fragmenter.h"

#include <algorithm>

namespace estuary::pipelines::cmaf {
namespace {
// Slack for timestamp rounding when comparing against targets.
constexpr int64_t kSlackNs = 1'000'000;
// tfdt 0 lies this far before the first keyframe, so audio that starts a little earlier and
// B-frame decode times stay positive.
constexpr int64_t kOriginLeadNs = 10'000'000'000;
}  // namespace

Fragmenter::Fragmenter(std::vector<TrackConfig> tracks, FragmenterSettings settings)
    : tracks_(std::move(tracks)),
      settings_(settings),
      pending_(tracks_.size()),
      last_duration_ns_(tracks_.size(), 0),
      runs_(tracks_.size()) {
  for (size_t i = 0; i < tracks_.size(); ++i)
    if (tracks_[i].is_video()) {
      driving_ = i;
      break;
    }
  for (size_t i = 0; i < runs_.size(); ++i) runs_[i].track_id = uint32_t(i + 1);
}

uint64_t Fragmenter::to_timescale(size_t track, int64_t ns) const {
  const int64_t rel = std::max<int64_t>(0, ns - origin_ns_);
  // Rounded, not truncated: nanosecond timestamps of 30 fps (33333333 ns) still give 3000 ticks.
  const __int128 scaled = (__int128(rel) * tracks_[track].timescale() + 500'000'000) / 1'000'000'000;
  return uint64_t(scaled);
}

void Fragmenter::append(size_t track, const Sample& s, uint64_t next_ts) {
  TrackRun& run = runs_[track];
  const uint64_t ts = to_timescale(track, s.dts_ns);
  if (run.samples.empty()) run.base_decode_time = ts;
  FragmentSample f;
  f.duration = uint32_t(next_ts > ts ? next_ts - ts : 1);
  f.cto = int32_t(int64_t(to_timescale(track, s.pts_ns)) - int64_t(ts));
  f.sync = s.keyframe || !tracks_[track].is_video();
  f.data = s.data;
  run.samples.push_back(std::move(f));
}

Part Fragmenter::close_part(int64_t end_ns, bool last_in_segment) {
  Part p;
  p.segment = segment_;
  p.index = part_index_;
  p.start_ns = part_start_ns_;
  p.media_time_ns = part_start_ns_ - origin_ns_;
  p.duration_ns = std::max<int64_t>(0, end_ns - part_start_ns_);
  p.independent = part_independent_;
  p.last_in_segment = last_in_segment;
  p.bytes = write_fragment(++fragment_sequence_, runs_);
  for (auto& r : runs_) r.samples.clear();
  if (last_in_segment) {
    ++segment_;
    part_index_ = 0;
  } else {
    ++part_index_;
  }
  return p;
}

std::vector<Part> Fragmenter::push(size_t track, Sample sample) {
  std::vector<Part> out;
  if (track >= tracks_.size() || !sample.data) return out;
  const bool drives = track == driving_;
  const bool key = sample.keyframe || !tracks_[track].is_video();
  if (!started_) {
    // Everything waits for the driving track's first keyframe.
    if (!drives || !key) return out;
    started_ = true;
    origin_ns_ = sample.dts_ns - kOriginLeadNs;
    part_start_ns_ = segment_start_ns_ = sample.dts_ns;
    part_independent_ = true;
  }
  Pending& held = pending_[track];
  if (held.valid) {
    last_duration_ns_[track] = sample.dts_ns - held.sample.dts_ns;
    if (held.sample.dts_ns < origin_ns_ + kOriginLeadNs && !drives) {
      // Audio from before the first keyframe: not part of any segment.
    } else {
      append(track, held.sample, to_timescale(track, sample.dts_ns));
    }
  }
  if (drives && held.valid) {
    const int64_t frame = std::max<int64_t>(0, sample.dts_ns - held.sample.dts_ns);
    const bool segment_cut = key && sample.dts_ns - segment_start_ns_ >= settings_.segment_target_ns - kSlackNs;
    const bool part_cut = sample.dts_ns + frame - part_start_ns_ > settings_.part_target_ns + kSlackNs;
    if (segment_cut || part_cut) {
      out.push_back(close_part(sample.dts_ns, segment_cut));
      part_start_ns_ = sample.dts_ns;
      part_independent_ = key;
      if (segment_cut) segment_start_ns_ = sample.dts_ns;
    }
  }
  held.sample = std::move(sample);
  held.valid = true;
  return out;
}

std::vector<Part> Fragmenter::flush() {
  std::vector<Part> out;
  if (!started_) return out;
  int64_t end_ns = part_start_ns_;
  for (size_t t = 0; t < tracks_.size(); ++t) {
    Pending& held = pending_[t];
    if (!held.valid) continue;
    int64_t dur = held.sample.duration_ns > 0 ? held.sample.duration_ns : last_duration_ns_[t];
    if (dur <= 0) dur = 1'000'000;
    append(t, held.sample, to_timescale(t, held.sample.dts_ns + dur));
    if (t == driving_) end_ns = held.sample.dts_ns + dur;
    held.valid = false;
  }
  bool any = false;
  for (const auto& r : runs_) any = any || !r.samples.empty();
  if (any) out.push_back(close_part(end_ns, true));
  return out;
}

}  // namespace estuary::pipelines::cmaf
