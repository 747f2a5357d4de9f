// Owns: the ingest pipeline for MPEG-TS publishers (SRT): appsrc ! tsdemux ! parsers ! estuarysink.
// Bytes are held until the program's PMT says which tracks it carries (so the bus sink announces
// exactly those and the stream becomes ready with all of them), then the pipeline starts. H.264,
// H.265, AAC (ADTS or LATM), MPEG audio and Opus tracks are published; other tracks are dropped.
// push() runs on the control thread and never blocks (the appsrc is bounded and drops when full).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "pipelines/managed_pipeline.h"

namespace estuary::pipelines {

// Finds the first program's tracks in an MPEG-TS byte stream (PAT, then the PMT it names).
class TsTrackProbe {
 public:
  // Scans whole 188-byte packets (finding sync first); true once the PMT has been seen.
  bool feed(const uint8_t* data, size_t size);
  bool done() const { return done_; }
  // Codec of the first supported track of each kind: "h264", "h265" / "aac", "mp3", "opus"; "" = none.
  const std::string& video() const { return video_; }
  const std::string& audio() const { return audio_; }
  // Every supported audio track in PMT order (at most kMaxAudioTracks): the bus's audio_0, audio_1, ...
  struct AudioTrack {
    int pid = 0;
    std::string codec;
    std::string language;  // from the ISO 639 language descriptor, "" when absent
  };
  static constexpr size_t kMaxAudioTracks = 8;
  const std::vector<AudioTrack>& audio_tracks() const { return audio_tracks_; }
  // Stream types the PMT listed that are not published (for the log).
  const std::vector<int>& ignored() const { return ignored_; }

 private:
  void on_section(int pid, const uint8_t* s, size_t len);
  std::vector<uint8_t> partial_;  // bytes of a packet split across feeds
  int pmt_pid_ = -1;
  bool done_ = false;
  std::string video_, audio_;
  std::vector<AudioTrack> audio_tracks_;
  std::vector<int> ignored_;
};

struct TsIngestSettings {
  uint64_t gop_cache_max_bytes = 32u << 20;
  size_t max_pending_bytes = 8u << 20;  // bound of what waits for the PMT and of what the appsrc holds
};

class TsIngest {
 public:
  TsIngest(std::string stream_name, TsIngestSettings settings);
  ~TsIngest();
  TsIngest(const TsIngest&) = delete;
  TsIngest& operator=(const TsIngest&) = delete;

  // Events of the ingest pipeline (ready message from the bus sink, errors). Set before push().
  void set_events(PipelineEvents events) { events_ = std::move(events); }
  // MPEG-TS bytes as received. Errors: no PMT within max_pending_bytes, no supported track, or the
  // pipeline cannot start.
  Status push(const uint8_t* data, size_t size);
  void stop();
  bool started() const { return pipeline_ != nullptr; }
  const std::string& stream_name() const { return stream_name_; }
  // Bytes dropped because the appsrc was full (the pipeline did not keep up).
  uint64_t dropped_bytes() const { return dropped_bytes_; }

 private:
  Status start_pipeline();
  void push_bytes(const uint8_t* data, size_t size);

  std::string stream_name_;
  TsIngestSettings settings_;
  PipelineEvents events_;
  TsTrackProbe probe_;
  std::vector<uint8_t> pending_;
  std::unique_ptr<ManagedPipeline> pipeline_;
  Ref<GstElement> appsrc_;
  bool stopped_ = false;
  uint64_t dropped_bytes_ = 0;
};

}  // namespace estuary::pipelines
