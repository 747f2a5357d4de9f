// Owns: TsTrackProbe, which finds the first program's tracks in an MPEG-TS byte stream (the PAT, then
// the PMT it names) before an ingest starts: the first H.264/H.265 video track and up to
// kMaxAudioTracks AAC (ADTS/LATM), MPEG audio or Opus tracks, with their PIDs, stream types, ISO 639
// languages and (Opus) channel configuration. Sans-IO. Must not know: GStreamer, sockets, the server.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pipelines/ts_demux.h"

namespace estuary::pipelines {

class TsTrackProbe {
 public:
  // Scans whole 188-byte packets (finding sync first); true once the PMT has been seen.
  bool feed(const uint8_t* data, size_t size);
  bool done() const { return done_; }
  // Codec of the first supported track of each kind: "h264", "h265" / "aac", "mp3", "opus"; "" = none.
  const std::string& video() const { return video_; }
  const std::string& audio() const { return audio_; }
  // The video track's PID and codec (when video() is not empty).
  int video_pid() const { return video_pid_; }
  TsCodec video_codec() const { return video_codec_; }
  // Every supported audio track in PMT order (at most kMaxAudioTracks): the bus's audio_0, audio_1, ...
  struct AudioTrack {
    int pid = 0;
    std::string codec;
    std::string language;  // from the ISO 639 language descriptor, "" when absent
    TsCodec ts_codec = TsCodec::aac_adts;
    int opus_channel_config = -1;  // Opus: the extension descriptor's channel_config_code, -1 when absent
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
  int video_pid_ = -1;
  TsCodec video_codec_ = TsCodec::h264;
  std::vector<AudioTrack> audio_tracks_;
  std::vector<int> ignored_;
};

}  // namespace estuary::pipelines
