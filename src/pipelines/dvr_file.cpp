// Owns: DvrFile (see dvr_file.h).
#include "pipelines/dvr_file.h"

#include <string>
#include <vector>

#include "pipelines/flv_output.h"

namespace estuary::pipelines {
namespace {

// The bus source ignores an EOS sent to the pipeline (it is live): finish() stops the data here
// and sends EOS into the muxer itself.
GstPadProbeReturn drop_when_finished(GstPad*, GstPadProbeInfo*, gpointer data) {
  auto& times = **static_cast<std::shared_ptr<DvrFile::Times>*>(data);
  return times.finished.load() ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
}

GstPadProbeReturn track_times(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto& times = **static_cast<std::shared_ptr<DvrFile::Times>*>(data);
  if (times.finished.load()) return GST_PAD_PROBE_DROP;
  GstBuffer* b = GST_PAD_PROBE_INFO_BUFFER(info);
  const GstClockTime ts = b ? GST_BUFFER_PTS(b) : GST_CLOCK_TIME_NONE;
  if (GST_CLOCK_TIME_IS_VALID(ts)) {
    int64_t expected = -1;
    times.first_ns.compare_exchange_strong(expected, int64_t(ts));
    if (int64_t(ts) > times.last_ns.load()) times.last_ns.store(int64_t(ts));
  }
  return GST_PAD_PROBE_OK;
}

}  // namespace

DvrFormat dvr_format_from_name(const std::string& name) {
  return name == "ts" ? DvrFormat::ts : name == "mp4" ? DvrFormat::mp4 : DvrFormat::flv;
}

const char* dvr_format_extension(DvrFormat f) {
  return f == DvrFormat::ts ? ".ts" : f == DvrFormat::mp4 ? ".mp4" : ".flv";
}

Result<std::unique_ptr<DvrFile>> DvrFile::create(const std::string& stream_name, const std::string& launch,
                                                 DvrFormat format, const std::string& path) {
  auto built = ManagedPipeline::from_launch("dvr:" + stream_name, launch);
  if (!built) return built.error();
  std::unique_ptr<DvrFile> out(new DvrFile());
  out->pipeline_ = std::move(built.value());
  out->path_ = path;
  out->times_ = std::make_shared<Times>();
  GstElement* pipe = out->pipeline_->pipeline();
  if (!GST_IS_BIN(pipe)) return Error{"dvr " + stream_name + ": launch line is not a pipeline"};
  GstElement* mux = nullptr;
  switch (format) {
    case DvrFormat::flv:
      mux = gst_element_factory_make("flvmux", "dvrmux");
      if (mux) g_object_set(mux, "streamable", TRUE, nullptr);
      break;
    case DvrFormat::ts:
      mux = gst_element_factory_make("mpegtsmux", "dvrmux");
      break;
    case DvrFormat::mp4:
      // Fragmented: a moov first, then a moof per second, so a crash loses at most the last second.
      mux = gst_element_factory_make("mp4mux", "dvrmux");
      if (mux) g_object_set(mux, "fragment-duration", 1000u, nullptr);
      break;
  }
  // Owned from here: whatever is not added to the bin is freed on return.
  Ref<GstElement> owned_mux = Ref<GstElement>::adopt_floating(mux);
  Ref<GstElement> owned_sink = Ref<GstElement>::adopt_floating(gst_element_factory_make("filesink", "dvrsink"));
  GstElement* sink = owned_sink.get();
  if (!mux || !sink)
    return Error{"dvr " + stream_name + ": muxer or filesink missing", ErrorReason::internal, "pipelines"};
  g_object_set(sink, "location", path.c_str(), "buffer-mode", 2 /* unbuffered */, "async", FALSE, nullptr);
  gst_bin_add_many(GST_BIN(pipe), mux, sink, nullptr);
  out->mux_ = owned_mux;
  if (!gst_element_link(mux, sink)) return Error{"dvr " + stream_name + ": cannot link muxer to filesink"};
  bool linked = false;
  // "audio_1", "audio_2", ...: further audio tracks (pipelines.d audio_extra), muxed into TS and MP4;
  // FLV carries one audio track, so they end in a fakesink there.
  std::vector<std::string> names = {"video", "audio"};
  for (int k = 1; k < 8 && out->pipeline_->element(("audio_" + std::to_string(k)).c_str()); ++k)
    names.push_back("audio_" + std::to_string(k));
  for (const std::string& name : names) {
    Ref<GstElement> e = out->pipeline_->element(name.c_str());
    if (!e) continue;
    if (format == DvrFormat::flv && name.rfind("audio_", 0) == 0) {
      GstElement* drop = gst_element_factory_make("fakesink", nullptr);
      g_object_set(drop, "sync", FALSE, "async", FALSE, nullptr);
      gst_bin_add(GST_BIN(pipe), drop);
      gst_element_link(e.get(), drop);
      continue;
    }
    if (!gst_element_link(e.get(), mux))
      return Error{"dvr " + stream_name + ": cannot link \"" + name + "\" to the " + dvr_format_extension(format) +
                   " muxer"};
    linked = true;
    Ref<GstPad> pad = Ref<GstPad>::adopt(gst_element_get_static_pad(e.get(), "src"));
    const bool video = name == "video";
    gst_pad_add_probe(pad.get(), GST_PAD_PROBE_TYPE_BUFFER, video ? track_times : drop_when_finished,
                      new std::shared_ptr<Times>(out->times_),
                      [](gpointer p) { delete static_cast<std::shared_ptr<Times>*>(p); });
  }
  if (!linked) return Error{"dvr " + stream_name + ": launch line has no element named \"video\" or \"audio\""};
  // Tags from the publisher would each become one more onMetaData tag in the file.
  if (format == DvrFormat::flv) drop_tags_into_muxers(GST_BIN(pipe));
  return out;
}

double DvrFile::duration_s() const {
  const int64_t first = times_->first_ns.load(), last = times_->last_ns.load();
  return first < 0 || last < first ? 0 : double(last - first) / 1e9;
}

void DvrFile::finish() {
  times_->finished.store(true);
  if (!mux_) return;
  GstIterator* it = gst_element_iterate_sink_pads(mux_.get());
  GValue v = G_VALUE_INIT;
  while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
    gst_pad_send_event(GST_PAD(g_value_get_object(&v)), gst_event_new_eos());
    g_value_reset(&v);
  }
  g_value_unset(&v);
  gst_iterator_free(it);
}

DvrFile::~DvrFile() {
  if (pipeline_) pipeline_->stop();
}

}  // namespace estuary::pipelines
