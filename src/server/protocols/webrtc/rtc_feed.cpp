// Owns: the shared per-stream WebRTC feed output (see rtc_feed.h).
#include "server/protocols/webrtc/rtc_feed.h"

#include <atomic>
#include <map>

#include "common/control_thread.h"
#include "common/log.h"
#include "common/timer.h"
#include "pipelines/managed_pipeline.h"
#include "pipelines/stream_bus.h"
#include "server/control/output.h"

namespace estuary::webrtc {
namespace {

constexpr int kReadyTimeoutMs = 5000;  // a feed not on the bus by then is failed

struct BframeFlag {
  std::atomic<bool> seen{false};
};

// Control-thread registries shared by the feed outputs and the WebRTC service.
std::map<std::string, std::shared_ptr<BframeFlag>>& bframe_flags() {
  static std::map<std::string, std::shared_ptr<BframeFlag>> flags;
  return flags;
}
FeedLostFn& feed_lost_handler() {
  static FeedLostFn fn;
  return fn;
}

// One stream's feed: a pipeline from the stream to "app/x@rtc" on the bus. The supervisor's output
// slot runs it (first viewer, linger, restart with backoff); it tells the WebRTC service when it
// stops so the viewers reading its bus stream go with it.
class RtcFeedOutput final : public server::Output {
 public:
  explicit RtcFeedOutput(server::OutputContext ctx) : ctx_(std::move(ctx)), key_(ctx_.app + "/" + ctx_.stream) {}
  ~RtcFeedOutput() override { stop(); }

  Status start() override {
    std::string audio_chain;
    Result<FeedInfo> plan = plan_feed(key_, *ctx_.config, &audio_chain);
    if (!plan) return plan.error();
    const std::string launch = feed_launch(key_, plan->video, audio_chain, *ctx_.config, plan->hevc);
    auto built = pipelines::ManagedPipeline::from_launch("rtc-feed:" + key_, launch);
    if (!built) return Error{"cannot build the WebRTC feed: " + built.error().message, ErrorReason::internal, "webrtc"};
    pipeline_ = std::move(built.value());
    auto flag = std::make_shared<BframeFlag>();
    bframe_flags()[key_] = flag;
    if (plan->video) watch_bframes(flag);
    pipelines::PipelineEvents ev;
    server::OutputEvents events = ctx_.events;
    std::weak_ptr<bool> alive = alive_;
    const std::string key = key_;
    ev.on_element_message = [this, alive, events](const GstStructure* s) {  // control thread (bus watch)
      if (alive.expired() || ready_ || !gst_structure_has_name(s, "estuary-stream-ready")) return;
      ready_ = true;
      ready_timer_.reset();
      log_info(key_, "", "rtc-feed-ready", "on the bus as " + key_ + "@rtc");
      if (events.on_ready) events.on_ready();
    };
    ev.on_error = [events](const std::string& element, const std::string& message) {
      if (events.on_failed) events.on_failed("WebRTC feed failed: " + element + ": " + message);
    };
    ev.on_eos = [events]() {
      if (events.on_failed) events.on_failed("stream ended");
    };
    pipeline_->set_events(std::move(ev));
    ready_timer_ = start_timer(kReadyTimeoutMs, [this, events]() {  // owned by this output
      if (!ready_ && events.on_failed) events.on_failed("the WebRTC feed did not start in time");
    });
    Status st = pipeline_->start();
    if (!st) return st;
    log_info(key_, "", "rtc-feed", "started: " + launch);
    return ok_status();
  }

  void stop() override {
    ready_timer_.reset();
    if (!pipeline_) return;
    pipeline_->stop();
    pipeline_.reset();
    ready_ = false;
    bframe_flags().erase(key_);
    log_info(key_, "", "rtc-feed-stop", "feed stopped");
    // Viewers read "app/x@rtc", which has just ended: the service closes them, on a later turn of
    // the loop (this runs inside the supervisor's slot teardown, which must not see clients leave).
    post_to_control([key = key_]() {
      if (feed_lost_handler()) feed_lost_handler()(key, "the WebRTC feed stopped");
    });
  }

  bool ready() const override { return ready_; }
  fanout::ChannelPtr channel(const std::string&) const override { return nullptr; }
  std::vector<fanout::ChannelPtr> channels() const override { return {}; }
  std::string bus_stream(const std::string&) const override { return key_ + "@rtc"; }

 private:
  // A frame presented later than it is decoded sits behind a B-frame, which WebRTC cannot carry.
  void watch_bframes(const std::shared_ptr<BframeFlag>& flag) {
    Ref<GstElement> parse = pipeline_->element("vparse");
    Ref<GstPad> pad = Ref<GstPad>::adopt(gst_element_get_static_pad(parse.get(), "src"));
    gst_pad_add_probe(
        pad.get(), GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad*, GstPadProbeInfo* info, gpointer d) -> GstPadProbeReturn {
          auto* seen = static_cast<std::shared_ptr<BframeFlag>*>(d)->get();
          GstBuffer* b = GST_PAD_PROBE_INFO_BUFFER(info);
          if (GST_BUFFER_PTS_IS_VALID(b) && GST_BUFFER_DTS_IS_VALID(b) && GST_BUFFER_PTS(b) != GST_BUFFER_DTS(b))
            seen->seen.store(true, std::memory_order_relaxed);
          return GST_PAD_PROBE_OK;
        },
        new std::shared_ptr<BframeFlag>(flag), [](gpointer d) { delete static_cast<std::shared_ptr<BframeFlag>*>(d); });
  }

  server::OutputContext ctx_;
  std::string key_;
  std::unique_ptr<pipelines::ManagedPipeline> pipeline_;
  bool ready_ = false;
  SourceGuard ready_timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

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
               ErrorReason::unprocessable, "webrtc"};
}

std::string feed_launch(const std::string& key, bool video, const std::string& audio_chain,
                        const config::Config& config, bool hevc) {
  const uint64_t queue_ns = uint64_t(config.bus.subscriber_queue_ms) * 1000000ull;
  const uint64_t gop_bytes = uint64_t(config.bus.gop_cache_max_kb) * 1024ull;
  const std::string q = "queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000";
  // catch-up: without it the feed re-stamps the source's GOP cache as live, and every WebRTC viewer
  // (whose webrtcbin sends on the clock) stays as far behind as that cache was long.
  std::string launch = "estuarysrc name=src stream=" + key +
                       " catch-up=true max-queue-time=" + std::to_string(queue_ns) +
                       " estuarysink name=sink stream=" + key + "@rtc gop-cache-max-bytes=" + std::to_string(gop_bytes);
  const std::string codec = hevc ? "h265" : "h264";
  if (video)
    launch += " src.video ! " + q + " ! " + codec + "parse name=vparse config-interval=-1 ! video/x-" + codec +
              ",stream-format=byte-stream,alignment=au ! sink.";
  if (!audio_chain.empty()) launch += " src.audio ! " + q + " ! " + audio_chain + " ! sink.";
  return launch;
}

Result<FeedInfo> plan_feed(const std::string& key, const config::Config& config, std::string* audio_chain) {
  Ref<GstCaps> vcaps = pipelines::bus_caps(key, "video");
  Ref<GstCaps> acaps = pipelines::bus_caps(key, "audio");
  if (!vcaps && !acaps) return Error{"stream " + key + " is not published", ErrorReason::not_found, "webrtc"};
  const bool hevc = vcaps && gst_structure_has_name(gst_caps_get_structure(vcaps.get(), 0), "video/x-h265");
  if (vcaps && !hevc && !gst_structure_has_name(gst_caps_get_structure(vcaps.get(), 0), "video/x-h264"))
    return Error{"stream " + key + " is not H.264 or H.265 (" +
                     std::string(gst_structure_get_name(gst_caps_get_structure(vcaps.get(), 0))) +
                     "); WebRTC viewers get H.264, or H.265 where their offer has it",
                 ErrorReason::unprocessable, "webrtc"};
  audio_chain->clear();
  if (acaps) {
    Result<std::string> chain = feed_audio_chain(acaps.get(), config);
    if (!chain) return Error{"stream " + key + " " + chain.error().message, chain.error().reason, "webrtc"};
    *audio_chain = chain.value();
  }
  return FeedInfo{key + "@rtc", bool(vcaps), bool(acaps), hevc};
}

bool rtc_feed_has_bframes(const std::string& key) {
  auto it = bframe_flags().find(key);
  return it != bframe_flags().end() && it->second->seen.load(std::memory_order_relaxed);
}

void set_rtc_feed_lost_handler(FeedLostFn fn) { feed_lost_handler() = std::move(fn); }

void register_rtc_feed_output() {
  server::register_output_kind(kRtcFeedFormat,
                               [](server::OutputContext ctx) -> Result<std::unique_ptr<server::Output>> {
                                 return std::unique_ptr<server::Output>(new RtcFeedOutput(std::move(ctx)));
                               },
                               {kRtcFeedFormat});
}

}  // namespace estuary::webrtc
