// Owns: the demuxing ingest pipeline (see demux_ingest.h).
#include "pipelines/demux_ingest.h"

#include <cstring>

#include "pipelines/ts_guard_probe.h"

namespace estuary::pipelines {
namespace {

// The parser a demuxed track's caps need, or nullptr when we have none for them.
const char* parser_for(const GstStructure* s, bool* video) {
  const char* media = gst_structure_get_name(s);
  *video = g_str_has_prefix(media, "video/");
  if (g_str_equal(media, "video/x-h264")) return "h264parse";
  if (g_str_equal(media, "video/x-h265")) return "h265parse";
  if (g_str_equal(media, "audio/mpeg")) {
    int version = 0;
    gst_structure_get_int(s, "mpegversion", &version);
    return version == 1 ? "mpegaudioparse" : "aacparse";
  }
  if (g_str_equal(media, "audio/x-opus")) return "opusparse";
  return nullptr;
}

constexpr const char* kAudioPids = "estuary-audio-pids";

// The bus sink pad of a demuxed audio pad: by PID (tsdemux names it audio_<gen>_<pid in hex>) when
// the ingest announced several tracks, else the first audio pad.
std::string audio_sink_pad(GstBin* bin, GstPad* pad) {
  auto* pids = static_cast<std::vector<int>*>(g_object_get_data(G_OBJECT(bin), kAudioPids));
  if (!pids) return "sink_1";
  GString_ name(gst_pad_get_name(pad));
  const char* underscore = name.get() ? strrchr(name.get(), '_') : nullptr;
  if (!underscore) return "";
  const int pid = int(g_ascii_strtoll(underscore + 1, nullptr, 16));
  for (size_t i = 0; i < pids->size(); ++i)
    if ((*pids)[i] == pid) return "sink_" + std::to_string(i + 1);
  return "";
}

// Links a new demuxer pad through its parser into the matching bus sink pad; a track that was not
// announced, a second track of a kind, or an unknown codec goes to a fakesink.
// Runs on the demuxer's streaming thread; touches only elements of this pipeline.
void on_demux_pad_added(GstElement*, GstPad* pad, gpointer bin_ptr) {
  GstBin* bin = GST_BIN(bin_ptr);
  Ref<GstCaps> caps = Ref<GstCaps>::adopt(gst_pad_get_current_caps(pad));
  if (!caps) caps = Ref<GstCaps>::adopt(gst_pad_query_caps(pad, nullptr));
  if (!caps || gst_caps_is_empty(caps.get())) return;
  bool video = false;
  const char* parser_name = parser_for(gst_caps_get_structure(caps.get(), 0), &video);
  Ref<GstPad> target;
  if (parser_name) {
    Ref<GstElement> sink = Ref<GstElement>::adopt(gst_bin_get_by_name(bin, "bus"));
    const std::string sink_pad = video ? "sink_0" : audio_sink_pad(bin, pad);
    if (!sink_pad.empty()) target = Ref<GstPad>::adopt(gst_element_get_static_pad(sink.get(), sink_pad.c_str()));
  }
  GstElement* next = nullptr;
  if (target && !gst_pad_is_linked(target.get())) {
    next = gst_element_factory_make(parser_name, nullptr);
  } else {
    next = gst_element_factory_make("fakesink", nullptr);
    if (next) g_object_set(next, "sync", FALSE, "async", FALSE, nullptr);
    target.reset();
  }
  if (!next) return;
  gst_bin_add(bin, next);
  Ref<GstPad> nsink = Ref<GstPad>::adopt(gst_element_get_static_pad(next, "sink"));
  if (target) {
    Ref<GstPad> nsrc = Ref<GstPad>::adopt(gst_element_get_static_pad(next, "src"));
    gst_pad_link(nsrc.get(), target.get());
  }
  gst_element_sync_state_with_parent(next);
  gst_pad_link(pad, nsink.get());
}

}  // namespace

Result<DemuxIngest> start_demux_ingest(const DemuxIngestSpec& spec) {
  // Floating references sunk at once: every early return releases what was made.
  auto pipeline = Ref<GstElement>::adopt_floating(gst_pipeline_new(nullptr));
  auto src = Ref<GstElement>::adopt_floating(gst_element_factory_make("appsrc", "src"));
  auto demux = Ref<GstElement>::adopt_floating(gst_element_factory_make(spec.demuxer, "demux"));
  auto sink = Ref<GstElement>::adopt_floating(gst_element_factory_make("estuarysink", "bus"));
  if (!pipeline || !src || !demux || !sink) {
    return Error{"ingest " + spec.stream + ": missing GStreamer element (appsrc, " + spec.demuxer + " or estuarysink)",
                 ErrorReason::internal, "pipelines"};
  }
  g_object_set(src.get(), "caps", spec.caps.get(), "format", GST_FORMAT_BYTES, "is-live", TRUE, "max-bytes",
               static_cast<guint64>(spec.max_bytes), nullptr);
  if (spec.drop_when_full) g_object_set(src.get(), "leaky-type", 1 /* upstream: drop new */, nullptr);
  g_object_set(sink.get(), "stream", spec.stream.c_str(), "gop-cache-max-bytes", spec.gop_cache_max_bytes, nullptr);
  // The bin takes its own references (the elements are no longer floating); ours go at return.
  gst_bin_add_many(GST_BIN(pipeline.get()), src.get(), demux.get(), sink.get(), nullptr);
  gst_element_link(src.get(), demux.get());
  // Announce exactly the tracks the caller saw, so the bus declares the stream ready with all of them.
  if (spec.video) gst_object_unref(gst_element_request_pad_simple(sink.get(), "sink_0"));
  if (spec.audio && spec.audio_tracks.empty()) gst_object_unref(gst_element_request_pad_simple(sink.get(), "sink_1"));
  if (spec.audio && !spec.audio_tracks.empty()) {
    auto* pids = new std::vector<int>();
    for (size_t i = 0; i < spec.audio_tracks.size(); ++i) {
      const std::string name = "sink_" + std::to_string(i + 1);
      GstPad* pad = gst_element_request_pad_simple(sink.get(), name.c_str());
      if (!spec.audio_tracks[i].language.empty())
        g_object_set(pad, "language", spec.audio_tracks[i].language.c_str(), nullptr);
      gst_object_unref(pad);
      pids->push_back(spec.audio_tracks[i].pid);
    }
    g_object_set_data_full(G_OBJECT(pipeline.get()), kAudioPids, pids,
                           [](gpointer p) { delete static_cast<std::vector<int>*>(p); });
  }
  if (is_ts_demuxer(demux.get())) guard_ts_demuxer(demux.get(), spec.stream);  // untrusted bytes
  g_signal_connect_object(demux.get(), "pad-added", G_CALLBACK(on_demux_pad_added), pipeline.get(), GConnectFlags(0));
  DemuxIngest out;
  out.appsrc = src;
  out.pipeline = ManagedPipeline::adopt("ingest:" + spec.stream, pipeline.release());
  out.pipeline->set_events(spec.events);
  Status st = out.pipeline->start();
  if (!st) return st.error();
  return out;
}

}  // namespace estuary::pipelines
