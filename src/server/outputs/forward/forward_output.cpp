// Owns: ForwardOutput, the "forward" output kind (see forward_output.h).
#include "server/outputs/forward/forward_output.h"

#include <algorithm>
#include <memory>
#include <set>

#include "common/log.h"
#include "common/timer.h"
#include "pipelines/flv_push.h"
#include "pipelines/managed_pipeline.h"
#include "pipelines/pull_url.h"
#include "pipelines/push_launch.h"
#include "pipelines/stream_bus.h"
#include "server/control/output.h"

namespace estuary::server {
namespace {

constexpr int kTickMs = 500;
constexpr int64_t kStableRunUs = 10 * G_USEC_PER_SEC;  // forwarding this long resets the backoff
// Bytes the sink put on the wire (rtmp2sink: out-bytes-total; srtsink: bytes-sent-total).
uint64_t sink_bytes(GstElement* sink) {
  if (!sink) return 0;
  GstStructure* stats = nullptr;
  g_object_get(sink, "stats", &stats, nullptr);
  if (!stats) return 0;
  uint64_t out = 0;
  for (const char* field : {"out-bytes-total", "bytes-sent-total"}) {
    const GValue* v = gst_structure_get_value(stats, field);
    if (!v) continue;
    if (G_VALUE_HOLDS_UINT64(v)) out = g_value_get_uint64(v);
    if (G_VALUE_HOLDS_INT64(v)) out = uint64_t(std::max<gint64>(0, g_value_get_int64(v)));
  }
  gst_structure_free(stats);
  return out;
}

class ForwardOutput;
std::set<ForwardOutput*>& live_outputs() {
  static std::set<ForwardOutput*> outputs;  // control thread only
  return outputs;
}

class ForwardOutput final : public Output {
 public:
  explicit ForwardOutput(OutputContext ctx) : ctx_(std::move(ctx)), key_(ctx_.app + "/" + ctx_.stream) {
    for (const auto& rule : ctx_.config->forwards) {
      if (!rule.matches(key_)) continue;
      for (const auto& url : rule.urls) {
        auto d = std::make_unique<Destination>();
        d->rule = rule.name;
        d->url = config::expand_stream_variables(url, ctx_.app, ctx_.stream);
        d->retry_min_ms = rule.retry_min_ms;
        d->retry_max_ms = rule.retry_max_ms;
        destinations_.push_back(std::move(d));
      }
    }
    live_outputs().insert(this);
  }
  ~ForwardOutput() override {
    stop();
    live_outputs().erase(this);
  }

  bool empty() const { return destinations_.empty(); }

  Status start() override {
    // Owned by tick_, which is cancelled before `this` goes.
    tick_ = start_repeating_timer(int(kTickMs), [this]() {
      tick();
      return true;
    });
    for (auto& d : destinations_) start_destination(*d);
    // Destinations come and go on their own; the output as a whole never fails.
    if (ctx_.events.on_ready) ctx_.events.on_ready();
    return ok_status();
  }
  void stop() override {
    tick_.reset();
    for (auto& d : destinations_) {
      end_attempt(*d);
      d->retry_timer.reset();
      set_state(*d, "stopped");
    }
  }
  bool ready() const override { return true; }
  fanout::ChannelPtr channel(const std::string&) const override { return nullptr; }
  std::vector<fanout::ChannelPtr> channels() const override { return {}; }

  void append_status(std::vector<ForwardStatus>& out) const {
    const int64_t now = g_get_monotonic_time();
    for (const auto& d : destinations_) {
      ForwardStatus s;
      s.stream = key_;
      s.rule = d->rule;
      s.url = pipelines::redact_url(d->url);
      s.state = d->state;
      s.last_error = d->last_error;
      s.restarts = d->restarts;
      s.retry_in_ms = d->state == "backoff" ? int(std::max<int64_t>(0, (d->retry_at_us - now) / 1000)) : 0;
      s.bytes = d->bytes_before + d->bytes_now;
      s.state_since_ms = d->state_since_ms;
      out.push_back(std::move(s));
    }
  }

 private:
  struct Destination {
    std::string rule, url;
    int retry_min_ms = 1000, retry_max_ms = 30000;
    std::string state = "stopped";  // connecting | forwarding | backoff | failed | stopped
    std::string last_error;
    std::unique_ptr<pipelines::ManagedPipeline> pipeline;
    // HEVC/AV1/VP9 to rtmp://: the bus read into enhanced FLV tags, pushed into `pipeline`'s appsrc.
    std::unique_ptr<pipelines::FlvWriterOutput> writer;
    SourceGuard retry_timer;
    int backoff_ms = 0;
    int restarts = 0;
    uint64_t bytes_before = 0, bytes_now = 0;
    int64_t forwarding_since_us = 0, retry_at_us = 0, state_since_ms = 0;
  };

  void set_state(Destination& d, const std::string& state) {
    if (d.state == state) return;
    d.state = state;
    d.state_since_ms = g_get_real_time() / 1000;
  }

  void start_destination(Destination& d) {
    d.retry_timer.reset();
    const std::string shown = pipelines::redact_url(d.url);
    if (pipelines::push_needs_enhanced_flv(key_, d.url)) {
      auto push = pipelines::create_flv_push(key_);
      if (!push) {
        if (push.error().reason == ErrorReason::unsupported) return cannot_go(d, push.error().message);
        return failed(d, push.error().message);
      }
      d.pipeline = std::move(push.value().sender);
      d.writer = std::move(push.value().writer);
    } else {
      auto launch = pipelines::push_launch(key_, d.url);
      if (!launch) return cannot_go(d, launch.error().message);
      auto built = pipelines::ManagedPipeline::from_launch("forward:" + key_, launch.value());
      if (!built) return failed(d, built.error().message);
      d.pipeline = std::move(built.value());
    }
    Ref<GstElement> sink = d.pipeline->element("sink");
    g_object_set(sink.get(), pipelines::push_url_property(d.url), d.url.c_str(), nullptr);
    Destination* dp = &d;
    pipelines::PipelineEvents ev;
    // Runs in the pipeline's bus callback: tear it down from a fresh loop iteration.
    ev.on_error = [this, dp](const std::string& element, const std::string& message) {
      failed_later(*dp, element + ": " + message);
    };
    ev.on_eos = [this, dp]() { failed_later(*dp, "end of stream"); };
    d.pipeline->set_events(std::move(ev));
    set_state(d, "connecting");
    d.bytes_now = 0;
    log_info(key_, "", "forward-start", "forwarding to " + shown + (d.writer ? " as enhanced RTMP" : ""));
    Status st = d.pipeline->start();
    if (st && d.writer) {
      pipelines::PipelineEvents wev;
      wev.on_error = [this, dp](const std::string& element, const std::string& message) {
        failed_later(*dp, "flv writer " + element + ": " + message);
      };
      wev.on_eos = [this, dp]() { failed_later(*dp, "end of stream"); };
      d.writer->pipeline().set_events(std::move(wev));
      st = d.writer->pipeline().start();
    }
    if (!st) failed(d, st.error().message);
  }

  // The stream cannot go there at all: no retry until it is published again.
  void cannot_go(Destination& d, const std::string& reason) {
    d.last_error = reason;
    set_state(d, "failed");
    log_error(key_, "", "forward-failed", pipelines::redact_url(d.url) + ": " + d.last_error);
  }

  void failed_later(Destination& d, const std::string& reason) {
    d.last_error = reason;
    Destination* dp = &d;  // the destination owns the timer, so it outlives every run of the closure
    d.retry_timer = start_timer(0, [this, dp]() {
      dp->retry_timer = SourceGuard();  // finishing on its own
      failed(*dp, dp->last_error);
    });
  }

  void end_attempt(Destination& d) {
    if (!d.pipeline) return;
    d.bytes_now = std::max(d.bytes_now, sink_bytes(d.pipeline->element("sink").get()));
    d.bytes_before += d.bytes_now;
    d.bytes_now = 0;
    if (d.writer) d.writer->pipeline().stop();  // its streaming thread pushes into the sender: first
    d.writer.reset();
    d.pipeline->stop();
    d.pipeline.reset();
  }

  void failed(Destination& d, const std::string& reason) {
    const bool ran_long = d.forwarding_since_us && g_get_monotonic_time() - d.forwarding_since_us > kStableRunUs;
    d.forwarding_since_us = 0;
    d.last_error = reason;
    end_attempt(d);
    d.backoff_ms = (ran_long || d.backoff_ms == 0) ? d.retry_min_ms : std::min(d.backoff_ms * 2, d.retry_max_ms);
    ++d.restarts;
    set_state(d, "backoff");
    d.retry_at_us = g_get_monotonic_time() + int64_t(d.backoff_ms) * 1000;
    log_warn(key_, "", "forward-failed",
             pipelines::redact_url(d.url) + ": " + reason + "; retry in " + std::to_string(d.backoff_ms) + " ms");
    Destination* dp = &d;
    d.retry_timer = start_timer(d.backoff_ms, [this, dp]() {
      dp->retry_timer = SourceGuard();  // finishing on its own
      start_destination(*dp);
    });
  }

  void tick() {
    for (auto& d : destinations_) {
      if (!d->pipeline) continue;
      d->bytes_now = std::max(d->bytes_now, sink_bytes(d->pipeline->element("sink").get()));
      if (d->state == "connecting" && d->bytes_now > 0) {
        set_state(*d, "forwarding");
        d->forwarding_since_us = g_get_monotonic_time();
        log_info(key_, "", "forward-connected", "forwarding to " + pipelines::redact_url(d->url));
      }
    }
  }

  OutputContext ctx_;
  std::string key_;
  std::vector<std::unique_ptr<Destination>> destinations_;
  SourceGuard tick_;
};

}  // namespace

void register_forward_output() {
  register_output_kind("forward",
                       [](OutputContext ctx) -> Result<std::unique_ptr<Output>> {
                         auto out = std::make_unique<ForwardOutput>(std::move(ctx));
                         if (out->empty()) return std::unique_ptr<Output>();  // no rule matches: declined
                         return std::unique_ptr<Output>(std::move(out));
                       },
                       {});
}

std::vector<ForwardStatus> forward_status() {
  std::vector<ForwardStatus> out;
  for (const ForwardOutput* o : live_outputs()) o->append_status(out);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.stream + a.url < b.stream + b.url; });
  return out;
}

}  // namespace estuary::server
