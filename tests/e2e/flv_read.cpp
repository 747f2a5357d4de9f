// Owns: reading FLV files back with our parser (see flv_read.h).
#include "flv_read.h"

#include <fstream>
#include <sstream>

#include "pipelines/flv_tags.h"

namespace estuary::e2e {

FlvRead read_flv_file(const std::string& path) {
  namespace p = estuary::pipelines;
  FlvRead out;
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string bytes = ss.str();
  if (bytes.size() < 13 || bytes.compare(0, 3, "FLV") != 0) return {"not an FLV file: " + path};
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t pos = 13;
  p::FlvTagView tag;
  unsigned nal_length = 0;
  bool have_config = false;
  while (p::read_flv_tag(data, bytes.size(), &pos, &tag)) {
    if (tag.type == p::flv_script) continue;
    auto unit = p::parse_flv_media(tag.type, tag.body, tag.body_size);
    if (!unit) return {unit.error().message};
    if (unit->kind == p::FlvMediaUnit::Kind::skip) continue;
    if (!unit->video) {
      out.audio = unit->codec;
      out.audio_enhanced = unit->enhanced;
      out.audio_frames += unit->kind == p::FlvMediaUnit::Kind::frame;
      continue;
    }
    out.video = unit->codec;
    out.video_enhanced = unit->enhanced;
    if (unit->kind == p::FlvMediaUnit::Kind::config) {
      nal_length = p::nal_length_size(unit->codec, unit->data, unit->size);
      have_config = true;
      continue;
    }
    if (!have_config) return {"a coded frame before the video sequence start"};
    if (nal_length && !p::check_length_prefixed(unit->data, unit->size, nal_length))
      return {"NAL units overrun a frame"};
    if (out.frames.empty()) out.first_frame_key = unit->keyframe;
    out.frames.emplace_back(reinterpret_cast<const char*>(unit->data), unit->size);
  }
  return out;
}

}  // namespace estuary::e2e
