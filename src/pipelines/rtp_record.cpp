// Owns: RecordIngest and the RTP encodings we carry (see rtp_record.h).
#include "pipelines/rtp_record.h"

#include "common/control_thread.h"

namespace estuary::pipelines {

std::pair<const char*, const char*> rtp_depay_chain(const char* enc) {
  if (!enc) return {nullptr, nullptr};
  if (g_ascii_strcasecmp(enc, "H264") == 0) return {"rtph264depay", "h264parse"};
  if (g_ascii_strcasecmp(enc, "H265") == 0) return {"rtph265depay", "h265parse"};
  if (g_ascii_strcasecmp(enc, "MPEG4-GENERIC") == 0) return {"rtpmp4gdepay", "aacparse"};
  if (g_ascii_strcasecmp(enc, "MP4A-LATM") == 0) return {"rtpmp4adepay", "aacparse"};
  if (g_ascii_strcasecmp(enc, "OPUS") == 0 || g_ascii_strcasecmp(enc, "X-GST-OPUS-DRAFT-SPITTKA-00") == 0)
    return {"rtpopusdepay", "opusparse"};
  return {nullptr, nullptr};
}

namespace {

GstPadProbeReturn count_rtp(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto& c = **static_cast<std::shared_ptr<RecordIngest::Counters>*>(data);
  uint64_t n = 0;
  if (GstBuffer* b = GST_PAD_PROBE_INFO_BUFFER(info); b && (info->type & GST_PAD_PROBE_TYPE_BUFFER)) {
    n = gst_buffer_get_size(b);
  } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    n = gst_buffer_list_calculate_size(GST_PAD_PROBE_INFO_BUFFER_LIST(info));
  }
  c.bytes.fetch_add(n, std::memory_order_relaxed);
  c.last_us.store(g_get_monotonic_time(), std::memory_order_relaxed);
  return GST_PAD_PROBE_OK;
}

}  // namespace

// What the bus's sync handler needs: the bin (to keep other elements' messages out) and the events.
struct RecordIngest::Watch {
  Ref<GstObject> bin;
  PipelineEvents events;
};

namespace {

// Streaming threads post here (sync emission); everything is handed to the control thread.
void on_sync_message(GstBus*, GstMessage* msg, gpointer data) {
  auto w = *static_cast<std::shared_ptr<RecordIngest::Watch>*>(data);
  if (!GST_MESSAGE_SRC(msg) || !gst_object_has_as_ancestor(GST_MESSAGE_SRC(msg), w->bin.get())) return;
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ELEMENT) {
    const GstStructure* s = gst_message_get_structure(msg);
    if (!s || !w->events.on_element_message) return;
    GstStructure* copy = gst_structure_copy(s);
    post_to_control([w, copy]() {
      w->events.on_element_message(copy);
      gst_structure_free(copy);
    });
  } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError* err = nullptr;
    gst_message_parse_error(msg, &err, nullptr);
    const std::string element = GST_OBJECT_NAME(GST_MESSAGE_SRC(msg));
    const std::string text = err ? err->message : "unknown error";
    g_clear_error(&err);
    // on_error (ingest_events) posts to the control thread itself.
    if (w->events.on_error) w->events.on_error(element, text);
  }
}

}  // namespace

Result<std::string> RecordIngest::launch(const std::vector<RecordTrack>& tracks) {
  if (tracks.empty()) return Error{"no media track announced", ErrorReason::invalid, "pipelines"};
  int videos = 0, audios = 0;
  std::string launch = "(";
  for (size_t i = 0; i < tracks.size(); i++) {
    const RecordTrack& t = tracks[i];
    (t.video ? videos : audios)++;
    auto [depay, parser] = rtp_depay_chain(t.encoding.c_str());
    if (!depay)
      return Error{std::string(t.video ? "video" : "audio") + " encoding \"" + t.encoding +
                       "\" is not carried (H264, H265, MPEG4-GENERIC, MP4A-LATM, OPUS are)",
                   ErrorReason::invalid, "pipelines"};
    const std::string n = std::to_string(i);
    launch += std::string(" ") + depay + " name=depay" + n + " ! " + parser + " ! valve name=gate" + n + " drop=true";
  }
  if (videos > 1 || size_t(audios) > kMaxRecordAudioTracks)
    return Error{"at most one video and " + std::to_string(kMaxRecordAudioTracks) + " audio tracks (announced " +
                     std::to_string(videos) + " video, " + std::to_string(audios) + " audio)",
                 ErrorReason::invalid, "pipelines"};
  return launch + " )";
}

Result<std::unique_ptr<RecordIngest>> RecordIngest::attach(std::string stream, GstElement* bin,
                                                           const std::vector<RecordTrack>& tracks) {
  if (!bin || !GST_IS_BIN(bin)) return Error{"the record media has no bin", ErrorReason::internal, "pipelines"};
  std::vector<Ref<GstElement>> valves;
  auto counters = std::make_shared<Counters>();
  counters->last_us.store(g_get_monotonic_time());
  for (size_t i = 0; i < tracks.size(); i++) {
    const std::string n = std::to_string(i);
    auto depay = Ref<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(bin), ("depay" + n).c_str()));
    auto valve = Ref<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(bin), ("gate" + n).c_str()));
    if (!depay || !valve) return Error{"the record media lacks track " + n, ErrorReason::internal, "pipelines"};
    Ref<GstPad> in = Ref<GstPad>::adopt(gst_element_get_static_pad(depay.get(), "sink"));
    gst_pad_add_probe(in.get(), GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST), count_rtp,
                      new std::shared_ptr<Counters>(counters),
                      [](gpointer p) { delete static_cast<std::shared_ptr<Counters>*>(p); });
    valves.push_back(std::move(valve));
  }
  std::unique_ptr<RecordIngest> ingest(
      new RecordIngest(std::move(stream), Ref<GstElement>::add_ref(bin), std::move(valves)));
  ingest->counters_ = std::move(counters);
  ingest->tracks_ = tracks;
  return ingest;
}

RecordIngest::RecordIngest(std::string stream, Ref<GstElement> bin, std::vector<Ref<GstElement>> valves)
    : stream_(std::move(stream)), bin_(std::move(bin)), valves_(std::move(valves)) {}

RecordIngest::~RecordIngest() { stop(); }

Status RecordIngest::open(uint64_t gop_cache_max_bytes, PipelineEvents events) {
  if (sink_) return ok_status();
  // The bus of the media's pipeline: the top of the bin's ancestors.
  Ref<GstObject> top = Ref<GstObject>::add_ref(GST_OBJECT(bin_.get()));
  while (GstObject* parent = gst_object_get_parent(top.get())) top = Ref<GstObject>::adopt(parent);
  if (top.get() == GST_OBJECT(bin_.get()))
    return Error{"ingest " + stream_ + ": the record media has no pipeline", ErrorReason::internal, "pipelines"};
  GstElement* sink = gst_element_factory_make("estuarysink", nullptr);
  if (!sink) return Error{"missing GStreamer element estuarysink", ErrorReason::internal, "pipelines"};
  g_object_set(sink, "stream", stream_.c_str(), "gop-cache-max-bytes", gop_cache_max_bytes, nullptr);

  bus_ = Ref<GstBus>::adopt(gst_element_get_bus(GST_ELEMENT(top.get())));
  gst_bus_enable_sync_message_emission(bus_.get());
  auto watch = std::make_shared<Watch>(Watch{Ref<GstObject>::add_ref(GST_OBJECT(bin_.get())), std::move(events)});
  gulong id = g_signal_connect_data(
      bus_.get(), "sync-message", G_CALLBACK(on_sync_message), new std::shared_ptr<Watch>(watch),
      [](gpointer p, GClosure*) { delete static_cast<std::shared_ptr<Watch>*>(p); }, GConnectFlags(0));
  bus_signal_ = SignalGuard(bus_.get(), id);

  gst_bin_add(GST_BIN(bin_.get()), sink);
  sink_ = Ref<GstElement>::add_ref(sink);
  size_t audio = 0;
  for (size_t i = 0; i < valves_.size(); i++) {
    const RecordTrack& t = tracks_[i];
    const std::string pad = t.video ? "sink_0" : "sink_" + std::to_string(1 + audio++);
    Ref<GstPad> target = Ref<GstPad>::adopt(gst_element_request_pad_simple(sink, pad.c_str()));
    if (target && !t.video && !t.language.empty()) g_object_set(target.get(), "language", t.language.c_str(), nullptr);
    Ref<GstPad> out = Ref<GstPad>::adopt(gst_element_get_static_pad(valves_[i].get(), "src"));
    if (!target || gst_pad_link(out.get(), target.get()) != GST_PAD_LINK_OK) {
      stop();
      return Error{"ingest " + stream_ + ": cannot link a track to the bus", ErrorReason::internal, "pipelines"};
    }
  }
  if (!gst_element_sync_state_with_parent(sink)) {
    stop();
    return Error{"ingest " + stream_ + ": the bus refused the stream (already published?)", ErrorReason::conflict,
                 "pipelines"};
  }
  for (auto& v : valves_) g_object_set(v.get(), "drop", FALSE, nullptr);
  return ok_status();
}

void RecordIngest::stop() {
  for (auto& v : valves_) g_object_set(v.get(), "drop", TRUE, nullptr);
  bus_signal_ = SignalGuard();
  bus_.reset();
  if (!sink_) return;
  // Locked, so the media's own state changes leave it down; NULL leaves the bus now.
  gst_element_set_locked_state(sink_.get(), TRUE);
  gst_element_set_state(sink_.get(), GST_STATE_NULL);
  sink_.reset();
}

}  // namespace estuary::pipelines
