// Owns: TsDemux, our MPEG-TS PES demuxer for ingest. Fed 188-byte packets (those TsGuard accepted, but
// it checks what it relies on itself), it reassembles the PES of each elementary PID it was given
// (the PMT's tracks), reads their PTS/DTS (33-bit, unwrapped into one monotonic 64-bit 90 kHz time
// shared by all tracks) and emits one unit per PES — per Opus access unit for Opus, whose PES carry
// the opus_control_header framing (ETSI TS 102 366 annex: prefix 0x3ff, trim flags, size bytes).
// Continuity-counter gaps drop the PES being assembled and mark the next unit of that track DISCONT;
// a PES is only started at a packet with payload_unit_start; a PES over its track's size limit is
// dropped. Memory is bounded: at most kMaxTracks tracks, each holding at most its PES limit.
// Sans-IO and single-threaded. Must not know: GStreamer, sockets, the server, which protocol.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace estuary::pipelines {

enum class TsCodec { h264, h265, aac_adts, aac_latm, mpeg_audio, opus };

// The stream type of a PMT entry as one of ours; false for types we do not publish (0x06 counts as
// Opus only when the caller saw its "Opus" registration descriptor).
bool ts_codec_of(int stream_type, bool opus_registered, TsCodec* codec);
bool ts_codec_is_video(TsCodec codec);
const char* ts_codec_name(TsCodec codec);

struct TsDemuxTrack {
  int pid = 0;
  TsCodec codec = TsCodec::h264;
};

struct TsUnit {
  size_t track = 0;  // index in the tracks TsDemux was built with
  std::vector<uint8_t> data;
  // 90 kHz, unwrapped: the demuxer's first timestamp as read, each later one the value nearest the
  // previous that is congruent modulo 2^33 (so below 0 when a stream steps back before its first
  // timestamp; users take differences, never absolute values). dts is the PTS when the PES had none.
  int64_t pts = 0;
  int64_t dts = 0;
  bool discont = false;  // data was lost on this track before this unit
  // Opus: samples (48 kHz) to drop at the start / end of this access unit (its control header's trims).
  unsigned start_trim = 0, end_trim = 0;
};

struct TsDemuxLimits {
  size_t max_video_pes = 8u << 20;
  size_t max_audio_pes = 256u << 10;
};

struct TsDemuxStats {
  uint64_t units = 0;           // units emitted
  uint64_t cc_gaps = 0;         // continuity-counter gaps seen
  uint64_t pes_dropped = 0;     // PES dropped: broken by a gap, bad header, over the limit, short
  uint64_t oversize = 0;        // of those, over the size limit
  uint64_t opus_malformed = 0;  // Opus PES whose control-header framing was broken (rest dropped)
};

class TsDemux {
 public:
  static constexpr size_t kMaxTracks = 16;
  // Tracks past kMaxTracks, and duplicate PIDs, are ignored.
  explicit TsDemux(std::vector<TsDemuxTrack> tracks, TsDemuxLimits limits = {});

  // One 188-byte packet of any PID; the units it completes are appended to out.
  void packet(const uint8_t* pkt, std::vector<TsUnit>& out);
  const std::vector<TsDemuxTrack>& tracks() const { return tracks_; }
  const TsDemuxStats& stats() const { return stats_; }

 private:
  struct State {
    int cc = -1;
    bool in_pes = false;
    bool discont = false;
    size_t expected = 0;  // payload bytes announced by PES_packet_length; 0 = until the next start
    int64_t pts = -1, dts = -1;
    std::vector<uint8_t> data;
  };
  void start_pes(size_t index, const uint8_t* payload, size_t len, std::vector<TsUnit>& out);
  void append(size_t index, const uint8_t* payload, size_t len, std::vector<TsUnit>& out);
  void finish(size_t index, std::vector<TsUnit>& out);
  void drop(State& st);
  void emit_opus(size_t index, State& st, std::vector<TsUnit>& out);
  int64_t unwrap(uint64_t ts33);

  std::vector<TsDemuxTrack> tracks_;
  std::vector<State> states_;
  TsDemuxLimits limits_;
  TsDemuxStats stats_;
  bool have_last_ = false;
  int64_t last_ = 0;  // most recent unwrapped timestamp
};

// Samples (at 48 kHz) an Opus packet holds, from its TOC; 0 when it is too short to tell.
unsigned opus_packet_samples(const uint8_t* data, size_t len);

}  // namespace estuary::pipelines
