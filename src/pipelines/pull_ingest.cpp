// Owns: PullIngest (see pull_ingest.h).
#include "pipelines/pull_ingest.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <mutex>
#include <vector>

#include "common/log.h"
#include "pipelines/rtp_record.h"
#include "pipelines/ts_guard_probe.h"

namespace estuary::pipelines {

namespace {
constexpr size_t kMaxPendingSamples = 600;  // per track, while the tracks are not yet fixed
constexpr size_t kMaxAudioTracks = 8;       // audio_0 ... audio_7 on the bus
constexpr const char* kTracksMessage = "estuary-pull-tracks";
}  // namespace

struct PullIngest::Shared {
  struct Track {
    std::string media;     // "video" | "audio"
    std::string language;  // ISO 639 / RFC 5646 code from the source (RTSP SDP a=lang), "" when none
    int order = 0;         // publishing order: RTSP the SDP's stream number (pads come as packets do)
    Ref<GstElement> appsrc;
    Ref<GstCaps> caps;  // last caps given to appsrc
    std::deque<Ref<GstSample>> pending;
    int bound_pass = 0;  // the reader pass whose pad feeds this track
  };
  std::mutex mutex;
  std::vector<Track> tracks;
  bool committed = false;
  int64_t first_track_us = 0;
  int pass = 0;  // current reader pass (a file starts a new one at its end)
  bool rtp_pads = false;
  bool pace = false;
  // Live rebase (settings.rebase_live): each reader pass's first buffer is placed at the clock's
  // now (or just after the last buffer published), the rest keep their distance from it.
  bool rebase = false;
  int rebased_pass = 0;                         // the pass `offset` was computed for
  GstClockTimeDiff offset = 0;                  // added to every timestamp of that pass
  GstClockTime last_out = GST_CLOCK_TIME_NONE;  // the latest timestamp pushed (rebase only)
  // RTSP: media types of the streams rtspsrc selected that we carry (known before any pad), one
  // entry per stream (several audio streams: several "audio").
  std::vector<std::string> announced_media;
  std::string stream;  // for logs

  // Index of the track for a media type, adding one while the set is open; -1: not wanted. One
  // video track; audio tracks up to kMaxAudioTracks (a source's second audio stream is audio_1).
  int track_for(const std::string& media, const std::string& language, int order) {
    std::lock_guard<std::mutex> lock(mutex);
    size_t same = 0;
    for (size_t i = 0; i < tracks.size(); ++i) {
      if (tracks[i].media != media) continue;
      ++same;
      if (tracks[i].bound_pass == pass) continue;  // fed by an earlier pad of this pass
      tracks[i].bound_pass = pass;                 // a new pass feeds the same track
      return int(i);
    }
    if (committed || (media == "video" && same > 0) || same >= kMaxAudioTracks) return -1;
    tracks.push_back(Track{media, language, order < 0 ? int(tracks.size()) : order, {}, {}, {}, pass});
    if (!first_track_us) first_track_us = g_get_monotonic_time();
    return int(tracks.size() - 1);
  }

  // True when every stream the source announced has its track (sources that announce nothing: always).
  bool all_announced_present() {
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto& media : announced_media) {
      size_t announced = 0, present = 0;
      for (const auto& m : announced_media) announced += m == media ? 1 : 0;
      for (const auto& track : tracks) present += track.media == media ? 1 : 0;
      if (present < announced) return false;
    }
    return true;
  }
};

namespace {

struct SinkContext {
  std::shared_ptr<PullIngest::Shared> shared;
  int track;
};

// Absolute clock time of a timestamp (running time + base time); NONE when outside the segment.
GstClockTime to_abs(const GstSegment* segment, GstClockTime ts, GstClockTime base) {
  if (!GST_CLOCK_TIME_IS_VALID(ts) || !segment) return GST_CLOCK_TIME_NONE;
  guint64 rt = 0;
  const gint sign = gst_segment_to_running_time_full(segment, GST_FORMAT_TIME, ts, &rt);
  if (sign > 0) return base + rt;
  if (sign < 0 && rt <= base) return base - rt;
  return GST_CLOCK_TIME_NONE;
}

// Timestamp shift of the current pass for a buffer at `pts` (rebase only). Caller holds the mutex.
GstClockTimeDiff rebase_offset_locked(PullIngest::Shared& shared, GstClockTime pts) {
  if (!shared.rebase) return 0;
  if (shared.rebased_pass != shared.pass) {
    Ref<GstClock> clock = Ref<GstClock>::adopt(gst_system_clock_obtain());
    GstClockTime at = gst_clock_get_time(clock.get());
    if (GST_CLOCK_TIME_IS_VALID(shared.last_out) && at <= shared.last_out) at = shared.last_out + 20 * GST_MSECOND;
    shared.offset = GST_CLOCK_DIFF(pts, at);
    shared.rebased_pass = shared.pass;
  }
  return shared.offset;
}

GstClockTime shifted(GstClockTime ts, GstClockTimeDiff offset) {
  if (!GST_CLOCK_TIME_IS_VALID(ts)) return ts;
  const GstClockTimeDiff out = GstClockTimeDiff(ts) + offset;
  return out < 0 ? GST_CLOCK_TIME_NONE : GstClockTime(out);
}

// Pushes a sample into its track's appsrc with absolute timestamps (the publisher's base time is
// 0, so running time there equals clock time). Caller holds the mutex.
void push_locked(PullIngest::Shared& shared, PullIngest::Shared::Track& track, GstSample* sample) {
  GstBuffer* in = gst_sample_get_buffer(sample);
  if (!in || !track.appsrc) return;
  GstCaps* caps = gst_sample_get_caps(sample);
  if (caps && (!track.caps || !gst_caps_is_equal(caps, track.caps.get()))) {
    gst_app_src_set_caps(GST_APP_SRC(track.appsrc.get()), caps);
    track.caps = Ref<GstCaps>::add_ref(caps);
  }
  const GstSegment* segment = gst_sample_get_segment(sample);
  const GstStructure* info = gst_sample_get_info(sample);
  guint64 base = 0;
  if (info) gst_structure_get_uint64(info, "base-time", &base);
  GstClockTime pts = to_abs(segment, GST_BUFFER_PTS(in), base);
  GstClockTime dts = to_abs(segment, GST_BUFFER_DTS(in), base);
  if (!GST_CLOCK_TIME_IS_VALID(pts)) pts = dts;
  if (!GST_CLOCK_TIME_IS_VALID(pts)) return;
  if (shared.rebase) {
    const GstClockTimeDiff offset = rebase_offset_locked(shared, GST_CLOCK_TIME_IS_VALID(dts) ? dts : pts);
    pts = shifted(pts, offset);
    dts = shifted(dts, offset);
    if (!GST_CLOCK_TIME_IS_VALID(pts)) return;
    if (!GST_CLOCK_TIME_IS_VALID(shared.last_out) || pts > shared.last_out) shared.last_out = pts;
  }
  GstBuffer* out = gst_buffer_copy(in);  // metadata only; the memory is shared
  GST_BUFFER_PTS(out) = pts;
  GST_BUFFER_DTS(out) = dts;
  gst_app_src_push_buffer(GST_APP_SRC(track.appsrc.get()), out);
}

GstFlowReturn on_new_sample(GstAppSink* sink, gpointer data) {
  auto* ctx = static_cast<SinkContext*>(data);
  GstSample* pulled = gst_app_sink_pull_sample(sink);
  if (!pulled) return GST_FLOW_EOS;
  Ref<GstSample> sample = Ref<GstSample>::adopt(pulled);
  // The sample's base time is the reader's (it changes when a file starts a new pass): keep it
  // with the sample, so buffers held before the publisher exists convert the same way.
  GstSample* with_base = gst_sample_copy(sample.get());
  GstStructure* info = gst_structure_new("pull", "base-time", G_TYPE_UINT64,
                                         guint64(gst_element_get_base_time(GST_ELEMENT(sink))), nullptr);
  gst_sample_set_info(with_base, info);
  sample = Ref<GstSample>::adopt(with_base);
  auto& shared = *ctx->shared;
  std::lock_guard<std::mutex> lock(shared.mutex);
  if (ctx->track < 0 || size_t(ctx->track) >= shared.tracks.size()) return GST_FLOW_OK;
  auto& track = shared.tracks[size_t(ctx->track)];
  if (shared.committed) {
    push_locked(shared, track, sample.get());
  } else {
    track.pending.push_back(std::move(sample));
    if (track.pending.size() > kMaxPendingSamples) track.pending.pop_front();
  }
  return GST_FLOW_OK;
}

void post_tracks_ready(GstElement* demux) {
  gst_element_post_message(demux, gst_message_new_element(GST_OBJECT(demux), gst_structure_new_empty(kTracksMessage)));
}

// depayloader + parser for an RTP pad of rtspsrc, by encoding name; empty when not carried.
std::pair<const char*, const char*> rtp_chain(const GstStructure* s) {
  return rtp_depay_chain(gst_structure_get_string(s, "encoding-name"));
}

// Parser for a demuxed elementary stream, by caps; nullptr when the track is not carried.
const char* parser_for(const GstStructure* s) {
  const char* name = gst_structure_get_name(s);
  if (g_str_equal(name, "video/x-h264")) return "h264parse";
  if (g_str_equal(name, "video/x-h265")) return "h265parse";
  if (g_str_equal(name, "audio/x-opus")) return "opusparse";
  if (g_str_equal(name, "audio/mpeg")) {
    int version = 0;
    gst_structure_get_int(s, "mpegversion", &version);
    return version == 1 ? "mpegaudioparse" : "aacparse";
  }
  return nullptr;
}

// Links a new pad of "demux" to a track's appsink (through depayloader and parser for RTP), or to
// a fakesink when the track is not wanted (a second video, data streams). Streaming thread.
void on_pad_added(GstElement* demux, GstPad* pad, gpointer data) {
  auto* shared_ptr = static_cast<std::shared_ptr<PullIngest::Shared>*>(data);
  auto shared = *shared_ptr;
  if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
  GstBin* bin = GST_BIN(GST_ELEMENT_PARENT(demux));
  Ref<GstCaps> caps = Ref<GstCaps>::adopt(gst_pad_get_current_caps(pad));
  if (!caps) caps = Ref<GstCaps>::adopt(gst_pad_query_caps(pad, nullptr));
  const GstStructure* s = caps && !gst_caps_is_empty(caps.get()) ? gst_caps_get_structure(caps.get(), 0) : nullptr;
  std::string media, language;
  std::vector<GstElement*> chain;
  if (s && shared->rtp_pads) {
    if (const char* lang = gst_structure_get_string(s, "a-lang")) language = lang;
    const char* m = gst_structure_get_string(s, "media");
    auto [depay, parser] = rtp_chain(s);
    if (m && depay && (g_str_equal(m, "video") || g_str_equal(m, "audio"))) {
      media = m;
      chain.push_back(gst_element_factory_make(depay, nullptr));
      chain.push_back(gst_element_factory_make(parser, nullptr));
    }
  } else if (s && parser_for(s)) {
    media = g_str_has_prefix(gst_structure_get_name(s), "video/") ? "video" : "audio";
    chain.push_back(gst_element_factory_make(parser_for(s), nullptr));
  }
  for (GstElement* e : chain)
    if (!e) {  // a plugin is missing: the track is dropped rather than announced and never fed
      release_unadded(chain);
      chain.clear();
      media.clear();
      break;
    }
  // rtspsrc names its pads "recv_rtp_src_<stream>_<ssrc>_<pt>": the stream's place in the SDP.
  unsigned stream_number = 0;
  const int order = shared->rtp_pads && std::sscanf(GST_PAD_NAME(pad), "recv_rtp_src_%u_", &stream_number) == 1
                        ? int(stream_number)
                        : -1;
  const int track = media.empty() ? -1 : shared->track_for(media, language, order);
  GstElement* queue = gst_element_factory_make("queue", nullptr);
  // Bounded in time and bytes, whatever the source sends.
  g_object_set(queue, "max-size-buffers", 0u, "max-size-bytes", guint(32u << 20), "max-size-time",
               guint64(3 * GST_SECOND), nullptr);
  GstElement* sink = nullptr;
  if (track >= 0 && !media.empty()) {
    sink = gst_element_factory_make("appsink", nullptr);
    // Files (and HLS, downloaded a segment at a time) are paced to the clock here; live sources
    // come at their own pace.
    g_object_set(sink, "sync", shared->pace ? TRUE : FALSE, "async", FALSE, "emit-signals", FALSE, "max-buffers",
                 guint(64), nullptr);
    GstAppSinkCallbacks callbacks{};
    callbacks.new_sample = on_new_sample;
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, new SinkContext{shared, track},
                               [](gpointer p) { delete static_cast<SinkContext*>(p); });
  } else {
    release_unadded(chain);
    chain.clear();
    sink = gst_element_factory_make("fakesink", nullptr);
    g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
  }
  chain.push_back(queue);
  chain.push_back(sink);
  for (GstElement* e : chain) gst_bin_add(bin, e);
  for (size_t i = 0; i + 1 < chain.size(); ++i) gst_element_link(chain[i], chain[i + 1]);
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) gst_element_sync_state_with_parent(*it);
  Ref<GstPad> sinkpad = Ref<GstPad>::adopt(gst_element_get_static_pad(chain.front(), "sink"));
  if (gst_pad_link(pad, sinkpad.get()) != GST_PAD_LINK_OK)
    log_warn(shared->stream, "", "pull-pad", "could not link a source pad (caps not supported)");
  // The last announced RTSP stream has its pad: the tracks are complete, whatever no-more-pads said.
  if (track >= 0 && shared->rtp_pads && shared->all_announced_present()) post_tracks_ready(demux);
}

// rtspsrc can say "no more pads" before the pad of a stream whose first packet came late: the
// tracks are fixed only once every announced stream has its pad (or, failing that, by the timer).
void on_no_more_pads(GstElement* demux, gpointer data) {
  auto& shared = **static_cast<std::shared_ptr<PullIngest::Shared>*>(data);
  if (shared.all_announced_present()) post_tracks_ready(demux);
}

// rtspsrc asks before SETUP whether to take each stream of the SDP: all are taken; the ones we
// carry are remembered so that track discovery knows what to wait for. Streaming/RTSP thread.
gboolean on_select_stream(GstElement*, guint, GstCaps* caps, gpointer data) {
  auto& shared = **static_cast<std::shared_ptr<PullIngest::Shared>*>(data);
  const GstStructure* s = caps && !gst_caps_is_empty(caps) ? gst_caps_get_structure(caps, 0) : nullptr;
  const char* media = s ? gst_structure_get_string(s, "media") : nullptr;
  if (!media || !rtp_chain(s).first || !(g_str_equal(media, "video") || g_str_equal(media, "audio"))) return TRUE;
  std::lock_guard<std::mutex> lock(shared.mutex);
  size_t same = 0;
  for (const auto& m : shared.announced_media) same += m == media ? 1 : 0;
  if (g_str_equal(media, "video") ? same > 0 : same >= kMaxAudioTracks) return TRUE;  // not carried
  shared.announced_media.emplace_back(media);
  return TRUE;
}

// Source properties: "src"'s location/uri is set in code (URLs never pass through launch syntax).
Status configure_reader(GstElement* pipeline, const ReaderPlan& plan, std::shared_ptr<PullIngest::Shared>& shared) {
  Ref<GstElement> src = Ref<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline), "src"));
  Ref<GstElement> demux = plan.rtp_pads ? src : Ref<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline), "demux"));
  if (!src || !demux) return Error{"reader launch line lacks src or demux"};
  g_object_set(src.get(), plan.url_property.c_str(), plan.url_value.c_str(), nullptr);
  if (is_ts_demuxer(demux.get())) guard_ts_demuxer(demux.get(), shared->stream);  // pulled bytes are untrusted too
  auto* data = new std::shared_ptr<PullIngest::Shared>(shared);
  g_signal_connect_data(
      demux.get(), "pad-added", G_CALLBACK(on_pad_added), data,
      [](gpointer p, GClosure*) { delete static_cast<std::shared_ptr<PullIngest::Shared>*>(p); }, GConnectFlags(0));
  auto* for_pads = new std::shared_ptr<PullIngest::Shared>(shared);
  g_signal_connect_data(
      demux.get(), "no-more-pads", G_CALLBACK(on_no_more_pads), for_pads,
      [](gpointer p, GClosure*) { delete static_cast<std::shared_ptr<PullIngest::Shared>*>(p); }, GConnectFlags(0));
  if (plan.rtp_pads) {
    auto* for_select = new std::shared_ptr<PullIngest::Shared>(shared);
    g_signal_connect_data(
        demux.get(), "select-stream", G_CALLBACK(on_select_stream), for_select,
        [](gpointer p, GClosure*) { delete static_cast<std::shared_ptr<PullIngest::Shared>*>(p); }, GConnectFlags(0));
  }
  return ok_status();
}

}  // namespace

PullIngest::PullIngest(PullIngestSettings settings) : settings_(std::move(settings)) {
  shared_ = std::make_shared<Shared>();
  shared_->stream = settings_.stream;
}

PullIngest::~PullIngest() { stop(); }

Status PullIngest::start() {
  started_us_ = last_change_us_ = g_get_monotonic_time();
  GSource* t = g_timeout_source_new(250);
  g_source_set_callback(t, &PullIngest::on_tick, this, nullptr);  // removed by the guard before `this` dies
  g_source_attach(t, g_main_context_get_thread_default());
  tick_ = SourceGuard(t);
  if (!settings_.launch.empty()) {
    // Full control: the user's line publishes by itself.
    auto built = ManagedPipeline::from_launch("pull:" + settings_.stream, settings_.launch);
    if (!built) return built.error();
    publisher_ = std::move(built.value());
    publisher_->set_events(events_);
    return publisher_->start();
  }
  auto plan = plan_reader(settings_.url, settings_.options);
  if (!plan) return plan.error();
  plan_ = plan.value();
  shared_->rtp_pads = plan_.rtp_pads;
  shared_->pace = !plan_.live || plan_.kind == PullKind::hls;
  shared_->rebase = settings_.rebase_live && plan_.live;
  return start_reader();
}

Status PullIngest::switch_url(const std::string& url) {
  if (stopped_ || !settings_.launch.empty()) return Error{"this ingest cannot switch its URL", ErrorReason::invalid};
  auto plan = plan_reader(url, settings_.options);
  if (!plan) return plan.error();
  if (reader_) reader_->stop();
  reader_.reset();
  restart_.reset();
  settings_.url = url;
  plan_ = plan.value();
  shared_->rtp_pads = plan_.rtp_pads;
  // Until the new reader delivers, the watchdog counts from now.
  last_change_us_ = g_get_monotonic_time();
  return start_reader();
}

Status PullIngest::start_reader() {
  auto built = ManagedPipeline::from_launch("pull-reader:" + settings_.stream, plan_.launch);
  if (!built) return built.error();
  Status st = configure_reader(built.value()->pipeline(), plan_, shared_);
  if (!st) return st;
  reader_ = std::move(built.value());
  PipelineEvents ev;
  ev.on_error = [this](const std::string& element, const std::string& message) {
    if (events_.on_error) events_.on_error(element, message);
  };
  ev.on_eos = [this]() {
    if (!plan_.live && settings_.loop) {
      // Next pass from a fresh reader, outside this bus callback.
      GSource* idle = g_idle_source_new();
      g_source_set_callback(idle, &PullIngest::on_restart, this, nullptr);  // guard-owned
      g_source_attach(idle, g_main_context_get_thread_default());
      restart_ = SourceGuard(idle);
      return;
    }
    if (events_.on_eos) events_.on_eos();
  };
  ev.on_element_message = [this](const GstStructure* s) { on_reader_message(s); };
  reader_->set_events(std::move(ev));
  ++passes_;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->pass = passes_;
  }
  return reader_->start();
}

gboolean PullIngest::on_restart(gpointer self) {
  auto* p = static_cast<PullIngest*>(self);
  p->restart_ = SourceGuard();  // finishing on its own
  if (p->stopped_) return G_SOURCE_REMOVE;
  p->reader_.reset();
  log_debug(p->settings_.stream, "", "pull-loop", "file ended, starting pass " + std::to_string(p->passes_ + 1));
  Status st = p->start_reader();
  if (!st && p->events_.on_error) p->events_.on_error("reader", st.error().message);
  return G_SOURCE_REMOVE;
}

void PullIngest::on_reader_message(const GstStructure* s) {
  if (gst_structure_has_name(s, kTracksMessage)) commit_tracks();
}

gboolean PullIngest::on_tick(gpointer self) {
  auto* p = static_cast<PullIngest*>(self);
  if (p->publisher_ || p->stopped_) return G_SOURCE_CONTINUE;
  int64_t first = 0;
  {
    std::lock_guard<std::mutex> lock(p->shared_->mutex);
    first = p->shared_->first_track_us;
  }
  // A source that never says it has all its pads: fix the tracks seen so far.
  if (first && g_get_monotonic_time() - first > int64_t(p->settings_.tracks_timeout_ms) * 1000) p->commit_tracks();
  return G_SOURCE_CONTINUE;
}

void PullIngest::commit_tracks() {
  if (publisher_ || stopped_) return;
  std::lock_guard<std::mutex> lock(shared_->mutex);
  if (shared_->tracks.empty()) return;
  GstElement* pipeline = gst_pipeline_new(nullptr);
  GstElement* sink = gst_element_factory_make("estuarysink", "bus");
  if (!sink) {
    Ref<GstElement>::adopt_floating(pipeline);  // frees it
    if (events_.on_error) events_.on_error("publisher", "estuarysink is not available");
    return;
  }
  g_object_set(sink, "stream", settings_.stream.c_str(), "gop-cache-max-bytes", settings_.gop_cache_max_bytes, nullptr);
  gst_bin_add(GST_BIN(pipeline), sink);
  std::string desc;
  // Bus tracks in the source's order (audio_0 is the first audio stream the source lists).
  std::vector<Shared::Track*> ordered;
  for (auto& track : shared_->tracks) ordered.push_back(&track);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const Shared::Track* a, const Shared::Track* b) { return a->order < b->order; });
  for (Shared::Track* t : ordered) {
    Shared::Track& track = *t;
    GstElement* src = gst_element_factory_make("appsrc", nullptr);
    g_object_set(src, "format", GST_FORMAT_TIME, "is-live", TRUE, "do-timestamp", FALSE, "max-bytes",
                 guint64(16u << 20), "leaky-type", 2 /* downstream: drop old */, nullptr);
    gst_bin_add(GST_BIN(pipeline), src);
    Ref<GstPad> target = Ref<GstPad>::adopt(gst_element_request_pad_simple(sink, "sink_%u"));
    Ref<GstPad> srcpad = Ref<GstPad>::adopt(gst_element_get_static_pad(src, "src"));
    gst_pad_link(srcpad.get(), target.get());
    if (!track.language.empty()) g_object_set(target.get(), "language", track.language.c_str(), nullptr);
    track.appsrc = Ref<GstElement>::add_ref(src);
    desc += " " + track.media + (track.language.empty() ? "" : "/" + track.language);
  }
  // Timestamps arrive as absolute clock times: a base time of 0 keeps them as they are.
  Ref<GstClock> clock = Ref<GstClock>::adopt(gst_system_clock_obtain());
  gst_pipeline_use_clock(GST_PIPELINE(pipeline), clock.get());
  gst_element_set_start_time(pipeline, GST_CLOCK_TIME_NONE);
  gst_element_set_base_time(pipeline, 0);
  publisher_ = ManagedPipeline::adopt("pull-publisher:" + settings_.stream, pipeline);
  publisher_->set_events(events_);
  Status st = publisher_->start();
  if (!st) {
    if (events_.on_error) events_.on_error("publisher", st.error().message);
    return;
  }
  shared_->committed = true;
  size_t held = 0;
  for (auto& track : shared_->tracks) {
    for (auto& sample : track.pending) push_locked(*shared_, track, sample.get());
    held += track.pending.size();
    track.pending.clear();
  }
  log_info(settings_.stream, "", "pull-tracks",
           "tracks:" + desc + " (" + std::to_string(held) + " buffers held while the source announced them)");
}

uint64_t PullIngest::bytes() {
  if (!publisher_) return 0;
  Ref<GstElement> sink = publisher_->element("bus");
  if (!sink) {  // a user's launch line: its estuarysink may have any name
    GstIterator* it = gst_bin_iterate_sinks(GST_BIN(publisher_->pipeline()));
    GValue item = G_VALUE_INIT;
    while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
      GstElement* e = GST_ELEMENT(g_value_get_object(&item));
      if (g_str_equal(G_OBJECT_TYPE_NAME(e), "GstEstuarySink")) sink = Ref<GstElement>::add_ref(e);
      g_value_reset(&item);
    }
    g_value_unset(&item);
    gst_iterator_free(it);
  }
  guint64 bytes = 0;
  if (sink) g_object_get(sink.get(), "bytes", &bytes, nullptr);
  return bytes;
}

int64_t PullIngest::idle_ms() {
  const uint64_t now_bytes = bytes();
  const int64_t now = g_get_monotonic_time();
  if (now_bytes != last_bytes_) {
    last_bytes_ = now_bytes;
    last_change_us_ = now;
  }
  return (now - last_change_us_) / 1000;
}

void PullIngest::stop() {
  stopped_ = true;
  tick_.reset();
  restart_.reset();
  if (reader_) reader_->stop();
  if (publisher_) publisher_->stop();
  reader_.reset();
  publisher_.reset();
  std::lock_guard<std::mutex> lock(shared_->mutex);
  for (auto& track : shared_->tracks) {
    track.appsrc.reset();
    track.pending.clear();
  }
}

}  // namespace estuary::pipelines
