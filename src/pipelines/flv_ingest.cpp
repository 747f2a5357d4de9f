// Owns: FlvIngest (see flv_ingest.h).
#include "pipelines/flv_ingest.h"

#include <gst/pbutils/codec-utils.h>

#include "common/log.h"
#include "pipelines/flv_tags.h"
#include "pipelines/stream_bus.h"

namespace estuary::pipelines {
namespace {

constexpr size_t max_pending_tags = 96;  // messages held while waiting to see both tracks
constexpr uint32_t max_pending_span_ms = 1000;
constexpr size_t max_audio_tracks = 8;  // the bus's ESTUARY_MAX_AUDIO_TRACKS

// The parser a codec's elementary stream goes through before the bus, or nullptr for none.
const char* parser_for(MediaCodec codec) {
  switch (codec) {
    case MediaCodec::h264:
      return "h264parse";
    case MediaCodec::h265:
      return "h265parse";
    case MediaCodec::av1:
      return "av1parse";
    case MediaCodec::vp9:
      return "vp9parse";
    case MediaCodec::aac:
      return "aacparse";
    case MediaCodec::opus:
      return "opusparse";
    case MediaCodec::mp3:
      return "mpegaudioparse";
    case MediaCodec::ac3:
    case MediaCodec::eac3:
      return "ac3parse";
    default:
      return nullptr;
  }
}

GstBuffer* buffer_of(const std::vector<uint8_t>& bytes) { return gst_buffer_new_memdup(bytes.data(), bytes.size()); }

// Caps of a track from its codec and configuration record (empty config for codecs without one).
Ref<GstCaps> caps_for(MediaCodec codec, const std::vector<uint8_t>& config, uint32_t rate, uint32_t channels) {
  GstCaps* caps = nullptr;
  auto with_config = [&](GstCaps* c) {
    if (!config.empty()) {
      GstBuffer* cd = buffer_of(config);
      gst_caps_set_simple(c, "codec_data", GST_TYPE_BUFFER, cd, nullptr);
      gst_buffer_unref(cd);
    }
    return c;
  };
  switch (codec) {
    case MediaCodec::h264:
      caps = with_config(gst_caps_new_simple("video/x-h264", "stream-format", G_TYPE_STRING, "avc", "alignment",
                                             G_TYPE_STRING, "au", nullptr));
      break;
    case MediaCodec::h265:
      caps = with_config(gst_caps_new_simple("video/x-h265", "stream-format", G_TYPE_STRING, "hvc1", "alignment",
                                             G_TYPE_STRING, "au", nullptr));
      break;
    case MediaCodec::av1:
      caps = with_config(gst_caps_new_simple("video/x-av1", "stream-format", G_TYPE_STRING, "obu-stream", "alignment",
                                             G_TYPE_STRING, "tu", nullptr));
      break;
    case MediaCodec::vp9:
      caps = gst_caps_new_empty_simple("video/x-vp9");
      break;
    case MediaCodec::aac:
      caps = with_config(gst_caps_new_simple("audio/mpeg", "mpegversion", G_TYPE_INT, 4, "stream-format", G_TYPE_STRING,
                                             "raw", "framed", G_TYPE_BOOLEAN, TRUE, "rate", G_TYPE_INT, int(rate),
                                             nullptr));
      if (channels) gst_caps_set_simple(caps, "channels", G_TYPE_INT, int(channels), nullptr);
      break;
    case MediaCodec::opus: {
      GstBuffer* head = buffer_of(config);
      caps = gst_codec_utils_opus_create_caps_from_header(head, nullptr);
      gst_buffer_unref(head);
      break;
    }
    case MediaCodec::mp3:
      caps = gst_caps_new_simple("audio/mpeg", "mpegversion", G_TYPE_INT, 1, "rate", G_TYPE_INT, int(rate), "channels",
                                 G_TYPE_INT, int(channels), nullptr);
      break;
    case MediaCodec::ac3:
      caps = gst_caps_new_empty_simple("audio/x-ac3");
      break;
    case MediaCodec::eac3:
      caps = gst_caps_new_empty_simple("audio/x-eac3");
      break;
    case MediaCodec::alaw:
    case MediaCodec::mulaw:
      caps = gst_caps_new_simple(codec == MediaCodec::alaw ? "audio/x-alaw" : "audio/x-mulaw", "rate", G_TYPE_INT,
                                 int(rate), "channels", G_TYPE_INT, int(channels), nullptr);
      break;
    case MediaCodec::none:
      break;
  }
  return Ref<GstCaps>::adopt(caps);
}

}  // namespace

FlvIngest::FlvIngest(std::string stream_name, IngestSettings settings)
    : stream_name_(std::move(stream_name)), settings_(settings) {}

FlvIngest::~FlvIngest() { stop(); }

bool FlvIngest::tracks_known() const {
  if (audio_.codec != MediaCodec::none && video_.codec != MediaCodec::none) return true;
  if (pending_.size() >= max_pending_tags) return true;
  if (pending_bytes_ >= settings_.max_pending_bytes / 2) return true;
  if (pending_.size() >= 2 && pending_.back().ts - pending_.front().ts >= max_pending_span_ms) return true;
  return false;
}

FlvIngest::Track* FlvIngest::track_for(const FlvMediaUnit& unit) {
  if (unit.video) return unit.track_id == 0 ? &video_ : nullptr;
  if (audio_id_ < 0 && !pipeline_) audio_id_ = unit.track_id;
  if (unit.track_id == audio_id_) return &audio_;
  auto it = more_audio_.find(unit.track_id);
  if (it != more_audio_.end()) return &it->second;
  if (pipeline_ || more_audio_.size() + 1 >= max_audio_tracks) return nullptr;  // not announced: not carried
  return &more_audio_[unit.track_id];
}

// Checks a unit's codec against its track's (a new track takes it).
Status FlvIngest::accept(const FlvMediaUnit& unit) {
  if (unit.codec == MediaCodec::none) {
    if (unit.skip_reason) log_debug(stream_name_, "", "ingest-skip", unit.skip_reason);
    return ok_status();
  }
  Track* track = track_for(unit);
  if (!track) return ok_status();
  if (track->codec == MediaCodec::none) {
    if (!pipeline_) track->codec = unit.codec;  // after the start it was not announced: not carried
  } else if (track->codec != unit.codec) {
    return Error{std::string("rtmp media: ") + (unit.video ? "video" : "audio") + " codec changed mid-stream from " +
                     media_codec_name(track->codec) + " to " + media_codec_name(unit.codec),
                 ErrorReason::unsupported, "rtmp"};
  }
  return ok_status();
}

Status FlvIngest::push(uint8_t type, uint32_t ts, const uint8_t* body, size_t size) {
  if (stopped_) return ok_status();
  if (type != flv_audio && type != flv_video) return ok_status();
  Status parsed = parse_flv_media_tracks(type, body, size, &units_);
  if (!parsed) return parsed;
  for (const FlvMediaUnit& unit : units_) {
    Status st = accept(unit);
    if (!st) return st;
  }
  if (pipeline_) {
    for (const FlvMediaUnit& unit : units_) {
      if (unit.codec == MediaCodec::none) continue;
      Status st = deliver(unit, ts);
      if (!st) return st;
    }
    return ok_status();
  }
  pending_.push_back({type, ts, std::vector<uint8_t>(body, body + size)});
  pending_bytes_ += size;
  if (!tracks_known()) return ok_status();
  Status started = start_pipeline();
  if (!started) return started;
  std::vector<Pending> held = std::move(pending_);
  pending_.clear();
  pending_bytes_ = 0;
  for (auto& p : held) {
    Status again = parse_flv_media_tracks(p.type, p.body.data(), p.body.size(), &units_);
    if (!again) return again;
    for (const FlvMediaUnit& unit : units_) {
      if (unit.codec == MediaCodec::none) continue;
      Status st = deliver(unit, p.ts);
      if (!st) return st;
    }
  }
  return ok_status();
}

Status FlvIngest::link_track(GstElement* pipeline, GstElement* sink, Track& track, const std::string& sink_pad_name,
                             const std::string& name) {
  GstPad* sink_pad = gst_element_request_pad_simple(sink, sink_pad_name.c_str());
  Ref<GstPad> target = Ref<GstPad>::adopt(sink_pad);
  const char* parser_name = parser_for(track.codec);
  if (parser_name) {
    GstElement* parser = gst_element_factory_make(parser_name, nullptr);
    if (!parser) {
      return Error{"ingest " + stream_name_ + ": missing GStreamer element " + parser_name, ErrorReason::internal,
                   "pipelines"};
    }
    gst_bin_add(GST_BIN(pipeline), parser);
    Ref<GstPad> psrc = Ref<GstPad>::adopt(gst_element_get_static_pad(parser, "src"));
    gst_pad_link(psrc.get(), target.get());
    target = Ref<GstPad>::adopt(gst_element_get_static_pad(parser, "sink"));
  }
  track.pad = Ref<GstPad>::adopt_floating(gst_pad_new(name.c_str(), GST_PAD_SRC));
  if (gst_pad_link(track.pad.get(), target.get()) != GST_PAD_LINK_OK) {
    return Error{"ingest " + stream_name_ + ": cannot link the " + media_codec_name(track.codec) + " track",
                 ErrorReason::internal, "pipelines"};
  }
  return ok_status();
}

Status FlvIngest::start_pipeline() {
  auto made = new_bus_ingest_pipeline(stream_name_, settings_.gop_cache_max_bytes);
  if (!made) return made.error();
  Ref<GstElement> pipeline = std::move(made.value().pipeline);
  GstElement* sink = made.value().sink;
  // Announce exactly the tracks seen, so the bus declares the stream ready with all of them: video,
  // then the audio tracks (audio_0, and multitrack ones in track id order).
  std::vector<std::pair<Track*, std::string>> tracks = {{&video_, "video"}, {&audio_, "audio"}};
  for (auto& [id, track] : more_audio_) tracks.push_back({&track, "audio_track" + std::to_string(id)});
  for (size_t i = 0; i < tracks.size(); ++i) {
    auto& [track, name] = tracks[i];
    if (track->codec == MediaCodec::none) continue;
    Status st = link_track(pipeline.get(), sink, *track, "sink_" + std::to_string(i), "rtmp_" + name);
    if (!st) return st;
  }
  pipeline_ = ManagedPipeline::adopt("ingest:" + stream_name_, pipeline.release());
  pipeline_->set_events(events_);
  Status st = pipeline_->start();
  if (!st) return st;
  base_ms_ = static_cast<int64_t>(pipeline_->running_time() / GST_MSECOND);
  group_id_ = gst_util_group_id_next();
  for (auto& [track, name] : tracks) {
    if (!track->pad) continue;
    gst_pad_set_active(track->pad.get(), TRUE);
    std::string id = stream_name_ + "/" + name;
    GstEvent* start = gst_event_new_stream_start(id.c_str());
    gst_event_set_group_id(start, group_id_);
    gst_pad_push_event(track->pad.get(), start);
  }
  std::string more;
  for (auto& [id, track] : more_audio_)
    more += " audio_track" + std::to_string(id) + "=" + media_codec_name(track.codec);
  log_info(stream_name_, "", "ingest-start",
           std::string("ingest pipeline started video=") + media_codec_name(video_.codec) +
               " audio=" + media_codec_name(audio_.codec) + more);
  return ok_status();
}

Status FlvIngest::send_caps(Track& track, bool video) {
  Ref<GstCaps> caps = caps_for(track.codec, track.config, track.rate, track.channels);
  if (!caps) {
    return Error{std::string("rtmp media: unusable ") + media_codec_name(track.codec) + " configuration",
                 ErrorReason::invalid, "rtmp"};
  }
  const bool first = !track.caps_sent;
  gst_pad_push_event(track.pad.get(), gst_event_new_caps(caps.get()));
  if (first) {
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME);
    gst_pad_push_event(track.pad.get(), gst_event_new_segment(&segment));
  }
  track.caps_sent = true;
  log_debug(stream_name_, "", "ingest-caps", std::string(video ? "video " : "audio ") + media_codec_name(track.codec));
  return ok_status();
}

Status FlvIngest::deliver(const FlvMediaUnit& unit, uint32_t ts) {
  Track* found = track_for(unit);
  if (!found || !found->pad) return ok_status();
  Track& track = *found;
  if (unit.kind == FlvMediaUnit::Kind::skip) return ok_status();
  if (unit.kind == FlvMediaUnit::Kind::config) {
    std::vector<uint8_t> config(unit.data, unit.data + unit.size);
    if (track.caps_sent && config == track.config) return ok_status();  // repeated sequence header
    track.config = std::move(config);
    track.nal_length = nal_length_size(track.codec, track.config.data(), track.config.size());
    if (unit.rate) track.rate = unit.rate;
    if (unit.channels) track.channels = unit.channels;
    return send_caps(track, unit.video);
  }
  if (!track.caps_sent) {
    if (media_codec_needs_config(track.codec)) {
      if (!track.dropped_logged) {
        track.dropped_logged = true;
        log_warn(stream_name_, "", "ingest-drop",
                 std::string(media_codec_name(track.codec)) + " frames before the sequence header are dropped");
      }
      return ok_status();
    }
    track.rate = unit.rate;
    track.channels = unit.channels;
    Status st = send_caps(track, unit.video);
    if (!st) return st;
  }
  if (track.nal_length) {
    Status st = check_length_prefixed(unit.data, unit.size, track.nal_length);
    if (!st) return st;
  }
  if (!have_first_ts_) {
    have_first_ts_ = true;
    first_ts_ = ts;
  }
  // Rebase so the first message lands at "now" on the pipeline clock (the bus stores clock times).
  int64_t dts = int64_t(int32_t(ts - first_ts_)) + base_ms_;
  if (dts < 0) dts = 0;
  int64_t pts = dts + unit.cts_ms;
  if (pts < 0) pts = 0;
  GstBuffer* buf = gst_buffer_new_memdup(unit.data, unit.size);
  GST_BUFFER_DTS(buf) = GstClockTime(dts) * GST_MSECOND;
  GST_BUFFER_PTS(buf) = GstClockTime(pts) * GST_MSECOND;
  if (unit.video && !unit.keyframe) GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
  const GstFlowReturn flow = gst_pad_push(track.pad.get(), buf);
  if (flow == GST_FLOW_OK || flow == GST_FLOW_FLUSHING || flow == GST_FLOW_EOS) return ok_status();
  return Error{std::string("rtmp media: the ") + media_codec_name(track.codec) + " parser refused a frame (" +
                   gst_flow_get_name(flow) + ")",
               ErrorReason::invalid, "rtmp"};
}

void FlvIngest::stop() {
  stopped_ = true;
  std::vector<Track*> all = {&video_, &audio_};
  for (auto& [id, track] : more_audio_) all.push_back(&track);
  for (Track* t : all) {
    if (t->pad) gst_pad_set_active(t->pad.get(), FALSE);
  }
  if (pipeline_) pipeline_->stop();
  for (Track* t : all) {
    if (t->pad) {
      Ref<GstPad> peer = Ref<GstPad>::adopt(gst_pad_get_peer(t->pad.get()));
      if (peer) gst_pad_unlink(t->pad.get(), peer.get());
      t->pad.reset();
    }
  }
  pipeline_.reset();
  pending_.clear();
}

}  // namespace estuary::pipelines
