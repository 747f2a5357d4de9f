// Owns: the "cmaf" output kind and the CMAF registry (see cmaf_output.h, cmaf_stream.h).
#include "server/outputs/hls/cmaf_output.h"

#include <algorithm>
#include <cstdio>

#include "common/control_thread.h"
#include "common/log.h"
#include "common/timer.h"
#include "pipelines/cmaf_feed.h"
#include "pipelines/stream_bus.h"
#include "server/control/output.h"
#include "server/outputs/hls/hls_output.h"

namespace estuary::server {
namespace {

// Low latency lists at least this many segments, so that delta playlists have something to skip
// (CAN-SKIP-UNTIL is six target durations).
constexpr size_t kLowLatencyMinWindow = 10;

Ref<GBytes> to_bytes(std::vector<uint8_t> v) {
  auto* heap = new std::vector<uint8_t>(std::move(v));
  return Ref<GBytes>::adopt(g_bytes_new_with_free_func(
      heap->data(), heap->size(), [](gpointer p) { delete static_cast<std::vector<uint8_t>*>(p); }, heap));
}

// Receives the packager's output on a streaming thread and posts it to the control thread.
class PartSink final : public pipelines::CmafPartSink {
 public:
  PartSink(std::weak_ptr<CmafStream> stream, std::weak_ptr<std::function<void(std::string)>> fail,
           std::vector<std::string> languages)
      : stream_(std::move(stream)), fail_(std::move(fail)), languages_(std::move(languages)) {}

  void on_init(std::vector<uint8_t> init, std::vector<pipelines::cmaf::TrackConfig> tracks) override {
    std::string codecs;
    int width = 0, height = 0;
    std::vector<CmafTrack> separate;  // for DASH: each track with its own init segment
    size_t audio = 0;                 // audio tracks come in bus order (audio, audio_1, ...)
    for (const auto& t : tracks) {
      codecs += (codecs.empty() ? "" : ",") + t.codec_string();
      if (t.is_video()) width = t.width, height = t.height;
      CmafTrack one;
      one.video = t.is_video();
      one.codec = t.codec_string();
      one.width = t.width;
      one.height = t.height;
      one.sample_rate = t.is_video() ? 0 : int(t.timescale());
      one.channels = t.is_video() ? 0 : t.channels;
      if (!t.is_video() && audio < languages_.size()) one.language = languages_[audio];
      if (!t.is_video()) ++audio;
      one.init = to_bytes(pipelines::cmaf::write_init_segment({t}));
      separate.push_back(std::move(one));
    }
    auto bytes = to_bytes(std::move(init));
    post_to_control([weak = stream_, bytes, codecs, width, height, separate = std::move(separate)]() mutable {
      auto s = weak.lock();
      if (!s) return;
      s->window.set_init(std::move(bytes), codecs, width, height, std::move(separate));
      s->streamers.feed(s->window);  // ends the previous publish's unfinished segment
      log_info(s->key, "", "cmaf-init",
               "codecs=" + codecs + " size=" + std::to_string(width) + "x" + std::to_string(height));
    });
  }

  void on_part(pipelines::cmaf::Part part) override {
    auto bytes = to_bytes(std::move(part.bytes));
    post_to_control([weak = stream_, part = std::move(part), bytes]() mutable {
      auto s = weak.lock();
      if (!s) return;
      const CmafSegmentEntry* seg =
          s->window.add_part(part.index, part.media_time_ns, part.duration_ns, part.independent, part.last_in_segment,
                             std::move(bytes), g_get_real_time());
      s->waiters.wake(s->window);
      s->streamers.feed(s->window);
      if (seg) on_segment(*s, *seg);
    });
  }

  void on_error(const std::string& message) override {
    post_to_control([weak = fail_, message] {
      if (auto fail = weak.lock()) (*fail)(message);
    });
  }

 private:
  static void on_segment(CmafStream& s, const CmafSegmentEntry& seg) {
    const std::string name = s.window.segment_name(seg.msn);
    char dur[32];
    std::snprintf(dur, sizeof dur, "%.3f", seg.duration_s);
    log_info(s.key, "", "hls-segment",
             "file=" + name + " seq=" + std::to_string(seg.msn) + " duration=" + dur +
                 " parts=" + std::to_string(seg.parts.size()) + " size=" + std::to_string(seg.bytes) +
                 (seg.discontinuity ? " discontinuity=true" : ""));
    if (!s.notify) return;
    const std::string app = s.key.substr(0, s.key.rfind('/'));
    const std::string stream = s.key.substr(s.key.rfind('/') + 1);
    s.notify("on_hls",
             {{"file", name},
              {"url", "/" + app + "/" + name},
              {"m3u8", stream + ".m3u8"},
              {"m3u8_url", "/" + s.key + ".m3u8"},
              {"cwd", current_directory()}},
             {{"duration", seg.duration_s}, {"seq_no", double(seg.msn)}});
  }

  std::weak_ptr<CmafStream> stream_;
  std::weak_ptr<std::function<void(std::string)>> fail_;
  std::vector<std::string> languages_;  // of the bus's audio tracks, in order
};

class CmafOutput final : public Output {
 public:
  CmafOutput(OutputContext ctx, std::shared_ptr<CmafRegistry> registry)
      : ctx_(std::move(ctx)), registry_(std::move(registry)) {}
  ~CmafOutput() override { stop(); }

  Status start() override {
    const config::HlsSection& cfg = ctx_.config->hls;
    dispose_s_ = cfg.dispose_s;
    state_ = registry_->attach(ctx_.app, ctx_.stream, cfg);
    state_->notify = ctx_.notify;
    fail_ = std::make_shared<std::function<void(std::string)>>([this](std::string reason) {
      if (ctx_.events.on_failed) ctx_.events.on_failed(reason);
    });
    pipelines::cmaf::FragmenterSettings fs;
    fs.part_target_ns = int64_t(cfg.part_target_ms) * 1'000'000;
    fs.segment_target_ns = int64_t(cfg.target_duration_s) * 1'000'000'000;
    std::vector<std::string> languages;
    for (const auto& track : pipelines::bus_audio_tracks(ctx_.app + "/" + ctx_.stream))
      languages.push_back(track.language);
    auto built = pipelines::CmafFeed::create(ctx_.app + "/" + ctx_.stream, ctx_.launch, fs,
                                             std::make_shared<PartSink>(state_, fail_, std::move(languages)));
    if (!built) return built.error();
    feed_ = std::move(built.value());
    pipelines::PipelineEvents ev;
    ev.on_error = [this](const std::string& element, const std::string& message) {
      if (ctx_.events.on_failed) ctx_.events.on_failed(element + ": " + message);
    };
    feed_->pipeline().set_events(std::move(ev));
    Status st = feed_->pipeline().start();
    if (st && ctx_.events.on_ready) ctx_.events.on_ready();
    return st;
  }

  void stop() override {
    feed_.reset();
    fail_.reset();
    if (state_) registry_->detach(state_, dispose_s_);
    state_.reset();
  }

  bool ready() const override { return feed_ != nullptr; }
  void discontinuity() override {
    if (state_) state_->window.mark_discontinuity();
  }
  fanout::ChannelPtr channel(const std::string&) const override { return nullptr; }
  std::vector<fanout::ChannelPtr> channels() const override { return {}; }

 private:
  OutputContext ctx_;
  std::shared_ptr<CmafRegistry> registry_;
  std::shared_ptr<CmafStream> state_;
  std::shared_ptr<std::function<void(std::string)>> fail_;
  std::unique_ptr<pipelines::CmafFeed> feed_;
  int dispose_s_ = 0;
};

}  // namespace

CmafWindowSettings cmaf_settings(const config::HlsSection& hls) {
  CmafWindowSettings s;
  s.target_duration_s = hls.target_duration_s;
  s.part_target_s = hls.part_target_ms / 1000.0;
  s.part_hold_back_s = hls.part_hold_back_ms / 1000.0;
  s.low_latency = hls.variant == "lowlatency";
  s.window = size_t(hls.playlist_length);
  if (s.low_latency) s.window = std::max(s.window, kLowLatencyMinWindow);
  return s;
}

std::shared_ptr<CmafStream> CmafRegistry::attach(const std::string& app, const std::string& stream,
                                                 const config::HlsSection& cfg) {
  const std::string key = app + "/" + stream;
  auto& s = streams_[key];
  if (s) {
    s->dispose_timer.reset();
  } else {
    s = std::make_shared<CmafStream>(key, stream, cmaf_settings(cfg));
  }
  s->live = true;
  return s;
}

void CmafRegistry::detach(const std::shared_ptr<CmafStream>& s, int dispose_s) {
  s->live = false;
  s->notify = nullptr;
  const std::string key = s->key;
  s->dispose_timer = start_timer_seconds(dispose_s, [this, key]() { dispose(key); });
}

CmafStream* CmafRegistry::find(const std::string& key) {
  auto it = streams_.find(key);
  return it == streams_.end() ? nullptr : it->second.get();
}

void CmafRegistry::dispose(std::string key) {
  auto it = streams_.find(key);
  if (it == streams_.end() || it->second->live) return;
  std::shared_ptr<CmafStream> s = it->second;
  streams_.erase(it);
  s->dispose_timer = SourceGuard();  // the source is finishing on its own
  s->waiters.give_up_all();
  s->streamers.end_all();
  log_info(key, "", "hls-dispose", "CMAF window dropped");
}

void register_cmaf_output(std::shared_ptr<CmafRegistry> registry) {
  register_output_kind("cmaf",
                       [registry](OutputContext ctx) -> Result<std::unique_ptr<Output>> {
                         const config::HlsSection& hls = ctx.config->hls;
                         if (!hls.enabled || hls.variant == "ts" || hls_app_disabled(hls, ctx.app))
                           return std::unique_ptr<Output>();
                         return std::unique_ptr<Output>(new CmafOutput(std::move(ctx), registry));
                       },
                       {});
}

}  // namespace estuary::server
