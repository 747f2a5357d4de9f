// Owns: the libFuzzer target of our FLV tag framing (concatenated tags with PreviousTagSize) and the
// keyframe / sequence-header checks the FLV ingest makes on media from publishers.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "pipelines/flv_tags.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<estuary::pipelines::FlvTagView> tags;
  estuary::pipelines::parse_flv_tags(data, size, tags);
  for (const auto& t : tags) {
    if (t.tag < data || t.tag + t.tag_size > data + size) std::abort();
    if (t.body_size && (t.body < data || t.body + t.body_size > data + size)) std::abort();
    estuary::pipelines::flv_is_video_keyframe(t);
    estuary::pipelines::flv_is_sequence_header(t);
  }
  // A single tag body as the ingest sees it (an RTMP media message wrapped in a tag).
  for (uint8_t type : {estuary::pipelines::flv_video, estuary::pipelines::flv_audio}) {
    std::vector<uint8_t> one;
    estuary::pipelines::append_flv_tag(one, type, 0, data, size);
    std::vector<estuary::pipelines::FlvTagView> parsed;
    if (!estuary::pipelines::parse_flv_tags(one.data(), one.size(), parsed) || parsed.size() != 1) std::abort();
    estuary::pipelines::flv_is_video_keyframe(parsed[0]);
    estuary::pipelines::flv_is_sequence_header(parsed[0]);
  }
  return 0;
}
