// Owns: the CMAF track model (codec, timescale, configuration record) and writing the two kinds of
// CMAF bytes: the init segment (ftyp + moov with one trak and trex per track) and one fragment
// (moof with a traf per track that has samples + mdat), with tfdt, per-sample durations, sizes,
// sync flags and signed composition offsets (trun version 1).
// Must not know: GStreamer, cutting policy, playlists. Sans-IO.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace estuary::pipelines::cmaf {

enum class Codec { h264, h265, av1, aac, opus };

struct TrackConfig {
  Codec codec = Codec::h264;
  // avcC / hvcC / av1C record (H.264 / H.265 / AV1), AudioSpecificConfig (AAC), OpusHead or empty (Opus).
  std::vector<uint8_t> codec_private;
  int width = 0, height = 0;          // video
  int channels = 2, sample_rate = 0;  // audio
  bool is_video() const { return codec == Codec::h264 || codec == Codec::h265 || codec == Codec::av1; }
  // Media timescale: 90 kHz for video, the sample rate for audio (48 kHz for Opus).
  uint32_t timescale() const;
  // RFC 6381 codec string ("avc1.64001f", "hvc1.1.6.L93.B0", "av01.0.04M.08", "mp4a.40.2", "opus").
  std::string codec_string() const;
};

struct FragmentSample {
  uint32_t duration = 0;  // in the track's timescale
  int32_t cto = 0;        // pts - dts, in the track's timescale
  bool sync = false;
  std::shared_ptr<const std::vector<uint8_t>> data;
};

struct TrackRun {
  uint32_t track_id = 0;          // 1-based
  uint64_t base_decode_time = 0;  // tfdt, in the track's timescale
  std::vector<FragmentSample> samples;
};

// ftyp + moov. Errors (empty result): a track without the configuration record it needs.
std::vector<uint8_t> write_init_segment(const std::vector<TrackConfig>& tracks);
// moof + mdat of one fragment; runs without samples are left out.
std::vector<uint8_t> write_fragment(uint32_t sequence_number, const std::vector<TrackRun>& runs);

}  // namespace estuary::pipelines::cmaf
