// Owns: FlvClip (see flv_clip.h).
#include "pipelines/flv_clip.h"

#include <gst/app/gstappsrc.h>

#include <utility>

#include "pipelines/flv_tags.h"

namespace estuary::pipelines {
namespace {

constexpr size_t kConfigScanBytes = 1u << 20;  // decoder configuration is looked for this far into the first file
constexpr guint64 kQueuedBytes = 4u << 20;     // per track, between the reader and the muxer
constexpr const char* kFailedMessage = "estuary-flv-clip-failed";
constexpr uint8_t kFlvCodecAvc = 7;
constexpr uint8_t kFlvSoundAac = 10;
constexpr GstClockTime kFrameGapNs = 20 * GST_MSECOND;  // between one file's last tag and the next file's first

// A memory-mapped FLV file; data() starts at the first tag.
class FlvMapping {
 public:
  static Result<FlvMapping> open(const std::string& path) {
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
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  std::shared_ptr<GMappedFile> file_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

bool is_avc_config(const FlvTagView& t) {
  return t.type == flv_video && t.body_size > 5 && (t.body[0] & 0x0f) == kFlvCodecAvc && t.body[1] == 0;
}
bool is_aac_config(const FlvTagView& t) {
  return t.type == flv_audio && t.body_size > 2 && (t.body[0] >> 4) == kFlvSoundAac && t.body[1] == 0;
}

Ref<GstCaps> caps_with_config(const char* media, const uint8_t* config, size_t size) {
  GstBuffer* data = gst_buffer_new_memdup(config, size);
  GstCaps* caps = g_str_equal(media, "video")
                      ? gst_caps_new_simple("video/x-h264", "stream-format", G_TYPE_STRING, "avc", "alignment",
                                            G_TYPE_STRING, "au", "codec_data", GST_TYPE_BUFFER, data, nullptr)
                      : gst_caps_new_simple("audio/mpeg", "mpegversion", G_TYPE_INT, 4, "stream-format", G_TYPE_STRING,
                                            "raw", "codec_data", GST_TYPE_BUFFER, data, nullptr);
  gst_buffer_unref(data);
  return Ref<GstCaps>::adopt(caps);
}

// appsrc -> parser -> mux; the appsrc is returned (the bin holds the elements).
Result<Ref<GstElement>> add_branch(GstElement* pipeline, GstElement* mux, const char* parser, Ref<GstCaps> caps) {
  GstElement* src = gst_element_factory_make("appsrc", nullptr);
  GstElement* parse = gst_element_factory_make(parser, nullptr);
  if (!src || !parse) {
    for (GstElement* e : {src, parse})
      if (e) gst_object_unref(gst_object_ref_sink(e));
    return Error{std::string("appsrc or ") + parser + " missing", ErrorReason::internal, "pipelines"};
  }
  g_object_set(src, "format", GST_FORMAT_TIME, "block", TRUE, "max-bytes", kQueuedBytes, "caps", caps.get(), nullptr);
  gst_bin_add_many(GST_BIN(pipeline), src, parse, nullptr);
  if (!gst_element_link(src, parse) || !gst_element_link(parse, mux))
    return Error{std::string("cannot link ") + parser + " to mp4mux", ErrorReason::internal, "pipelines"};
  return Ref<GstElement>::add_ref(src);
}

}  // namespace

Result<std::unique_ptr<FlvClip>> FlvClip::create(std::vector<Part> parts, GstClockTime start_ns, GstClockTime stop_ns,
                                                 std::string out_path) {
  if (parts.empty() || stop_ns <= start_ns) return Error{"empty clip", ErrorReason::invalid, "dvr"};
  // The tracks and their decoder configuration, from the first file's first tags.
  auto first = FlvMapping::open(parts.front().path);
  if (!first) return first.error();
  Ref<GstCaps> video_caps, audio_caps;
  size_t pos = 0;
  const size_t scan = std::min(first.value().size(), kConfigScanBytes);
  FlvTagView tag;
  while ((!video_caps || !audio_caps) && read_flv_tag(first.value().data(), scan, &pos, &tag)) {
    if (!video_caps && is_avc_config(tag)) video_caps = caps_with_config("video", tag.body + 5, tag.body_size - 5);
    if (!audio_caps && is_aac_config(tag)) audio_caps = caps_with_config("audio", tag.body + 2, tag.body_size - 2);
  }
  if (!video_caps && !audio_caps)
    return Error{"no H.264 or AAC decoder configuration at the start of " + parts.front().path, ErrorReason::invalid,
                 "dvr"};
  std::unique_ptr<FlvClip> c(new FlvClip());
  c->parts_ = std::move(parts);
  c->start_ns_ = start_ns;
  c->stop_ns_ = stop_ns;
  c->out_path_ = std::move(out_path);
  c->pipeline_ = Ref<GstElement>::adopt_floating(gst_pipeline_new("flv-clip"));
  GstElement* mux = gst_element_factory_make("mp4mux", nullptr);
  GstElement* sink = gst_element_factory_make("filesink", nullptr);
  if (!mux || !sink) {
    for (GstElement* e : {mux, sink})
      if (e) gst_object_unref(gst_object_ref_sink(e));
    return Error{"mp4mux or filesink missing", ErrorReason::internal, "pipelines"};
  }
  g_object_set(mux, "faststart", TRUE, nullptr);
  g_object_set(sink, "location", c->out_path_.c_str(), nullptr);
  gst_bin_add_many(GST_BIN(c->pipeline_.get()), mux, sink, nullptr);
  if (!gst_element_link(mux, sink)) return Error{"cannot link mp4mux to filesink", ErrorReason::internal, "pipelines"};
  if (video_caps) {
    auto src = add_branch(c->pipeline_.get(), mux, "h264parse", video_caps);
    if (!src) return src.error();
    c->video_src_ = src.value();
  }
  if (audio_caps) {
    auto src = add_branch(c->pipeline_.get(), mux, "aacparse", audio_caps);
    if (!src) return src.error();
    c->audio_src_ = src.value();
  }
  return c;
}

Status FlvClip::start(std::function<void(Status)> done) {
  done_ = std::move(done);
  Ref<GstBus> bus = Ref<GstBus>::adopt(gst_element_get_bus(pipeline_.get()));
  GSource* watch = gst_bus_create_watch(bus.get());
  g_source_set_callback(watch, G_SOURCE_FUNC(&FlvClip::on_bus), this, nullptr);  // removed before `this` dies
  g_source_attach(watch, g_main_context_get_thread_default());
  bus_watch_ = SourceGuard(watch);
  if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    return Error{"the clip pipeline does not start", ErrorReason::internal, "pipelines"};
  worker_ = std::thread([this] { feed(); });  // joined by the destructor
  return ok_status();
}

void FlvClip::feed() {
  Status st = ok_status();
  for (const auto& part : parts_) {
    if (stopping_ || reached_stop_) break;
    st = feed_file(part);
    if (!st) break;
  }
  if (st && pushed_ == 0) st = Error{"no keyframe was recorded in that range", ErrorReason::not_found, "dvr"};
  if (!st) {
    if (stopping_) return;
    GstStructure* s = gst_structure_new(kFailedMessage, "message", G_TYPE_STRING, st.error().message.c_str(), "reason",
                                        G_TYPE_INT, int(st.error().reason), nullptr);
    gst_element_post_message(pipeline_.get(), gst_message_new_application(GST_OBJECT(pipeline_.get()), s));
    return;
  }
  for (const auto& src : {video_src_, audio_src_})
    if (src) gst_app_src_end_of_stream(GST_APP_SRC(src.get()));
}

// Worker thread. Timestamps: the file's first media tag is its offset on the joined timeline.
Status FlvClip::feed_file(const Part& part) {
  auto mapping = FlvMapping::open(part.path);
  if (!mapping) return mapping.error();
  const uint8_t* data = mapping.value().data();
  const size_t size = mapping.value().size();
  size_t pos = 0;
  FlvTagView tag;
  int64_t file_base_ms = -1;
  // The index's duration of the previous file can be shorter than its last tag: never go back.
  const GstClockTime offset = std::max(part.offset_ns, timeline_end_ns_);
  // A short tail (a crash while writing) ends the file: what came before is kept.
  while (!stopping_ && !reached_stop_ && read_flv_tag(data, size, &pos, &tag)) {
    if (tag.type != flv_video && tag.type != flv_audio) continue;
    if (tag.body_size < 2) continue;
    if (file_base_ms < 0) file_base_ms = tag.timestamp_ms;
    const GstClockTime dts =
        offset + GstClockTime(std::max<int64_t>(0, int64_t(tag.timestamp_ms) - file_base_ms)) * GST_MSECOND;
    timeline_end_ns_ = std::max(timeline_end_ns_, dts + kFrameGapNs);
    if (tag.type == flv_video) {
      if (tag.body[0] & 0x80) return Error{"enhanced FLV video is not clipped yet", ErrorReason::invalid, "dvr"};
      if ((tag.body[0] & 0x0f) != kFlvCodecAvc)
        return Error{"clips of FLV recordings carry H.264 only (codec id " + std::to_string(tag.body[0] & 0x0f) + ")",
                     ErrorReason::invalid, "dvr"};
      if (tag.body[1] != 1 || tag.body_size <= 5) continue;  // decoder configuration or end of sequence
      int32_t cts = (int32_t(tag.body[2]) << 16) | (int32_t(tag.body[3]) << 8) | tag.body[4];
      if (cts & 0x800000) cts -= 0x1000000;  // SI24
      const int64_t pts = int64_t(dts) + int64_t(cts) * int64_t(GST_MSECOND);
      const bool key = (tag.body[0] >> 4) == 1;
      Status st = push(true, dts, GstClockTime(std::max<int64_t>(0, pts)), key, tag.body + 5, tag.body_size - 5);
      if (!st) return st;
    } else {
      if ((tag.body[0] >> 4) != kFlvSoundAac)
        return Error{
            "clips of FLV recordings carry AAC audio only (sound format " + std::to_string(tag.body[0] >> 4) + ")",
            ErrorReason::invalid, "dvr"};
      if (tag.body[1] != 1) continue;  // AudioSpecificConfig
      Status st = push(false, dts, dts, true, tag.body + 2, tag.body_size - 2);
      if (!st) return st;
    }
  }
  return ok_status();
}

// Worker thread: trims to [first keyframe at or after start, stop) and re-times from zero.
Status FlvClip::push(bool video, GstClockTime dts, GstClockTime pts, bool key, const uint8_t* data, size_t size) {
  const Ref<GstElement>& src = video ? video_src_ : audio_src_;
  if (!src) return ok_status();             // a track the first file did not announce
  const bool leads = video || !video_src_;  // the track whose keyframes start and end the clip
  if (base_ns_ < 0) {
    if (!leads || !key || dts < start_ns_) return ok_status();
    base_ns_ = int64_t(dts);
  }
  if (int64_t(dts) < base_ns_) return ok_status();
  if (dts >= stop_ns_) {
    if (leads) reached_stop_ = true;
    return ok_status();
  }
  GstBuffer* buf = gst_buffer_new_memdup(data, size);
  GST_BUFFER_DTS(buf) = dts - GstClockTime(base_ns_);
  GST_BUFFER_PTS(buf) = pts >= GstClockTime(base_ns_) ? pts - GstClockTime(base_ns_) : 0;
  if (!key) GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
  const GstFlowReturn flow = gst_app_src_push_buffer(GST_APP_SRC(src.get()), buf);  // blocks while the queue is full
  if (flow != GST_FLOW_OK)
    return Error{std::string("the clip muxer stopped: ") + gst_flow_get_name(flow), ErrorReason::internal, "pipelines"};
  ++pushed_;
  return ok_status();
}

gboolean FlvClip::on_bus(GstBus*, GstMessage* msg, gpointer self) {
  auto* c = static_cast<FlvClip*>(self);
  switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_EOS:
      c->finish(ok_status());
      return G_SOURCE_REMOVE;
    case GST_MESSAGE_APPLICATION: {
      const GstStructure* s = gst_message_get_structure(msg);
      if (!s || !gst_structure_has_name(s, kFailedMessage)) break;
      int reason = int(ErrorReason::internal);
      gst_structure_get_int(s, "reason", &reason);
      const char* text = gst_structure_get_string(s, "message");
      c->finish(Error{text ? text : "clip failed", ErrorReason(reason), "dvr"});
      return G_SOURCE_REMOVE;
    }
    case GST_MESSAGE_ERROR:
      c->finish(clip_error(msg));
      return G_SOURCE_REMOVE;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

void FlvClip::finish(Status st) {
  if (finished_) return;
  finished_ = true;
  stopping_ = true;
  gst_element_set_state(pipeline_.get(), GST_STATE_NULL);  // a blocked push returns FLUSHING
  auto done = std::move(done_);
  if (done) done(std::move(st));  // may destroy this
}

FlvClip::~FlvClip() {
  stopping_ = true;
  bus_watch_.reset();
  if (pipeline_) gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
  if (worker_.joinable()) worker_.join();
}

}  // namespace estuary::pipelines
