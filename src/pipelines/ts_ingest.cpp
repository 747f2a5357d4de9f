// Owns: TsIngest (see ts_ingest.h).
#include "pipelines/ts_ingest.h"

#include <gst/audio/audio.h>
#include <gst/pbutils/codec-utils.h>

#include <algorithm>

#include "common/log.h"
#include "pipelines/stream_bus.h"
#include "pipelines/ts_packets.h"

namespace estuary::pipelines {
namespace {

constexpr size_t kMaxHeldUnits = 512;     // units held while waiting for every track's first timestamp
constexpr int64_t kMaxHeldSpan = 90000;   // 1 s at 90 kHz
constexpr int64_t kMaxJump = 10 * 90000;  // a step between two units of a track beyond 10 s is a jump

const char* parser_for(TsCodec codec) {
  switch (codec) {
    case TsCodec::h264:
      return "h264parse";
    case TsCodec::h265:
      return "h265parse";
    case TsCodec::aac_adts:
    case TsCodec::aac_latm:
      return "aacparse";
    case TsCodec::mpeg_audio:
      return "mpegaudioparse";
    case TsCodec::opus:
      return "opusparse";
  }
  return nullptr;
}

// Opus caps from the PMT's channel_config_code (ETSI TS 102 366 / the Opus-in-TS mapping): 1..8
// channels with the Vorbis order (family 0 up to stereo, 1 above), 0 dual mono; stereo when absent.
Ref<GstCaps> opus_caps(int config) {
  static constexpr uint8_t streams[] = {1, 1, 2, 2, 3, 4, 4, 5};
  static constexpr uint8_t coupled[] = {0, 1, 1, 2, 2, 2, 3, 3};
  static constexpr uint8_t mapping[8][8] = {{0},
                                            {0, 1},
                                            {0, 2, 1},
                                            {0, 1, 2, 3},
                                            {0, 4, 1, 2, 3},
                                            {0, 4, 1, 2, 3, 5},
                                            {0, 4, 1, 2, 3, 5, 6},
                                            {0, 6, 1, 2, 3, 4, 5, 7}};
  if (config == 0) {
    static constexpr uint8_t dual[] = {0, 1};
    return Ref<GstCaps>::adopt(gst_codec_utils_opus_create_caps(48000, 2, 255, 2, 0, dual));
  }
  const int channels = config >= 1 && config <= 8 ? config : 2;
  const int family = channels > 2 ? 1 : 0;
  return Ref<GstCaps>::adopt(gst_codec_utils_opus_create_caps(
      48000, channels, family, streams[channels - 1], coupled[channels - 1], family ? mapping[channels - 1] : nullptr));
}

// The caps tsdemux gave each codec, so the parsers see what they saw before.
Ref<GstCaps> caps_for(TsCodec codec, int opus_channel_config) {
  switch (codec) {
    case TsCodec::h264:
      return Ref<GstCaps>::adopt(
          gst_caps_new_simple("video/x-h264", "stream-format", G_TYPE_STRING, "byte-stream", nullptr));
    case TsCodec::h265:
      return Ref<GstCaps>::adopt(
          gst_caps_new_simple("video/x-h265", "stream-format", G_TYPE_STRING, "byte-stream", nullptr));
    case TsCodec::aac_adts:
    case TsCodec::aac_latm:
      return Ref<GstCaps>::adopt(gst_caps_new_simple("audio/mpeg", "mpegversion", G_TYPE_INT, 4, "stream-format",
                                                     G_TYPE_STRING, codec == TsCodec::aac_adts ? "adts" : "loas",
                                                     nullptr));
    case TsCodec::mpeg_audio:
      return Ref<GstCaps>::adopt(gst_caps_new_simple("audio/mpeg", "mpegversion", G_TYPE_INT, 1, nullptr));
    case TsCodec::opus:
      return opus_caps(opus_channel_config);
  }
  return {};
}

// " audio_tracks=aac/eng,aac/fra" when there are several, for the log.
std::string audio_list(const std::vector<TsTrackProbe::AudioTrack>& tracks) {
  if (tracks.size() < 2) return "";
  std::string out = " audio_tracks=";
  for (size_t i = 0; i < tracks.size(); ++i)
    out += (i ? "," : "") + tracks[i].codec + (tracks[i].language.empty() ? "" : "/" + tracks[i].language);
  return out;
}

uint64_t rejections(const TsGuardStats& s) { return s.pes_rejected + s.psi_rejected + s.packets_invalid; }

// The first event, then every power of two: enough to follow, never a flood.
bool worth_logging(uint64_t count, uint64_t logged) {
  return count > logged && (logged == 0 || (count & (count - 1)) == 0);
}

}  // namespace

TsIngest::TsIngest(std::string stream_name, TsIngestSettings settings)
    : stream_name_(std::move(stream_name)), settings_(settings) {}

TsIngest::~TsIngest() { stop(); }

const TsDemuxStats& TsIngest::demux_stats() const {
  static const TsDemuxStats none;
  return demux_ ? demux_->stats() : none;
}

Status TsIngest::push(const uint8_t* data, size_t size) {
  if (stopped_ || size == 0) return ok_status();
  if (pipeline_) return process(data, size);
  pending_.insert(pending_.end(), data, data + size);
  if (!probe_.feed(data, size)) {
    if (pending_.size() > settings_.max_pending_bytes)
      return Error{"no PAT/PMT in the first " + std::to_string(pending_.size()) + " bytes (is it MPEG-TS?)"};
    return ok_status();
  }
  if (probe_.video().empty() && probe_.audio().empty())
    return Error{"the program has no supported track (H.264, H.265, AAC, MP3 or Opus)"};
  Status started = start_pipeline();
  if (!started) return started;
  std::vector<uint8_t> pending;
  pending.swap(pending_);
  return process(pending.data(), pending.size());
}

Status TsIngest::link_track(GstElement* pipeline, GstElement* sink, Track& track, const std::string& sink_pad_name,
                            const std::string& language) {
  Ref<GstPad> target = Ref<GstPad>::adopt(gst_element_request_pad_simple(sink, sink_pad_name.c_str()));
  if (!target) return Error{"ingest " + stream_name_ + ": no bus pad " + sink_pad_name, ErrorReason::internal};
  if (!language.empty()) g_object_set(target.get(), "language", language.c_str(), nullptr);
  const char* parser_name = parser_for(track.codec);
  GstElement* parser = gst_element_factory_make(parser_name, nullptr);
  if (!parser) {
    return Error{"ingest " + stream_name_ + ": missing GStreamer element " + parser_name, ErrorReason::internal,
                 "pipelines"};
  }
  gst_bin_add(GST_BIN(pipeline), parser);
  Ref<GstPad> psrc = Ref<GstPad>::adopt(gst_element_get_static_pad(parser, "src"));
  gst_pad_link(psrc.get(), target.get());
  Ref<GstPad> psink = Ref<GstPad>::adopt(gst_element_get_static_pad(parser, "sink"));
  const std::string name = "ts_" + sink_pad_name;
  track.pad = Ref<GstPad>::adopt_floating(gst_pad_new(name.c_str(), GST_PAD_SRC));
  if (gst_pad_link(track.pad.get(), psink.get()) != GST_PAD_LINK_OK) {
    return Error{"ingest " + stream_name_ + ": cannot link the " + ts_codec_name(track.codec) + " track",
                 ErrorReason::internal, "pipelines"};
  }
  return ok_status();
}

Status TsIngest::start_pipeline() {
  auto made = new_bus_ingest_pipeline(stream_name_, settings_.gop_cache_max_bytes);
  if (!made) return made.error();
  Ref<GstElement> pipeline = std::move(made.value().pipeline);
  GstElement* sink = made.value().sink;
  // Exactly the tracks the PMT listed: video on sink_0, the audio tracks on sink_1, sink_2, ...
  std::vector<TsDemuxTrack> demux_tracks;
  std::vector<std::pair<std::string, std::string>> pads;  // bus pad, language
  if (!probe_.video().empty()) {
    demux_tracks.push_back({probe_.video_pid(), probe_.video_codec()});
    tracks_.push_back(Track{probe_.video_codec(), -1, {}, false});
    pads.push_back({"sink_0", ""});
  }
  const auto& audio = probe_.audio_tracks();
  for (size_t i = 0; i < audio.size(); ++i) {
    demux_tracks.push_back({audio[i].pid, audio[i].ts_codec});
    tracks_.push_back(Track{audio[i].ts_codec, audio[i].opus_channel_config, {}, false});
    pads.push_back({"sink_" + std::to_string(i + 1), audio[i].language});
  }
  TsDemuxLimits limits;
  limits.max_video_pes = std::max<size_t>(settings_.max_pending_bytes, 1u << 20);
  demux_ = std::make_unique<TsDemux>(std::move(demux_tracks), limits);
  for (size_t i = 0; i < tracks_.size(); ++i) {
    Status st = link_track(pipeline.get(), sink, tracks_[i], pads[i].first, pads[i].second);
    if (!st) return st;
  }
  pipeline_ = ManagedPipeline::adopt("ingest:" + stream_name_, pipeline.release());
  pipeline_->set_events(events_);
  Status st = pipeline_->start();
  if (!st) return st;
  const unsigned group = gst_util_group_id_next();
  for (size_t i = 0; i < tracks_.size(); ++i) {
    gst_pad_set_active(tracks_[i].pad.get(), TRUE);
    const std::string id = stream_name_ + "/" + pads[i].first;
    GstEvent* start = gst_event_new_stream_start(id.c_str());
    gst_event_set_group_id(start, group);
    gst_pad_push_event(tracks_[i].pad.get(), start);
  }
  std::string ignored;
  for (int t : probe_.ignored())
    ignored += (ignored.empty() ? " ignored stream types:" : "") + std::string(" 0x") +
               "0123456789abcdef"[(t >> 4) & 0xf] + "0123456789abcdef"[t & 0xf];
  const bool video = !probe_.video().empty(), has_audio = !probe_.audio().empty();
  log_info(stream_name_, "", "ingest-start",
           "ingest pipeline started (mpeg-ts) video=" + (video ? probe_.video() : std::string("no")) +
               " audio=" + (has_audio ? probe_.audio() : std::string("no")) + audio_list(audio) + ignored);
  return ok_status();
}

void TsIngest::log_guard() {
  const uint64_t rejected = rejections(guard_.stats());
  if (worth_logging(rejected, rejections_logged_))
    log_warn(stream_name_, "", "ts-guard",
             "dropped malformed MPEG-TS (" + guard_.last_rejection() + "); " + std::to_string(rejected) +
                 " rejections so far");
  rejections_logged_ = std::max(rejections_logged_, rejected);
  const uint64_t gaps = demux_->stats().cc_gaps;
  if (worth_logging(gaps, gaps_logged_))
    log_warn(stream_name_, "", "ts-discontinuity",
             "continuity counter gap: the broken PES dropped, the next unit marked DISCONT; " + std::to_string(gaps) +
                 " gaps so far");
  gaps_logged_ = std::max(gaps_logged_, gaps);
}

Status TsIngest::process(const uint8_t* data, size_t size) {
  clean_.clear();
  guard_.feed(data, size, clean_);
  units_.clear();
  for (size_t off = 0; off + ts_packet_size <= clean_.size(); off += ts_packet_size)
    demux_->packet(clean_.data() + off, units_);
  log_guard();
  if (guard_.hopeless()) {
    const TsGuardStats& s = guard_.stats();
    const std::string message = "malformed MPEG-TS input: " + std::to_string(s.pes_rejected) + " of " +
                                std::to_string(s.pes_rejected + s.pes_accepted) +
                                " PES headers rejected (last: " + guard_.last_rejection() + ")";
    log_warn(stream_name_, "", "ts-guard", message + "; ending the ingest");
    return Error{message, ErrorReason::invalid, "srt"};
  }
  for (TsUnit& unit : units_) {
    if (have_origin_) {
      Status st = deliver(unit);
      if (!st) return st;
      continue;
    }
    held_bytes_ += unit.data.size();
    held_.push_back(std::move(unit));
  }
  if (have_origin_ || held_.empty() || !origin_ready()) return ok_status();
  have_origin_ = true;
  origin_ = held_.front().dts;
  for (const TsUnit& u : held_) origin_ = std::min(origin_, u.dts);
  base_ns_ = int64_t(pipeline_->running_time());
  std::vector<TsUnit> held;
  held.swap(held_);
  held_bytes_ = 0;
  for (TsUnit& unit : held) {
    Status st = deliver(unit);
    if (!st) return st;
  }
  return ok_status();
}

// True once every track has a unit held (the earliest timestamp is known), or the wait is long enough.
bool TsIngest::origin_ready() const {
  if (held_.size() >= kMaxHeldUnits || held_bytes_ >= settings_.max_pending_bytes / 2) return true;
  int64_t lo = held_.front().dts, hi = lo;
  std::vector<bool> seen(tracks_.size(), false);
  for (const TsUnit& u : held_) {
    seen[u.track] = true;
    lo = std::min(lo, u.dts);
    hi = std::max(hi, u.dts);
  }
  return hi - lo >= kMaxHeldSpan || std::all_of(seen.begin(), seen.end(), [](bool s) { return s; });
}

Status TsIngest::deliver(TsUnit& unit) {
  if (unit.track >= tracks_.size()) return ok_status();
  Track& track = tracks_[unit.track];
  if (!track.pad) return ok_status();
  if (!track.caps_sent) {
    Ref<GstCaps> caps = caps_for(track.codec, track.opus_channel_config);
    if (!caps) return Error{std::string("no caps for the ") + ts_codec_name(track.codec) + " track"};
    gst_pad_push_event(track.pad.get(), gst_event_new_caps(caps.get()));
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME);
    gst_pad_push_event(track.pad.get(), gst_event_new_segment(&segment));
    track.caps_sent = true;
  }
  // A timestamp jump (an encoder restarted on the same connection, or nonsense timestamps) must not
  // send the track's time far away: the track goes on from its last time, marked DISCONT.
  if (track.have_last && (unit.dts - track.last_dts > kMaxJump || track.last_dts - unit.dts > kMaxJump)) {
    const int64_t shift = track.last_dts + track.shift + 1 - unit.dts;
    log_warn(stream_name_, "", "ts-timestamp-jump",
             std::string(ts_codec_name(track.codec)) + " track jumped by " +
                 std::to_string((unit.dts - track.last_dts) / 90) + " ms; going on from its last time");
    track.shift = shift;
    unit.discont = true;
  }
  track.have_last = true;
  track.last_dts = unit.dts;
  // The origin lands at the running time it was fixed at; earlier units (rare: a late first unit of a
  // track) are clamped to 0.
  auto to_ns = [&](int64_t t) -> GstClockTime {
    const int64_t ns = base_ns_ + (t + track.shift - origin_) * 100000 / 9;
    return GstClockTime(std::max<int64_t>(ns, 0));
  };
  auto* bytes = new std::vector<uint8_t>(std::move(unit.data));
  GstBuffer* buf = gst_buffer_new_wrapped_full(GST_MEMORY_FLAG_READONLY, bytes->data(), bytes->size(), 0, bytes->size(),
                                               bytes, [](gpointer p) { delete static_cast<std::vector<uint8_t>*>(p); });
  GST_BUFFER_PTS(buf) = to_ns(unit.pts);
  GST_BUFFER_DTS(buf) = to_ns(unit.dts);
  if (unit.discont) GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
  if (unit.start_trim || unit.end_trim)  // as tsdemux: opusdec drops these samples
    gst_buffer_add_audio_clipping_meta(buf, GST_FORMAT_DEFAULT, unit.start_trim, unit.end_trim);
  const GstFlowReturn flow = gst_pad_push(track.pad.get(), buf);
  if (flow == GST_FLOW_OK || flow == GST_FLOW_FLUSHING || flow == GST_FLOW_EOS) return ok_status();
  return Error{std::string("mpeg-ts media: the ") + parser_for(track.codec) + " parser refused a unit (" +
                   gst_flow_get_name(flow) + ")",
               ErrorReason::invalid, "srt"};
}

void TsIngest::stop() {
  stopped_ = true;
  for (Track& t : tracks_)
    if (t.pad) gst_pad_set_active(t.pad.get(), FALSE);
  if (pipeline_) pipeline_->stop();
  for (Track& t : tracks_) {
    if (!t.pad) continue;
    Ref<GstPad> peer = Ref<GstPad>::adopt(gst_pad_get_peer(t.pad.get()));
    if (peer) gst_pad_unlink(t.pad.get(), peer.get());
    t.pad.reset();
  }
  pipeline_.reset();
  pending_.clear();
  held_.clear();
}

}  // namespace estuary::pipelines
