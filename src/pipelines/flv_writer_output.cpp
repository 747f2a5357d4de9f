// Owns: FlvWriterOutput (see flv_writer_output.h).
#include "pipelines/flv_writer_output.h"

#include <gst/app/gstappsink.h>
#include <gst/pbutils/codec-utils.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "pipelines/flv_tags.h"
#include "pipelines/flv_writer.h"
#include "pipelines/stream_bus.h"

namespace estuary::pipelines {

MediaCodec flv_codec_of_caps(const GstCaps* caps) {
  if (!caps || gst_caps_is_empty(caps)) return MediaCodec::none;
  const char* name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  if (g_str_equal(name, "video/x-h264")) return MediaCodec::h264;
  if (g_str_equal(name, "video/x-h265")) return MediaCodec::h265;
  if (g_str_equal(name, "video/x-av1")) return MediaCodec::av1;
  if (g_str_equal(name, "video/x-vp9")) return MediaCodec::vp9;
  if (g_str_equal(name, "audio/x-opus")) return MediaCodec::opus;
  if (g_str_equal(name, "audio/mpeg")) {
    int version = 0;
    gst_structure_get_int(gst_caps_get_structure(caps, 0), "mpegversion", &version);
    return version == 1 ? MediaCodec::mp3 : MediaCodec::aac;
  }
  return MediaCodec::none;
}

struct FlvWriterOutput::Writer {
  std::mutex mu;
  std::shared_ptr<FlvTagSink> sink;
  MediaCodec video = MediaCodec::none, audio = MediaCodec::none;
  std::vector<uint8_t> video_config, audio_config;  // sequence start bodies, empty until known
  bool legacy_video = false;                        // H.264: the classic AVC tags every FLV player reads
  FlvMetadata metadata;
  bool header_sent = false;
  bool video_started = false;
  GstClockTime base = GST_CLOCK_TIME_NONE;  // DTS of the first forwarded keyframe: FLV time 0
};

namespace {

using Writer = FlvWriterOutput::Writer;

struct SinkContext {
  std::shared_ptr<Writer> writer;
  bool video;
};

std::vector<uint8_t> bytes_of(GstBuffer* b) {
  std::vector<uint8_t> out;
  GstMapInfo map;
  if (b && gst_buffer_map(b, &map, GST_MAP_READ)) {
    out.assign(map.data, map.data + map.size);
    gst_buffer_unmap(b, &map);
  }
  return out;
}

// A VPCodecConfigurationRecord (with its FullBox version 1 and flags) from vp9parse's caps, for VP9
// that arrived without one: profile, bit depth and chroma subsampling; level and colour unspecified.
std::vector<uint8_t> vp9_config_from_caps(const GstStructure* s) {
  const char* profile = gst_structure_get_string(s, "profile");
  guint depth = 8;
  gst_structure_get_uint(s, "bit-depth-luma", &depth);
  const char* chroma = gst_structure_get_string(s, "chroma-format");
  uint8_t subsampling = 0;  // 4:2:0
  if (chroma && g_str_equal(chroma, "4:2:2")) subsampling = 2;
  if (chroma && g_str_equal(chroma, "4:4:4")) subsampling = 3;
  return {1,
          0,
          0,
          0,
          uint8_t(profile ? g_ascii_strtoull(profile, nullptr, 10) : 0),
          0,
          uint8_t((depth << 4) | (subsampling << 1)),
          2,
          2,
          2,
          0,
          0};
}

// The configuration record of a track from its caps: codec_data (avcC/hvcC/av1C/vpcC, the AAC
// AudioSpecificConfig) or, for Opus, the OpusHead of its streamheader or one made from the caps.
std::vector<uint8_t> config_of(GstCaps* caps, MediaCodec codec) {
  if (!caps) return {};
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  if (codec == MediaCodec::opus) {
    const GValue* headers = gst_structure_get_value(s, "streamheader");
    if (headers && GST_VALUE_HOLDS_ARRAY(headers) && gst_value_array_get_size(headers) > 0) {
      const GValue* v = gst_value_array_get_value(headers, 0);
      if (GST_VALUE_HOLDS_BUFFER(v)) return bytes_of(gst_value_get_buffer(v));
    }
    guint32 rate = 0;
    guint8 channels = 0, family = 0, streams = 0, coupled = 0, mapping[256];
    if (!gst_codec_utils_opus_parse_caps(caps, &rate, &channels, &family, &streams, &coupled, mapping)) return {};
    GstBuffer* head = gst_codec_utils_opus_create_header(rate, channels, family, streams, coupled,
                                                         family == 0 ? nullptr : mapping, 0, 0);
    std::vector<uint8_t> out = bytes_of(head);
    if (head) gst_buffer_unref(head);
    return out;
  }
  const GValue* cd = gst_structure_get_value(s, "codec_data");
  if (cd && GST_VALUE_HOLDS_BUFFER(cd)) return bytes_of(gst_value_get_buffer(cd));
  if (codec == MediaCodec::vp9) return vp9_config_from_caps(s);
  return {};
}

// The tag as a buffer, its body `head` followed by `data` (one copy of each); `view`, when given,
// describes it (it points into the buffer's memory).
GstBuffer* tag_buffer(uint8_t type, uint32_t ts_ms, const std::vector<uint8_t>& head, const uint8_t* data = nullptr,
                      size_t data_size = 0, FlvTagView* view = nullptr) {
  auto* bytes = new std::vector<uint8_t>();
  append_flv_tag(*bytes, type, ts_ms, head.data(), head.size(), data, data_size);
  if (view) {
    view->type = type;
    view->timestamp_ms = ts_ms;
    view->tag = bytes->data();
    view->tag_size = bytes->size();
    view->body = bytes->data() + flv_tag_header_size;
    view->body_size = head.size() + data_size;
  }
  return gst_buffer_new_wrapped_full(GST_MEMORY_FLAG_READONLY, bytes->data(), bytes->size(), 0, bytes->size(), bytes,
                                     [](gpointer p) { delete static_cast<std::vector<uint8_t>*>(p); });
}

// File header and sequence starts, again whenever a configuration changes.
void send_header(Writer& w) {
  std::vector<GstBuffer*> header;
  auto* file = new std::vector<uint8_t>(make_flv_file_header(w.audio != MediaCodec::none, true));
  header.push_back(gst_buffer_new_wrapped_full(GST_MEMORY_FLAG_READONLY, file->data(), file->size(), 0, file->size(),
                                               file, [](gpointer p) { delete static_cast<std::vector<uint8_t>*>(p); }));
  header.push_back(tag_buffer(flv_script, 0, flv_metadata_body(w.metadata)));
  header.push_back(tag_buffer(flv_video, 0, w.video_config));
  if (w.audio != MediaCodec::none) header.push_back(tag_buffer(flv_audio, 0, w.audio_config));
  w.sink->on_header(header);
  for (GstBuffer* b : header) gst_buffer_unref(b);
  w.header_sent = true;
}

void on_sample(Writer& w, bool video, GstCaps* caps, GstBuffer* buffer) {
  const MediaCodec codec = video ? w.video : w.audio;
  std::vector<uint8_t>& config = video ? w.video_config : w.audio_config;
  std::vector<uint8_t> record = config_of(caps, codec);
  if (!record.empty()) {
    std::vector<uint8_t> body = video ? flv_video_config_body(codec, record.data(), record.size(), w.legacy_video)
                                      : flv_audio_config_body(codec, record.data(), record.size());
    if (body != config) {
      config = std::move(body);
      if (w.header_sent) send_header(w);
    }
  }
  if (!w.header_sent) {
    if (w.video_config.empty() || (w.audio != MediaCodec::none && w.audio_config.empty())) return;
    send_header(w);
  }
  const bool keyframe = video && !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  const GstClockTime dts = GST_BUFFER_DTS_IS_VALID(buffer) ? GST_BUFFER_DTS(buffer) : GST_BUFFER_PTS(buffer);
  if (!GST_CLOCK_TIME_IS_VALID(dts)) return;
  if (!w.video_started) {
    if (!keyframe) return;
    w.video_started = true;
    w.base = dts;
  }
  const uint32_t ts_ms = dts > w.base ? uint32_t((dts - w.base) / GST_MSECOND) : 0;
  int32_t cts_ms = 0;
  if (video && GST_BUFFER_PTS_IS_VALID(buffer) && GST_BUFFER_DTS_IS_VALID(buffer))
    cts_ms =
        int32_t((GstClockTimeDiff(GST_BUFFER_PTS(buffer)) - GstClockTimeDiff(GST_BUFFER_DTS(buffer))) / GST_MSECOND);
  const std::vector<uint8_t> head =
      video ? flv_video_frame_head(codec, keyframe, cts_ms, w.legacy_video) : flv_audio_frame_head(codec);
  if (head.empty()) return;  // a codec FLV cannot carry (the track chain admits none)
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) return;
  FlvTagView view;
  GstBuffer* tag = tag_buffer(video ? flv_video : flv_audio, ts_ms, head, map.data, map.size, &view);
  gst_buffer_unmap(buffer, &map);
  w.sink->on_tag(tag, view, keyframe);
  gst_buffer_unref(tag);
}

GstFlowReturn on_new_sample(GstAppSink* appsink, gpointer data) {
  auto* ctx = static_cast<SinkContext*>(data);
  GstSample* sample = gst_app_sink_pull_sample(appsink);
  if (!sample) return GST_FLOW_EOS;
  Ref<GstSample> owned = Ref<GstSample>::adopt(sample);
  if (GstBuffer* buffer = gst_sample_get_buffer(sample)) {
    std::lock_guard<std::mutex> lock(ctx->writer->mu);
    on_sample(*ctx->writer, ctx->video, gst_sample_get_caps(sample), buffer);
  }
  return GST_FLOW_OK;
}

// Parser and caps that give the FLV form of a track (length-prefixed NAL units with their
// configuration record, OBUs, raw AAC).
std::string track_chain(MediaCodec codec) {
  switch (codec) {
    case MediaCodec::h264:
      return "h264parse ! video/x-h264,stream-format=avc,alignment=au";
    case MediaCodec::h265:
      return "h265parse ! video/x-h265,stream-format=hvc1,alignment=au";
    case MediaCodec::av1:
      return "av1parse ! video/x-av1,stream-format=obu-stream,alignment=tu";
    case MediaCodec::vp9:
      return "vp9parse";
    case MediaCodec::aac:
      return "aacparse ! audio/mpeg,stream-format=raw";
    case MediaCodec::opus:
      return "opusparse";
    default:
      return "";
  }
}

// The caps of the stream's audio track `track` (0: audio_0); empty when it has none.
Ref<GstCaps> audio_caps_of(const std::string& stream, int track) {
  if (track <= 0) return bus_caps(stream, "audio");
  std::vector<BusAudioTrack> tracks = bus_audio_tracks(stream);
  return size_t(track) < tracks.size() ? tracks[size_t(track)].caps : Ref<GstCaps>();
}

// What onMetaData says: picture size and rate, audio rate and channels, from the bus caps.
FlvMetadata metadata_of(MediaCodec video, bool enhanced, const GstCaps* vcaps, MediaCodec audio, const GstCaps* acaps) {
  FlvMetadata m;
  m.video = video;
  m.enhanced_video = enhanced;
  m.audio = audio;
  if (vcaps && gst_caps_get_size(vcaps) > 0) {
    const GstStructure* st = gst_caps_get_structure(vcaps, 0);
    gst_structure_get_int(st, "width", &m.width);
    gst_structure_get_int(st, "height", &m.height);
    int num = 0, den = 0;
    if (gst_structure_get_fraction(st, "framerate", &num, &den) && num > 0 && den > 0) m.framerate = double(num) / den;
  }
  if (acaps && gst_caps_get_size(acaps) > 0) {
    const GstStructure* st = gst_caps_get_structure(acaps, 0);
    gst_structure_get_int(st, "rate", &m.audio_rate);
    gst_structure_get_int(st, "channels", &m.audio_channels);
  }
  return m;
}

}  // namespace

FlvTracks FlvTracks::of(const std::string& stream, int audio_track) {
  FlvTracks t;
  t.video_caps = bus_caps(stream, "video");
  t.video = flv_codec_of_caps(t.video_caps.get());
  t.audio_caps = audio_caps_of(stream, audio_track);
  t.audio = flv_codec_of_caps(t.audio_caps.get());
  return t;
}

bool FlvTracks::writable() const {
  if (video == MediaCodec::none) return false;
  if (!audio_caps) return true;
  // Legacy FLV (H.264) carries AAC; enhanced FLV AAC or Opus.
  return audio == MediaCodec::aac || (audio == MediaCodec::opus && flv_video_needs_enhanced(video));
}

Result<std::unique_ptr<FlvWriterOutput>> FlvWriterOutput::create(const std::string& stream, const FlvTracks& tracks,
                                                                 std::shared_ptr<FlvTagSink> sink, int audio_track) {
  auto writer = std::make_shared<Writer>();
  writer->sink = std::move(sink);
  writer->video = tracks.video;
  writer->audio = tracks.audio;
  if (writer->video == MediaCodec::none)
    return Error{"stream " + stream + " has no video FLV can carry", ErrorReason::invalid, "pipelines"};
  if (!tracks.writable())
    return Error{"stream " + stream + ": FLV written here carries AAC (and Opus with enhanced video), not " +
                     std::string(media_codec_name(writer->audio)),
                 ErrorReason::unsupported, "pipelines"};
  writer->legacy_video = !flv_video_needs_enhanced(writer->video);
  writer->metadata = metadata_of(writer->video, !writer->legacy_video, tracks.video_caps.get(), writer->audio,
                                 tracks.audio_caps.get());

  // One streaming thread (estuarysrc's) for both tracks: the parsers and appsinks never block it
  // (live timing, appsinks that do not sync or hold buffers), so no queue threads are needed.
  std::string launch = "estuarysrc name=src stream=" + stream + " audio=" + std::to_string(std::max(0, audio_track)) +
                       " catch-up=true src.video ! " + track_chain(writer->video) + " ! appsink name=vsink";
  if (tracks.audio_caps) launch += " src.audio ! " + track_chain(writer->audio) + " ! appsink name=asink";
  auto built = ManagedPipeline::from_launch("flv:" + stream, launch);
  if (!built) return built.error();
  for (bool video : {true, false}) {
    if (!video && !tracks.audio_caps) continue;
    Ref<GstElement> appsink = built.value()->element(video ? "vsink" : "asink");
    // async=false: the pipeline reaches PLAYING without waiting for both sinks to preroll, which one
    // streaming thread feeding both could never do (the first sink would hold it).
    g_object_set(appsink.get(), "sync", FALSE, "async", FALSE, "max-buffers", 0u, "drop", FALSE, nullptr);
    GstAppSinkCallbacks callbacks{};
    callbacks.new_sample = on_new_sample;
    gst_app_sink_set_callbacks(GST_APP_SINK(appsink.get()), &callbacks, new SinkContext{writer, video},
                               [](gpointer p) { delete static_cast<SinkContext*>(p); });
  }
  std::unique_ptr<FlvWriterOutput> out(new FlvWriterOutput());
  out->pipeline_ = std::move(built.value());
  return out;
}

FlvWriterOutput::~FlvWriterOutput() {
  if (pipeline_) pipeline_->stop();
}

}  // namespace estuary::pipelines
