// Owns: the transcode output and the rendition index (see transcode_output.h).
#include "server/outputs/transcode/transcode_output.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>

#include "common/ids.h"
#include "common/log.h"
#include "pipelines/encoder_select.h"
#include "pipelines/managed_pipeline.h"
#include "pipelines/stream_bus.h"
#include "server/config/config.h"
#include "server/control/output.h"
#include "server/control/ports.h"
#include "server/control/renditions.h"

namespace estuary::server {
namespace {

bool is_factory(GstElement* e, const char* name) {
  GstElementFactory* f = gst_element_get_factory(e);
  return f && g_strcmp0(GST_OBJECT_NAME(f), name) == 0;
}

// The estuarysink elements of a pipeline, in the order the launch line names them (gst_bin
// iterates in reverse insertion order).
std::vector<Ref<GstElement>> estuary_sinks(GstElement* pipeline) {
  std::vector<Ref<GstElement>> out;
  GstIterator* it = gst_bin_iterate_recurse(GST_BIN(pipeline));
  GValue item = G_VALUE_INIT;
  while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
    auto* e = GST_ELEMENT(g_value_get_object(&item));
    if (is_factory(e, "estuarysink")) out.insert(out.begin(), Ref<GstElement>::add_ref(e));
    g_value_reset(&item);
  }
  g_value_unset(&item);
  gst_iterator_free(it);
  return out;
}

// The configured bitrate (kbit/s) of the video encoder feeding `sink`, found by walking upstream
// through single-input elements (parser, queue, tee, capsfilter); 0 if there is none.
int upstream_encoder_kbps(GstElement* sink) {
  GstIterator* it = gst_element_iterate_sink_pads(sink);
  GValue item = G_VALUE_INIT;
  int kbps = 0;
  while (kbps == 0 && gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
    Ref<GstPad> pad = Ref<GstPad>::add_ref(GST_PAD(g_value_get_object(&item)));
    for (int hops = 0; hops < 16 && pad; ++hops) {
      Ref<GstPad> peer = Ref<GstPad>::adopt(gst_pad_get_peer(pad.get()));
      if (!peer) break;
      Ref<GstElement> e = Ref<GstElement>::adopt(gst_pad_get_parent_element(peer.get()));
      if (!e) break;
      GstElementFactory* f = gst_element_get_factory(e.get());
      const char* klass = f ? gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS) : nullptr;
      if (klass && strstr(klass, "Encoder") && strstr(klass, "Video")) {
        GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(e.get()), "bitrate");
        guint64 value = 0;
        if (spec && spec->value_type == G_TYPE_UINT) {
          guint v = 0;
          g_object_get(e.get(), "bitrate", &v, nullptr);
          value = v;
        } else if (spec && spec->value_type == G_TYPE_INT) {
          gint v = 0;
          g_object_get(e.get(), "bitrate", &v, nullptr);
          value = v > 0 ? guint64(v) : 0;
        }
        // openh264enc counts bit/s; the other families kbit/s (see encoder_select.h).
        if (pipelines::encoder_family(GST_OBJECT_NAME(f)) == "openh264") value /= 1000;
        kbps = int(std::min<guint64>(value, 10'000'000));
        break;
      }
      // Continue through the element's only sink pad (a muxer or mixer ends the walk).
      if (e->numsinkpads != 1) break;
      GstIterator* sinks = gst_element_iterate_sink_pads(e.get());
      GValue first = G_VALUE_INIT;
      pad = gst_iterator_next(sinks, &first) == GST_ITERATOR_OK
                ? Ref<GstPad>::add_ref(GST_PAD(g_value_get_object(&first)))
                : Ref<GstPad>();
      g_value_unset(&first);
      gst_iterator_free(sinks);
    }
    g_value_reset(&item);
  }
  g_value_unset(&item);
  gst_iterator_free(it);
  return kbps;
}

class TranscodeOutput final : public Output {
 public:
  TranscodeOutput(OutputContext ctx, ClientRegistry& clients, PublishPort& publish, std::string pipeline_name)
      : ctx_(std::move(ctx)), clients_(clients), publish_(publish), name_(std::move(pipeline_name)) {}
  ~TranscodeOutput() override { stop(); }

  Status start() override {
    const std::string source = ctx_.app + "/" + ctx_.stream;
    auto built = pipelines::ManagedPipeline::from_launch("transcode:" + source, ctx_.launch);
    if (!built) return built.error();
    pipeline_ = std::move(built.value());
    if (!GST_IS_BIN(pipeline_->pipeline())) return Error{"transcode launch line has no estuarysink"};
    // Register every rendition as a publisher before any media flows, so the sinks' ready messages
    // find their stream; a name already live (another publisher) refuses the whole start, and the
    // supervisor retries with backoff.
    for (const Ref<GstElement>& sink : estuary_sinks(pipeline_->pipeline())) {
      gchar* raw = nullptr;
      g_object_get(sink.get(), "stream", &raw, nullptr);
      GString_ owned(raw);
      const std::string key = raw ? raw : "";
      const auto slash = key.find('/');
      if (slash == std::string::npos || key == source) {
        abandon();
        return Error{"transcode: estuarysink stream \"" + key + "\" must be app/stream and not the source"};
      }
      Status st = add_rendition(key, key.substr(0, slash), key.substr(slash + 1), upstream_encoder_kbps(sink.get()));
      if (!st) {
        abandon();
        return Error{"rendition " + key + ": " + st.error().message, st.error().reason, st.error().domain};
      }
    }
    if (renditions_.empty()) return Error{"transcode launch line has no estuarysink"};
    pipeline_->set_events(pipeline_events());
    set_renditions(source, name_, renditions_);
    Status st = pipeline_->start();
    if (!st) return st;  // the supervisor drops this output; the destructor unregisters the renditions
    std::string list;
    for (const auto& r : renditions_) list += (list.empty() ? "" : ", ") + r.key;
    log_info(source, "", "transcode-start", "pipeline " + name_ + " publishes " + list);
    if (ctx_.events.on_ready) ctx_.events.on_ready();
    return ok_status();
  }

  // A changed spec with the same renditions: the new pipeline's sinks take the renditions' bus
  // streams over (their subscribers resume at its first keyframe), then the old pipeline goes.
  // The renditions stay published by the same clients, so nothing downstream restarts.
  bool reload(const std::string& launch) override {
    const std::string source = ctx_.app + "/" + ctx_.stream;
    if (!pipeline_) return false;
    auto built = pipelines::ManagedPipeline::from_launch("transcode:" + source, launch);
    if (!built) return false;  // restarted instead: start() then reports the error
    std::unique_ptr<pipelines::ManagedPipeline> next = std::move(built.value());
    if (!GST_IS_BIN(next->pipeline())) return false;
    auto sinks = estuary_sinks(next->pipeline());
    std::vector<RenditionInfo> updated = renditions_;
    if (sinks.size() != updated.size()) return false;
    for (const Ref<GstElement>& sink : sinks) {
      gchar* raw = nullptr;
      g_object_get(sink.get(), "stream", &raw, nullptr);
      GString_ owned(raw);
      auto it =
          std::find_if(updated.begin(), updated.end(), [&](const RenditionInfo& r) { return raw && r.key == raw; });
      if (it == updated.end()) return false;  // other rendition names: a full restart
      it->video_kbps = upstream_encoder_kbps(sink.get());
      g_object_set(sink.get(), "takeover", TRUE, nullptr);
    }
    next->set_events(pipeline_events());
    if (!next->start()) return false;
    std::unique_ptr<pipelines::ManagedPipeline> old = std::move(pipeline_);
    pipeline_ = std::move(next);
    old.reset();  // its sinks' streams were taken over: their unpublish ends nothing
    renditions_ = std::move(updated);
    set_renditions(source, name_, renditions_);
    ctx_.launch = launch;
    log_info(source, "", "transcode-reload", "pipeline " + name_ + " replaced; renditions kept");
    if (ctx_.events.on_ready) ctx_.events.on_ready();
    return true;
  }

  void stop() override {
    // The pipeline goes first: its sinks unpublish the bus streams before the supervisor forgets them.
    pipeline_.reset();
    abandon();
  }

  bool ready() const override { return pipeline_ && pipeline_->state() == pipelines::PipelineState::running; }
  fanout::ChannelPtr channel(const std::string&) const override { return nullptr; }
  std::vector<fanout::ChannelPtr> channels() const override { return {}; }

  void describe(api::StreamView& v) const override {
    api::TranscodeView t;
    t.pipeline = name_;
    for (const auto& r : renditions_) t.renditions.push_back(r.key);
    t.master_playlist = "/" + ctx_.app + "/" + ctx_.stream + "_abr.m3u8";
    v.transcode = std::move(t);
  }

 private:
  Status add_rendition(const std::string& key, const std::string& app, const std::string& stream, int kbps) {
    Client c;
    c.id = new_client_id();
    c.type = kTranscodeClientType;
    c.publish = true;
    c.derived = true;
    c.ip = "127.0.0.1";
    c.app = app;
    c.stream = stream;
    c.tc_url = "estuary://transcode/" + name_;
    c.start_us = g_get_monotonic_time();
    // Kicking a rendition's publisher restarts the transcode (after the usual backoff): its
    // pipeline cannot drop one rendition alone.
    auto on_failed = ctx_.events.on_failed;
    c.kick = [on_failed, key]() {
      if (on_failed) on_failed("rendition " + key + " kicked through the API");
    };
    // What the rendition published on the bus; the last count survives the bus stream, so the
    // disconnect log line and the API totals keep it after the pipeline is gone.
    auto last = std::make_shared<uint64_t>(0);
    c.bytes_received = [key, last]() -> uint64_t {
      pipelines::BusStats st;
      if (pipelines::bus_stats(key, &st)) *last = st.video_bytes + st.audio_bytes;
      return *last;
    };
    const std::string id = c.id;
    clients_.add_client(std::move(c));
    // A rendition never goes idle in the takeover sense: nobody else may publish it while it runs.
    Status st = publish_.begin_publish(id, []() -> int64_t { return 0; });
    if (!st) {
      clients_.remove_client(id, "rendition refused: " + st.error().message);
      return st;
    }
    renditions_.push_back({key, id, kbps});
    return ok_status();
  }

  pipelines::PipelineEvents pipeline_events() {
    pipelines::PipelineEvents ev;
    ev.on_error = [this](const std::string& element, const std::string& message) {
      if (ctx_.events.on_failed) ctx_.events.on_failed(element + ": " + message);
    };
    ev.on_element_message = [this](const GstStructure* s) {
      if (!gst_structure_has_name(s, "estuary-stream-ready")) return;
      const char* stream = gst_structure_get_string(s, "stream");
      for (const auto& r : renditions_) {
        if (!stream || r.key != stream) continue;
        GstCaps* video = nullptr;
        GstCaps* audio = nullptr;
        gst_structure_get(s, "video-caps", GST_TYPE_CAPS, &video, nullptr);
        gst_structure_get(s, "audio-caps", GST_TYPE_CAPS, &audio, nullptr);
        Ref<GstCaps> v = Ref<GstCaps>::adopt(video), a = Ref<GstCaps>::adopt(audio);
        publish_.publish_ready(r.client_id, v.get(), a.get());
      }
    };
    return ev;
  }

  // Forgets the renditions: their streams end (and their outputs stop) in the supervisor.
  void abandon() {
    const std::string source = ctx_.app + "/" + ctx_.stream;
    clear_renditions(source, name_);
    auto renditions = std::move(renditions_);
    renditions_.clear();
    for (const auto& r : renditions) clients_.remove_client(r.client_id, "transcode stopped");
  }

  OutputContext ctx_;
  ClientRegistry& clients_;
  PublishPort& publish_;
  std::string name_;
  std::vector<RenditionInfo> renditions_;
  std::unique_ptr<pipelines::ManagedPipeline> pipeline_;
};

}  // namespace

void register_transcode_output(ClientRegistry& clients, PublishPort& publish) {
  register_output_kind("transcode",
                       [&clients, &publish](OutputContext ctx) -> Result<std::unique_ptr<Output>> {
                         std::string name = ctx.pipeline_name;
                         return std::unique_ptr<Output>(new TranscodeOutput(std::move(ctx), clients, publish, name));
                       },
                       {});
}

}  // namespace estuary::server
