// Owns: CmafFeed (see cmaf_feed.h).
#include "pipelines/cmaf_feed.h"

#include <gst/app/gstappsink.h>

#include <mutex>
#include <optional>

#include "pipelines/av1_config.h"

namespace estuary::pipelines {

// Samples that arrive before every track has its caps wait here (bounded).
constexpr size_t kMaxStash = 600;
// Appsinks by slot: the video, the first audio track, then the further ones of a stream with several
// (pipelines.d audio_extra: "audio_1", "audio_2", ...).
constexpr int kSlots = 9;
const char* const kSlotNames[kSlots] = {"video",   "audio",   "audio_1", "audio_2", "audio_3",
                                        "audio_4", "audio_5", "audio_6", "audio_7"};

struct CmafFeed::State {
  std::mutex mu;
  std::shared_ptr<CmafPartSink> sink;
  cmaf::FragmenterSettings settings;
  // Slot 0 video, slot 1 audio, then audio_1, ...; present = the launch line has that appsink.
  bool present[kSlots] = {};
  std::optional<cmaf::TrackConfig> config[kSlots];
  std::optional<cmaf::Fragmenter> fragmenter;
  size_t track_of_slot[kSlots] = {};
  std::vector<std::pair<int, cmaf::Sample>> stash;
  bool failed = false;
};

namespace {

struct SinkData {
  std::shared_ptr<CmafFeed::State> state;
  int slot;
};

std::vector<uint8_t> buffer_bytes(GstBuffer* buffer) {
  std::vector<uint8_t> out(gst_buffer_get_size(buffer));
  gst_buffer_extract(buffer, 0, out.data(), out.size());
  return out;
}

// An AV1 temporal unit as an MP4 sample (temporal delimiters left out). A track whose caps had no
// usable av1C takes it from the first sequence header; units before it are dropped. A sync sample is
// a key unit that carries a sequence header (the binding's rule, so every segment starts decodable).
bool av1_sample(cmaf::TrackConfig& config, std::vector<uint8_t>& bytes, bool* sync) {
  auto sample = av1::mp4_sample(bytes.data(), bytes.size());
  if (!sample) return false;
  bytes = std::move(*sample);
  const bool header = av1::has_sequence_header(bytes.data(), bytes.size());
  if (config.codec_private.empty()) {
    if (header) config.codec_private = av1::av1c_from_obus(bytes.data(), bytes.size());
    if (config.codec_private.empty()) return false;
  }
  *sync = *sync && header;
  return true;
}

// With the lock held: builds the fragmenter once every present track has its configuration.
void maybe_start(CmafFeed::State& st) {
  std::vector<cmaf::TrackConfig> tracks;
  for (int s = 0; s < kSlots; ++s) {
    if (!st.present[s]) continue;
    if (!st.config[s] || (st.config[s]->codec == cmaf::Codec::av1 && st.config[s]->codec_private.empty())) return;
    st.track_of_slot[s] = tracks.size();
    tracks.push_back(*st.config[s]);
  }
  if (tracks.empty()) return;
  auto init = cmaf::write_init_segment(tracks);
  if (init.empty()) {
    st.failed = true;
    st.sink->on_error("codec configuration missing from caps");
    return;
  }
  st.fragmenter.emplace(tracks, st.settings);
  st.sink->on_init(std::move(init), std::move(tracks));
  auto stash = std::move(st.stash);
  for (auto& [slot, sample] : stash)
    for (auto& p : st.fragmenter->push(st.track_of_slot[slot], std::move(sample))) st.sink->on_part(std::move(p));
}

GstFlowReturn on_new_sample(GstAppSink* appsink, gpointer data) {
  auto* d = static_cast<SinkData*>(data);
  GstSample* raw = gst_app_sink_pull_sample(appsink);
  if (!raw) return GST_FLOW_EOS;
  Ref<GstSample> sample = Ref<GstSample>::adopt(raw);
  GstBuffer* buffer = gst_sample_get_buffer(raw);
  if (!buffer) return GST_FLOW_OK;
  CmafFeed::State& st = *d->state;
  std::lock_guard<std::mutex> lock(st.mu);
  if (st.failed) return GST_FLOW_OK;
  if (!st.config[d->slot]) {
    auto cfg = cmaf_track_from_caps(gst_sample_get_caps(raw));
    if (!cfg) {
      st.failed = true;
      st.sink->on_error(cfg.error().message);
      return GST_FLOW_OK;
    }
    st.config[d->slot] = cfg.value();
  }
  const GstClockTime dts = GST_BUFFER_DTS_OR_PTS(buffer);
  if (!GST_CLOCK_TIME_IS_VALID(dts)) return GST_FLOW_OK;
  cmaf::Sample s;
  s.dts_ns = int64_t(dts);
  s.pts_ns = GST_BUFFER_PTS_IS_VALID(buffer) ? int64_t(GST_BUFFER_PTS(buffer)) : s.dts_ns;
  s.duration_ns = GST_BUFFER_DURATION_IS_VALID(buffer) ? int64_t(GST_BUFFER_DURATION(buffer)) : 0;
  s.keyframe = !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  std::vector<uint8_t> bytes = buffer_bytes(buffer);
  if (st.config[d->slot]->codec == cmaf::Codec::av1 && !av1_sample(*st.config[d->slot], bytes, &s.keyframe))
    return GST_FLOW_OK;
  s.data = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
  if (!st.fragmenter) {
    if (st.stash.size() < kMaxStash) st.stash.emplace_back(d->slot, std::move(s));
    maybe_start(st);
    return GST_FLOW_OK;
  }
  for (auto& p : st.fragmenter->push(st.track_of_slot[d->slot], std::move(s))) st.sink->on_part(std::move(p));
  return GST_FLOW_OK;
}

std::vector<uint8_t> codec_data(const GstStructure* s) {
  const GValue* v = gst_structure_get_value(s, "codec_data");
  if (!v || !GST_VALUE_HOLDS_BUFFER(v)) return {};
  return buffer_bytes(gst_value_get_buffer(v));
}

}  // namespace

Result<cmaf::TrackConfig> cmaf_track_from_caps(const GstCaps* caps) {
  if (!caps || gst_caps_get_size(caps) == 0)
    return Error{"cmaf: sample without caps", ErrorReason::invalid, "pipelines"};
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  const std::string name = gst_structure_get_name(s);
  cmaf::TrackConfig t;
  if (name == "video/x-h264" || name == "video/x-h265") {
    t.codec = name == "video/x-h264" ? cmaf::Codec::h264 : cmaf::Codec::h265;
    gst_structure_get_int(s, "width", &t.width);
    gst_structure_get_int(s, "height", &t.height);
    t.codec_private = codec_data(s);
  } else if (name == "video/x-av1") {
    t.codec = cmaf::Codec::av1;
    gst_structure_get_int(s, "width", &t.width);
    gst_structure_get_int(s, "height", &t.height);
    // Rebuilt from its sequence header when the caps carry an av1C; else from the first one in the stream.
    t.codec_private = av1::av1c_from_record(codec_data(s));
  } else if (name == "audio/mpeg") {
    t.codec = cmaf::Codec::aac;
    t.codec_private = codec_data(s);
    gst_structure_get_int(s, "rate", &t.sample_rate);
    gst_structure_get_int(s, "channels", &t.channels);
  } else if (name == "audio/x-opus") {
    t.codec = cmaf::Codec::opus;
    gst_structure_get_int(s, "rate", &t.sample_rate);
    gst_structure_get_int(s, "channels", &t.channels);
    int family = 0;
    gst_structure_get_int(s, "channel-mapping-family", &family);
    if (family != 0 || t.channels > 2)
      return Error{"cmaf: Opus with more than two channels is not packaged", ErrorReason::unsupported, "pipelines"};
    const GValue* headers = gst_structure_get_value(s, "streamheader");
    if (headers && GST_VALUE_HOLDS_ARRAY(headers) && gst_value_array_get_size(headers) > 0) {
      const GValue* first = gst_value_array_get_value(headers, 0);
      if (GST_VALUE_HOLDS_BUFFER(first)) t.codec_private = buffer_bytes(gst_value_get_buffer(first));
    }
  } else {
    return Error{"cmaf: codec " + name + " cannot be packaged", ErrorReason::unsupported, "pipelines"};
  }
  if (t.codec != cmaf::Codec::opus && t.codec != cmaf::Codec::av1 && t.codec_private.empty())
    return Error{"cmaf: " + name + " caps carry no codec_data", ErrorReason::invalid, "pipelines"};
  return t;
}

Result<std::unique_ptr<CmafFeed>> CmafFeed::create(const std::string& stream_name, const std::string& launch,
                                                   cmaf::FragmenterSettings settings,
                                                   std::shared_ptr<CmafPartSink> sink) {
  auto built = ManagedPipeline::from_launch("cmaf:" + stream_name, launch);
  if (!built) return built.error();
  auto state = std::make_shared<State>();
  state->sink = std::move(sink);
  state->settings = settings;
  static const char* kVideoCaps =
      "video/x-h264,stream-format=avc,alignment=au; video/x-h265,stream-format=hvc1,alignment=au; "
      "video/x-av1,stream-format=obu-stream,alignment=tu";
  static const char* kAudioCaps = "audio/mpeg,mpegversion=4,stream-format=raw; audio/x-opus";
  for (int slot = 0; slot < kSlots; ++slot) {
    Ref<GstElement> appsink = built.value()->element(kSlotNames[slot]);
    if (!appsink) continue;
    if (!GST_IS_APP_SINK(appsink.get()))
      return Error{std::string("cmaf output ") + stream_name + ": \"" + kSlotNames[slot] + "\" is not an appsink",
                   ErrorReason::invalid, "pipelines"};
    state->present[slot] = true;
    GstCaps* caps = gst_caps_from_string(slot == 0 ? kVideoCaps : kAudioCaps);
    g_object_set(appsink.get(), "sync", FALSE, "max-buffers", 0u, "drop", FALSE, "caps", caps, nullptr);
    gst_caps_unref(caps);
    // async=false: with one streaming thread for every track (no queues), the first appsink to
    // preroll would hold that thread and the others would never preroll.
    g_object_set(appsink.get(), "async", FALSE, nullptr);
    GstAppSinkCallbacks callbacks{};
    callbacks.new_sample = on_new_sample;
    gst_app_sink_set_callbacks(GST_APP_SINK(appsink.get()), &callbacks, new SinkData{state, slot},
                               [](gpointer p) { delete static_cast<SinkData*>(p); });
  }
  if (!state->present[0] && !state->present[1])  // audio_1... come with audio
    return Error{"cmaf output " + stream_name + ": launch line has no appsink named \"video\" or \"audio\"",
                 ErrorReason::invalid, "pipelines"};
  std::unique_ptr<CmafFeed> out(new CmafFeed());
  out->pipeline_ = std::move(built.value());
  return out;
}

CmafFeed::~CmafFeed() {
  if (pipeline_) pipeline_->stop();
}

}  // namespace estuary::pipelines
