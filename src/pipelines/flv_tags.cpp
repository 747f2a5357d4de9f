// Owns: FLV tag framing helpers (see flv_tags.h).
#include "pipelines/flv_tags.h"

#include <algorithm>

namespace estuary::pipelines {

bool read_flv_tag(const uint8_t* data, size_t size, size_t* pos, FlvTagView* out) {
  if (*pos > size || size - *pos < flv_tag_header_size + flv_prev_tag_size) return false;
  const uint8_t* h = data + *pos;
  const size_t body = (size_t(h[1]) << 16) | (size_t(h[2]) << 8) | h[3];
  const size_t total = flv_tag_header_size + body + flv_prev_tag_size;
  if (size - *pos < total) return false;
  out->type = h[0] & 0x1f;
  out->timestamp_ms = (uint32_t(h[7]) << 24) | (uint32_t(h[4]) << 16) | (uint32_t(h[5]) << 8) | h[6];
  out->body = h + flv_tag_header_size;
  out->body_size = body;
  out->tag = h;
  out->tag_size = total;
  *pos += total;
  return true;
}

bool parse_flv_tags(const uint8_t* data, size_t size, std::vector<FlvTagView>& out) {
  size_t pos = 0;
  while (pos < size) {
    FlvTagView v;
    if (!read_flv_tag(data, size, &pos, &v)) return false;
    out.push_back(v);
  }
  return true;
}

bool flv_is_video_keyframe(const FlvTagView& tag) {
  if (tag.type != flv_video || tag.body_size < 2) return false;
  const bool key = (tag.body[0] >> 4) == 1;
  const bool legacy_avc_or_hevc = (tag.body[0] & 0x0f) == 7 || (tag.body[0] & 0x0f) == 12;
  if (legacy_avc_or_hevc) return key && tag.body[1] == 1;  // packet type 1 = coded frames
  return key;
}

bool flv_is_sequence_header(const FlvTagView& tag) {
  if (tag.body_size < 2) return false;
  if (tag.type == flv_video) return ((tag.body[0] & 0x0f) == 7 || (tag.body[0] & 0x0f) == 12) && tag.body[1] == 0;
  if (tag.type == flv_audio) return (tag.body[0] >> 4) == 10 && tag.body[1] == 0;
  return false;
}

std::vector<uint8_t> make_flv_file_header(bool has_audio, bool has_video) {
  uint8_t flags = static_cast<uint8_t>((has_audio ? 0x04 : 0) | (has_video ? 0x01 : 0));
  return {'F', 'L', 'V', 1, flags, 0, 0, 0, 9, 0, 0, 0, 0};
}

void append_flv_tag(std::vector<uint8_t>& out, uint8_t type, uint32_t ts, const uint8_t* body, size_t size) {
  append_flv_tag(out, type, ts, body, size, nullptr, 0);
}

void append_flv_tag(std::vector<uint8_t>& out, uint8_t type, uint32_t ts, const uint8_t* head, size_t head_size,
                    const uint8_t* data, size_t data_size) {
  const size_t size = head_size + data_size;
  const uint8_t header[flv_tag_header_size] = {type,
                                               uint8_t(size >> 16),
                                               uint8_t(size >> 8),
                                               uint8_t(size),
                                               uint8_t(ts >> 16),
                                               uint8_t(ts >> 8),
                                               uint8_t(ts),
                                               uint8_t(ts >> 24),
                                               0,
                                               0,
                                               0};
  const uint32_t prev = uint32_t(flv_tag_header_size + size);
  const uint8_t trailer[flv_prev_tag_size] = {uint8_t(prev >> 24), uint8_t(prev >> 16), uint8_t(prev >> 8),
                                              uint8_t(prev)};
  out.reserve(out.size() + flv_tag_header_size + size + flv_prev_tag_size);
  out.insert(out.end(), header, header + flv_tag_header_size);
  if (head_size) out.insert(out.end(), head, head + head_size);
  if (data_size) out.insert(out.end(), data, data + data_size);
  out.insert(out.end(), trailer, trailer + flv_prev_tag_size);
}

}  // namespace estuary::pipelines
