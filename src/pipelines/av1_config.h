// Owns: what the ISO-BMFF binding of AV1 needs from a low-overhead OBU stream: walking the OBUs of a
// temporal unit (bounded; every OBU must carry its size), reading the sequence header OBU into an
// AV1CodecConfigurationRecord (av1C, with the sequence header as its configOBUs), the RFC 6381-style
// codec string of an av1C ("av01.P.LLT.DD"), and a temporal unit as an MP4 sample (temporal
// delimiters, padding and redundant frame headers left out).
// Must not know: GStreamer, boxes around av1C, fragments, playlists. Sans-IO.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace estuary::pipelines::av1 {

enum ObuType : uint8_t {
  sequence_header = 1,
  temporal_delimiter = 2,
  frame_header = 3,
  tile_group = 4,
  metadata = 5,
  frame = 6,
  redundant_frame_header = 7,
  tile_list = 8,
  padding = 15,
};

struct Obu {
  uint8_t type = 0;
  const uint8_t* begin = nullptr;  // first header byte
  size_t size = 0;                 // header, size field and payload
  const uint8_t* payload = nullptr;
  size_t payload_size = 0;
};

// The OBUs of `data`, or nullopt when one is malformed (forbidden bit, no size field, truncated) or
// there are more than `max_obus`.
std::optional<std::vector<Obu>> split_obus(const uint8_t* data, size_t size, size_t max_obus = 4096);

// The fields of a sequence header the av1C record and the codec string carry.
struct SequenceInfo {
  uint8_t profile = 0, level = 0, tier = 0, bit_depth = 8;
  bool monochrome = false, subsampling_x = true, subsampling_y = true;
  uint8_t chroma_sample_position = 0;
  uint32_t max_width = 0, max_height = 0;
};
// Parses the payload of a sequence header OBU; nullopt if truncated or invalid.
std::optional<SequenceInfo> parse_sequence_header(const uint8_t* payload, size_t size);

// av1C from the first sequence header OBU in `obus` (a temporal unit, or an av1C's configOBUs);
// empty if there is none or it does not parse.
std::vector<uint8_t> av1c_from_obus(const uint8_t* obus, size_t size);
// av1C rebuilt from an existing record's configOBUs (the E-RTMP / Matroska codec private), so the
// fields always match the sequence header; empty if it holds no usable sequence header.
std::vector<uint8_t> av1c_from_record(const std::vector<uint8_t>& av1c);
// "av01.0.04M.08" from an av1C; "" if it is too short or not version 1.
std::string av1_codec_string(const std::vector<uint8_t>& av1c);

// The temporal unit as an MP4 sample: its OBUs without temporal delimiters, padding and redundant
// frame headers; nullopt if the OBUs do not parse.
std::optional<std::vector<uint8_t>> mp4_sample(const uint8_t* data, size_t size);
// Whether the temporal unit carries a sequence header OBU.
bool has_sequence_header(const uint8_t* data, size_t size);

}  // namespace estuary::pipelines::av1
