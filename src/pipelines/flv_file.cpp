// Owns: FlvMapping, flv_tracks, walk_flv_frames (see flv_file.h).
#include "pipelines/flv_file.h"

#include <algorithm>

#include "pipelines/flv_tags.h"

namespace estuary::pipelines {
namespace {

constexpr uint8_t kFlvCodecAvc = 7;
constexpr uint8_t kFlvSoundAac = 10;

bool is_avc_config(const FlvTagView& t) {
  return t.type == flv_video && t.body_size > 5 && (t.body[0] & 0x0f) == kFlvCodecAvc && t.body[1] == 0;
}
bool is_aac_config(const FlvTagView& t) {
  return t.type == flv_audio && t.body_size > 2 && (t.body[0] >> 4) == kFlvSoundAac && t.body[1] == 0;
}

Ref<GstCaps> caps_with_config(bool video, const uint8_t* config, size_t size) {
  GstBuffer* data = gst_buffer_new_memdup(config, size);
  GstCaps* caps = video ? gst_caps_new_simple("video/x-h264", "stream-format", G_TYPE_STRING, "avc", "alignment",
                                              G_TYPE_STRING, "au", "codec_data", GST_TYPE_BUFFER, data, nullptr)
                        : gst_caps_new_simple("audio/mpeg", "mpegversion", G_TYPE_INT, 4, "stream-format",
                                              G_TYPE_STRING, "raw", "codec_data", GST_TYPE_BUFFER, data, nullptr);
  gst_buffer_unref(data);
  return Ref<GstCaps>::adopt(caps);
}

}  // namespace

Result<FlvMapping> FlvMapping::open(const std::string& path) {
  GError* err = nullptr;
  GMappedFile* mapped = g_mapped_file_new(path.c_str(), FALSE, &err);
  if (!mapped) {
    std::string text = "cannot read " + path + ": " + (err ? err->message : "error");
    g_clear_error(&err);
    return Error{text, ErrorReason::internal, "dvr"};
  }
  FlvMapping m;
  m.file_.reset(mapped, g_mapped_file_unref);
  const auto* p = reinterpret_cast<const uint8_t*>(g_mapped_file_get_contents(mapped));
  const size_t size = g_mapped_file_get_length(mapped);
  if (size < 13 || p[0] != 'F' || p[1] != 'L' || p[2] != 'V')
    return Error{path + " is not an FLV file", ErrorReason::invalid, "dvr"};
  const size_t header = (size_t(p[5]) << 24) | (size_t(p[6]) << 16) | (size_t(p[7]) << 8) | p[8];
  if (header < 9 || header + 4 > size) return Error{path + ": bad FLV header", ErrorReason::invalid, "dvr"};
  m.data_ = p + header + 4;  // past PreviousTagSize0
  m.size_ = size - header - 4;
  return m;
}

FlvTracks flv_tracks(const FlvMapping& file, size_t scan_bytes) {
  FlvTracks t;
  size_t pos = 0;
  const size_t scan = std::min(file.size(), scan_bytes);
  FlvTagView tag;
  while ((!t.video || !t.audio) && read_flv_tag(file.data(), scan, &pos, &tag)) {
    if (!t.video && is_avc_config(tag)) t.video = caps_with_config(true, tag.body + 5, tag.body_size - 5);
    if (!t.audio && is_aac_config(tag)) t.audio = caps_with_config(false, tag.body + 2, tag.body_size - 2);
  }
  return t;
}

Status walk_flv_frames(const FlvMapping& file, const std::function<Result<bool>(const FlvFrame&)>& on_frame) {
  size_t pos = 0;
  FlvTagView tag;
  int64_t base_ms = -1;
  while (read_flv_tag(file.data(), file.size(), &pos, &tag)) {
    if (tag.type != flv_video && tag.type != flv_audio) continue;
    if (tag.body_size < 2) continue;
    if (base_ms < 0) base_ms = tag.timestamp_ms;
    FlvFrame f;
    f.dts_ms = std::max<int64_t>(0, int64_t(tag.timestamp_ms) - base_ms);
    if (tag.type == flv_video) {
      if (tag.body[0] & 0x80) return Error{"enhanced FLV video is not read yet", ErrorReason::unsupported, "dvr"};
      if ((tag.body[0] & 0x0f) != kFlvCodecAvc)
        return Error{"FLV recordings are read with H.264 only (codec id " + std::to_string(tag.body[0] & 0x0f) + ")",
                     ErrorReason::unsupported, "dvr"};
      if (tag.body[1] != 1 || tag.body_size <= 5) continue;  // decoder configuration or end of sequence
      int32_t cts = (int32_t(tag.body[2]) << 16) | (int32_t(tag.body[3]) << 8) | tag.body[4];
      if (cts & 0x800000) cts -= 0x1000000;  // SI24
      f.video = true;
      f.cts_ms = cts;
      f.key = (tag.body[0] >> 4) == 1;
      f.data = tag.body + 5;
      f.size = tag.body_size - 5;
    } else {
      if ((tag.body[0] >> 4) != kFlvSoundAac)
        return Error{
            "FLV recordings are read with AAC audio only (sound format " + std::to_string(tag.body[0] >> 4) + ")",
            ErrorReason::unsupported, "dvr"};
      if (tag.body[1] != 1) continue;  // AudioSpecificConfig
      f.key = true;
      f.data = tag.body + 2;
      f.size = tag.body_size - 2;
    }
    auto more = on_frame(f);
    if (!more) return more.error();
    if (!more.value()) break;
  }
  return ok_status();
}

Result<Ref<GstElement>> add_flv_branch(GstElement* pipeline, GstElement* mux, const char* parser,
                                       const Ref<GstCaps>& caps, guint64 queued_bytes, GstElement** parser_out) {
  GstElement* src = gst_element_factory_make("appsrc", nullptr);
  GstElement* parse = gst_element_factory_make(parser, nullptr);
  if (!src || !parse) {
    for (GstElement* e : {src, parse})
      if (e) gst_object_unref(gst_object_ref_sink(e));
    return Error{std::string("appsrc or ") + parser + " missing", ErrorReason::internal, "pipelines"};
  }
  g_object_set(src, "format", GST_FORMAT_TIME, "block", TRUE, "max-bytes", queued_bytes, "caps", caps.get(), nullptr);
  gst_bin_add_many(GST_BIN(pipeline), src, parse, nullptr);
  if (!gst_element_link(src, parse) || !gst_element_link(parse, mux))
    return Error{std::string("cannot link ") + parser + " to " + GST_ELEMENT_NAME(mux), ErrorReason::internal,
                 "pipelines"};
  if (parser_out) *parser_out = parse;
  return Ref<GstElement>::add_ref(src);
}

}  // namespace estuary::pipelines
