// Owns: the libFuzzer target of our MPEG-TS demuxing as the SRT ingest runs it, minus GStreamer: the
// bytes (fed in input-chosen pieces) go to TsTrackProbe until it has the PMT, then through TsGuard
// into a TsDemux built from the probe's tracks; the same packets also reach a second TsDemux with
// fixed tracks (H.264 0x100, AAC 0x101, Opus 0x102) without the guard, so the demuxer's own checks
// are fuzzed on unvalidated packets. Invariants: units belong to a track, are not empty and stay
// within the PES limits, their times stay far from overflow; the demuxer's unit count matches what
// it emitted.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "pipelines/ts_demux.h"
#include "pipelines/ts_guard.h"
#include "pipelines/ts_track_probe.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

using estuary::pipelines::TsDemux;
using estuary::pipelines::TsDemuxLimits;
using estuary::pipelines::TsUnit;

void check(const TsDemux& demux, const std::vector<TsUnit>& units, const TsDemuxLimits& limits, uint64_t* seen) {
  for (const TsUnit& u : units) {
    if (u.track >= demux.tracks().size() || u.data.empty()) std::abort();
    const bool video = estuary::pipelines::ts_codec_is_video(demux.tracks()[u.track].codec);
    if (u.data.size() > (video ? limits.max_video_pes : limits.max_audio_pes)) std::abort();
    // Unwrapped times may go below 0 (a step back before the first timestamp) but each step moves at
    // most 2^32 ticks, so what a bounded input can reach stays far from overflowing the ns conversion.
    constexpr int64_t kFar = int64_t(1) << 52;
    if (u.pts > kFar || u.pts < -kFar || u.dts > kFar || u.dts < -kFar) std::abort();
  }
  *seen += units.size();
  if (demux.stats().units != *seen) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace estuary::pipelines;
  estuary::fuzz::FuzzInput in(data, size);
  const size_t piece = 1 + in.byte() * 8u;
  TsDemuxLimits limits;
  limits.max_video_pes = 64u << 10;
  limits.max_audio_pes = 8u << 10;
  TsDemux raw({{0x100, TsCodec::h264}, {0x101, TsCodec::aac_adts}, {0x102, TsCodec::opus}}, limits);
  TsTrackProbe probe;
  TsGuard guard;
  std::unique_ptr<TsDemux> demux;
  std::vector<uint8_t> pending, clean;
  std::vector<TsUnit> units;
  uint64_t seen = 0, seen_raw = 0;
  while (in.remaining() > 0) {
    const size_t n = std::min(piece, in.remaining());
    const uint8_t* p = in.rest();
    in.take(n);
    clean.clear();
    if (!demux) {
      pending.insert(pending.end(), p, p + n);
      if (!probe.feed(p, n)) continue;
      std::vector<TsDemuxTrack> tracks;
      if (!probe.video().empty()) tracks.push_back({probe.video_pid(), probe.video_codec()});
      for (const auto& a : probe.audio_tracks()) tracks.push_back({a.pid, a.ts_codec});
      demux = std::make_unique<TsDemux>(std::move(tracks), limits);
      guard.feed(pending.data(), pending.size(), clean);
    } else {
      guard.feed(p, n, clean);
    }
    for (size_t off = 0; off + 188 <= clean.size(); off += 188) {
      units.clear();
      demux->packet(clean.data() + off, units);
      check(*demux, units, limits, &seen);
      units.clear();
      raw.packet(clean.data() + off, units);
      check(raw, units, limits, &seen_raw);
    }
  }
  // Unvalidated: every 188-byte window of the input straight into the demuxer.
  for (size_t off = 0; off + 188 <= size; off += 188) {
    units.clear();
    std::vector<uint8_t> pkt(data + off, data + off + 188);
    pkt[0] = 0x47;
    raw.packet(pkt.data(), units);
    check(raw, units, limits, &seen_raw);
  }
  return 0;
}
