// Owns: the shared per-stream WebRTC feed (see rtc_feed.h).
#include "server/webrtc/rtc_feed.h"

#include <atomic>

#include "common/log.h"
#include "estuarystreambus.h"
#include "server/core/control_thread.h"

namespace estuary::webrtc {
namespace {

constexpr int kReadyTimeoutMs = 5000;  // a feed not on the bus by then is failed

struct BframeFlag {
  std::atomic<bool> seen{false};
};

}  // namespace

struct RtcFeeds::Feed {
  std::string key;
  FeedInfo info;
  std::unique_ptr<pipelines::ManagedPipeline> pipeline;
  std::shared_ptr<BframeFlag> bframes = std::make_shared<BframeFlag>();
  bool ready = false;
  std::set<std::string> viewers;
  std::vector<ReadyFn> waiting;
  SourceGuard linger_timer;
  SourceGuard ready_timer;
};

Result<std::string> feed_audio_chain(const GstCaps* caps, const config::Config& config) {
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  const std::string to_opus = " ! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=2 ! opusenc bitrate=" +
                              std::to_string(config.rtc.opus_bitrate) + " frame-size=20";
  if (gst_structure_has_name(s, "audio/mpeg")) {
    int version = 0;
    gst_structure_get_int(s, "mpegversion", &version);
    if (version == 2 || version == 4) return "aacparse ! avdec_aac" + to_opus;
  }
  if (gst_structure_has_name(s, "audio/x-opus")) {
    int channels = 2, family = 0;
    gst_structure_get_int(s, "channels", &channels);
    gst_structure_get_int(s, "channel-mapping-family", &family);
    // WebRTC's opus/48000/2 carries mono or stereo Opus as it is: no decode, no quality loss, no CPU.
    if (family == 0 && channels <= 2) return std::string("opusparse");
    return "opusparse ! opusdec" + to_opus;  // surround: down-mixed to stereo once per stream
  }
  return Error{std::string("audio is ") + gst_structure_get_name(s) + "; WebRTC viewers get AAC or Opus sources only",
               422};
}

std::string feed_launch(const std::string& key, bool video, const std::string& audio_chain,
                        const config::Config& config) {
  const uint64_t queue_ns = uint64_t(config.bus.subscriber_queue_ms) * 1000000ull;
  const uint64_t gop_bytes = uint64_t(config.bus.gop_cache_max_kb) * 1024ull;
  const std::string q = "queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000";
  // catch-up: without it the feed re-stamps the source's GOP cache as live, and every WebRTC viewer
  // (whose webrtcbin sends on the clock) stays as far behind as that cache was long.
  std::string launch = "estuarysrc name=src stream=" + key +
                       " catch-up=true max-queue-time=" + std::to_string(queue_ns) +
                       " estuarysink name=sink stream=" + key + "@rtc gop-cache-max-bytes=" + std::to_string(gop_bytes);
  if (video)
    launch +=
        " src.video ! " + q +
        " ! h264parse name=vparse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au ! sink.";
  if (!audio_chain.empty()) launch += " src.audio ! " + q + " ! " + audio_chain + " ! sink.";
  return launch;
}

RtcFeeds::RtcFeeds(const config::Config& config, Events events) : config_(&config), events_(std::move(events)) {}

RtcFeeds::~RtcFeeds() {
  for (auto& [key, feed] : feeds_) {
    feed->linger_timer.reset();
    feed->ready_timer.reset();
    if (feed->pipeline) feed->pipeline->stop();
  }
}

void RtcFeeds::acquire(const std::string& key, const std::string& viewer_id, ReadyFn ready) {
  auto it = feeds_.find(key);
  if (it != feeds_.end()) {
    Feed& f = *it->second;
    f.viewers.insert(viewer_id);
    f.linger_timer.reset();
    if (f.ready)
      ready(f.info);
    else
      f.waiting.push_back(std::move(ready));
    return;
  }
  Ref<GstCaps> vcaps = Ref<GstCaps>::adopt(estuary_bus_get_caps(key.c_str(), "video"));
  Ref<GstCaps> acaps = Ref<GstCaps>::adopt(estuary_bus_get_caps(key.c_str(), "audio"));
  if (!vcaps && !acaps) return ready(Error{"stream " + key + " is not published", 404});
  if (vcaps && !gst_structure_has_name(gst_caps_get_structure(vcaps.get(), 0), "video/x-h264"))
    return ready(Error{"stream " + key + " is not H.264 (" +
                           std::string(gst_structure_get_name(gst_caps_get_structure(vcaps.get(), 0))) +
                           "); WebRTC viewers get H.264 only",
                       422});
  std::string audio_chain;
  if (acaps) {
    Result<std::string> chain = feed_audio_chain(acaps.get(), *config_);
    if (!chain) return ready(Error{"stream " + key + " " + chain.error().message, chain.error().code});
    audio_chain = chain.value();
  }

  auto feed = std::make_unique<Feed>();
  feed->key = key;
  feed->info = FeedInfo{key + "@rtc", bool(vcaps), bool(acaps)};
  const std::string launch = feed_launch(key, feed->info.video, audio_chain, *config_);
  auto built = pipelines::ManagedPipeline::from_launch("rtc-feed:" + key, launch);
  if (!built) return ready(Error{"cannot build the WebRTC feed: " + built.error().message, 500});
  feed->pipeline = std::move(built.value());
  std::weak_ptr<bool> alive = alive_;
  if (feed->info.video) {
    Ref<GstElement> parse = feed->pipeline->element("vparse");
    GstPad* pad = gst_element_get_static_pad(parse.get(), "src");
    // A frame presented later than it is decoded sits behind a B-frame.
    gst_pad_add_probe(
        pad, GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad*, GstPadProbeInfo* info, gpointer d) -> GstPadProbeReturn {
          auto* flag = static_cast<std::shared_ptr<BframeFlag>*>(d)->get();
          GstBuffer* b = GST_PAD_PROBE_INFO_BUFFER(info);
          if (GST_BUFFER_PTS_IS_VALID(b) && GST_BUFFER_DTS_IS_VALID(b) && GST_BUFFER_PTS(b) != GST_BUFFER_DTS(b))
            flag->seen.store(true, std::memory_order_relaxed);
          return GST_PAD_PROBE_OK;
        },
        new std::shared_ptr<BframeFlag>(feed->bframes),
        [](gpointer d) { delete static_cast<std::shared_ptr<BframeFlag>*>(d); });
    gst_object_unref(pad);
  }
  pipelines::PipelineEvents ev;
  ev.on_element_message = [this, alive, key](const GstStructure* s) {
    if (!alive.expired() && gst_structure_has_name(s, "estuary-stream-ready")) on_ready(key);
  };
  ev.on_error = [this, alive, key](const std::string& element, const std::string& message) {
    server::post_to_control([this, alive, key, element, message]() {
      if (!alive.expired()) on_lost(key, "WebRTC feed failed: " + element + ": " + message);
    });
  };
  ev.on_eos = [this, alive, key]() {
    server::post_to_control([this, alive, key]() {
      if (!alive.expired()) on_lost(key, "stream ended");
    });
  };
  feed->pipeline->set_events(std::move(ev));
  feed->viewers.insert(viewer_id);
  feed->waiting.push_back(std::move(ready));
  GSource* t = g_timeout_source_new(kReadyTimeoutMs);
  auto* data = new std::pair<RtcFeeds*, std::string>(this, key);  // the guard in Feed removes it first
  g_source_set_callback(
      t,
      [](gpointer p) -> gboolean {
        auto* d = static_cast<std::pair<RtcFeeds*, std::string>*>(p);
        auto it = d->first->feeds_.find(d->second);
        if (it != d->first->feeds_.end()) {
          it->second->ready_timer = SourceGuard();
          d->first->on_lost(d->second, "the WebRTC feed did not start in time");
        }
        return G_SOURCE_REMOVE;
      },
      data, [](gpointer p) { delete static_cast<std::pair<RtcFeeds*, std::string>*>(p); });
  g_source_attach(t, g_main_context_get_thread_default());
  feed->ready_timer = SourceGuard(t);
  Feed& f = *feed;
  feeds_[key] = std::move(feed);
  Status st = f.pipeline->start();
  if (!st) return on_lost(key, st.error().message);
  log_info(key, "", "rtc-feed", "started: " + launch);
}

void RtcFeeds::on_ready(const std::string& key) {
  auto it = feeds_.find(key);
  if (it == feeds_.end() || it->second->ready) return;
  Feed& f = *it->second;
  f.ready = true;
  f.ready_timer.reset();
  auto waiting = std::move(f.waiting);
  f.waiting.clear();
  const FeedInfo info = f.info;
  log_info(key, "", "rtc-feed-ready", "on the bus as " + info.bus_name);
  for (auto& fn : waiting) fn(info);
}

void RtcFeeds::on_lost(const std::string& key, const std::string& reason) {
  auto it = feeds_.find(key);
  if (it == feeds_.end()) return;
  auto waiting = std::move(it->second->waiting);
  stop_feed(key, reason);
  for (auto& fn : waiting) fn(Error{reason, 503});
  if (events_.on_feed_lost) events_.on_feed_lost(key, reason);
}

void RtcFeeds::stop_feed(const std::string& key, const std::string& reason) {
  auto it = feeds_.find(key);
  if (it == feeds_.end()) return;
  std::unique_ptr<Feed> f = std::move(it->second);
  feeds_.erase(it);
  f->linger_timer.reset();
  f->ready_timer.reset();
  if (f->pipeline) f->pipeline->stop();
  log_info(key, "", "rtc-feed-stop", reason);
}

void RtcFeeds::release(const std::string& key, const std::string& viewer_id) {
  auto it = feeds_.find(key);
  if (it == feeds_.end()) return;
  Feed& f = *it->second;
  if (!f.viewers.erase(viewer_id) || !f.viewers.empty()) return;
  // Keep the feed (and its GOP cache) a little while for the next viewer.
  GSource* t = g_timeout_source_new(guint(std::max(0, config_->outputs.linger_ms)));
  auto* data = new std::pair<RtcFeeds*, std::string>(this, key);
  g_source_set_callback(
      t,
      [](gpointer p) -> gboolean {
        auto* d = static_cast<std::pair<RtcFeeds*, std::string>*>(p);
        auto it = d->first->feeds_.find(d->second);
        if (it != d->first->feeds_.end() && it->second->viewers.empty()) {
          it->second->linger_timer = SourceGuard();
          d->first->stop_feed(d->second, "no viewers");
        }
        return G_SOURCE_REMOVE;
      },
      data, [](gpointer p) { delete static_cast<std::pair<RtcFeeds*, std::string>*>(p); });
  g_source_attach(t, g_main_context_get_thread_default());
  f.linger_timer = SourceGuard(t);
}

bool RtcFeeds::has_bframes(const std::string& key) const {
  auto it = feeds_.find(key);
  return it != feeds_.end() && it->second->bframes->seen.load(std::memory_order_relaxed);
}

}  // namespace estuary::webrtc
