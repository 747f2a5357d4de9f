// Owns: FLV tag framing helpers shared by the FLV ingest (building tags from RTMP messages) and
// the FLV output (splitting flvmux output into tags). Pure functions, no GStreamer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace estuary::pipelines {

enum FlvTagType : uint8_t { flv_audio = 8, flv_video = 9, flv_script = 18 };

constexpr size_t flv_tag_header_size = 11;
constexpr size_t flv_prev_tag_size = 4;

struct FlvTagView {
  uint8_t type = 0;
  uint32_t timestamp_ms = 0;
  const uint8_t* body = nullptr;
  size_t body_size = 0;
  const uint8_t* tag = nullptr;  // start of the 11-byte header
  size_t tag_size = 0;           // header + body + PreviousTagSize
};

// Reads the tag at *pos (header, body, PreviousTagSize) and moves *pos past it; false, with *pos
// unchanged, when the bytes left do not hold a whole tag.
bool read_flv_tag(const uint8_t* data, size_t size, size_t* pos, FlvTagView* out);
// Splits concatenated tags (each followed by its PreviousTagSize). false on malformed input.
bool parse_flv_tags(const uint8_t* data, size_t size, std::vector<FlvTagView>& out);

// AVC/HEVC coded frame that is a keyframe (not a sequence header).
bool flv_is_video_keyframe(const FlvTagView& tag);
// AVC/AAC sequence header (decoder configuration).
bool flv_is_sequence_header(const FlvTagView& tag);

// 9-byte FLV file header + PreviousTagSize0.
std::vector<uint8_t> make_flv_file_header(bool has_audio, bool has_video);
// Appends one tag (header, body, PreviousTagSize).
void append_flv_tag(std::vector<uint8_t>& out, uint8_t type, uint32_t timestamp_ms, const uint8_t* body, size_t size);
// The same with the body given in two pieces (a frame's head bytes and the frame), copied once each.
void append_flv_tag(std::vector<uint8_t>& out, uint8_t type, uint32_t timestamp_ms, const uint8_t* head,
                    size_t head_size, const uint8_t* data, size_t data_size);

}  // namespace estuary::pipelines
