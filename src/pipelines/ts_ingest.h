// Owns: the ingest pipeline for MPEG-TS publishers (SRT). The bytes pass TsGuard (the validation gate:
// whole packets, CRC-checked PAT/PMT fixed for the ingest, well-formed PES headers with a PTS on the
// PMT's PIDs only) and our own PES demuxer (ts_demux.h); each elementary-stream unit is pushed with
// gst_pad_push from a source pad of ours, synchronously on the caller's thread, through the codec's
// parser (h264parse, h265parse, aacparse, mpegaudioparse, opusparse) into estuarysink — per track
// `[our pad] ! parser ! estuarysink`, no appsrc, no tsdemux, no queue, no streaming thread of its own.
// Bytes are held until the program's PMT says which tracks it carries (so the bus sink announces
// exactly those and the stream becomes ready with all of them), then the pipeline starts; the first
// units are held until every track has a timestamp (or a bound), so the earliest of them maps to the
// pipeline's running time at that moment. H.264, H.265, AAC (ADTS or LATM), MPEG audio and Opus
// tracks are published (up to 8 audio tracks: audio_0, audio_1, ...); other tracks are dropped.
// push() never blocks (estuarysink hands buffers to bounded subscriber queues).
// Must not know: sockets, the SRT session, the server.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "pipelines/managed_pipeline.h"
#include "pipelines/ts_demux.h"
#include "pipelines/ts_guard.h"
#include "pipelines/ts_track_probe.h"

namespace estuary::pipelines {

struct TsIngestSettings {
  uint64_t gop_cache_max_bytes = 32u << 20;
  size_t max_pending_bytes = 8u << 20;  // bound of what waits for the PMT and for the first timestamps
};

class TsIngest {
 public:
  TsIngest(std::string stream_name, TsIngestSettings settings);
  ~TsIngest();
  TsIngest(const TsIngest&) = delete;
  TsIngest& operator=(const TsIngest&) = delete;

  // Events of the ingest pipeline (ready message from the bus sink, errors). Set before push().
  void set_events(PipelineEvents events) { events_ = std::move(events); }
  // MPEG-TS bytes as received. Errors (the caller ends the publish): no PMT within max_pending_bytes,
  // no supported track, the pipeline cannot start, input the guard finds hopeless (mostly malformed
  // PES headers), or a parser refused a unit.
  Status push(const uint8_t* data, size_t size);
  void stop();
  bool started() const { return pipeline_ != nullptr; }
  const std::string& stream_name() const { return stream_name_; }
  const TsGuardStats& guard_stats() const { return guard_.stats(); }
  const TsDemuxStats& demux_stats() const;

 private:
  struct Track {
    TsCodec codec = TsCodec::h264;
    int opus_channel_config = -1;
    Ref<GstPad> pad;  // our source pad, linked to the parser
    bool caps_sent = false;
    bool have_last = false;
    int64_t last_dts = 0;  // of the track's previous unit (90 kHz, unwrapped)
    int64_t shift = 0;     // added to the track's times after a jump
  };
  Status start_pipeline();
  Status link_track(GstElement* pipeline, GstElement* sink, Track& track, const std::string& sink_pad,
                    const std::string& language);
  Status process(const uint8_t* data, size_t size);
  Status deliver(TsUnit& unit);
  bool origin_ready() const;
  void log_guard();

  std::string stream_name_;
  TsIngestSettings settings_;
  PipelineEvents events_;
  TsTrackProbe probe_;
  TsGuard guard_;
  std::unique_ptr<TsDemux> demux_;
  std::vector<uint8_t> pending_;  // bytes before the PMT
  std::vector<uint8_t> clean_;    // packets the guard accepted, of one push
  std::vector<TsUnit> units_;     // units of one push
  std::vector<TsUnit> held_;      // units before the time origin is known
  size_t held_bytes_ = 0;
  std::vector<Track> tracks_;  // index = the demuxer's track index
  std::unique_ptr<ManagedPipeline> pipeline_;
  bool have_origin_ = false;
  int64_t origin_ = 0;   // 90 kHz time that maps to base_ns_
  int64_t base_ns_ = 0;  // running time of the pipeline when the origin was fixed
  uint64_t rejections_logged_ = 0;
  uint64_t gaps_logged_ = 0;
  bool stopped_ = false;
};

}  // namespace estuary::pipelines
