// Owns: the TS fan-out output (see ts_fanout_output.h).
#include "server/core/ts_fanout_output.h"

#include <atomic>
#include <memory>

#include "pipelines/ts_output.h"
#include "server/core/control_thread.h"
#include "server/core/gst_payload.h"
#include "server/core/output.h"

namespace estuary::server {
namespace {

class ChunkSink final : public pipelines::TsChunkSink {
 public:
  ChunkSink(fanout::ChannelPtr channel, std::function<void()> on_first_header)
      : channel_(std::move(channel)), on_first_header_(std::move(on_first_header)) {}

  void on_header(std::vector<uint8_t> pat_pmt) override {
    channel_->set_header({fanout::make_payload(std::move(pat_pmt))});
    if (!announced_.exchange(true)) on_first_header_();
  }

  void on_chunk(GstBuffer* buffer, size_t offset, size_t size, bool keyframe, int64_t dts_ms) override {
    fanout::Packet p{make_gst_payload(buffer, offset, size), keyframe, dts_ms};
    p.urgent = true;
    channel_->push(std::move(p));
  }

 private:
  fanout::ChannelPtr channel_;
  std::function<void()> on_first_header_;
  std::atomic<bool> announced_{false};
};

class TsFanoutOutput final : public Output {
 public:
  explicit TsFanoutOutput(OutputContext ctx) : ctx_(std::move(ctx)), alive_(std::make_shared<bool>(true)) {}
  ~TsFanoutOutput() override { stop(); }

  Status start() override {
    const std::string name = ctx_.app + "/" + ctx_.stream;
    const fanout::ChannelLimits limits = channel_limits(*ctx_.config);
    channel_ = fanout::Channel::create(name + ".ts", limits);
    std::weak_ptr<bool> alive = alive_;
    auto on_first_header = [this, alive]() {
      post_to_control([this, alive]() {
        if (alive.expired()) return;
        ready_ = true;
        if (ctx_.events.on_ready) ctx_.events.on_ready();
      });
    };
    auto built = pipelines::TsOutput::create(name, ctx_.launch, std::make_shared<ChunkSink>(channel_, on_first_header));
    if (!built) return built.error();
    output_ = std::move(built.value());
    pipelines::PipelineEvents ev;
    ev.on_error = [this](const std::string& element, const std::string& message) {
      if (ctx_.events.on_failed) ctx_.events.on_failed(element + ": " + message);
    };
    ev.on_eos = [this]() {
      if (channel_) channel_->close();
    };
    output_->pipeline().set_events(std::move(ev));
    return output_->pipeline().start();
  }

  void stop() override {
    alive_ = std::make_shared<bool>(true);  // invalidates pending ready notifications
    output_.reset();
    if (channel_) channel_->close();
    ready_ = false;
  }

  bool ready() const override { return ready_; }
  // HTTP-TS viewers ("ts") and SRT players ("srt") share the one channel.
  fanout::ChannelPtr channel(const std::string& format) const override {
    return format == "ts" || format == "srt" ? channel_ : nullptr;
  }
  std::vector<fanout::ChannelPtr> channels() const override {
    if (!channel_) return {};
    return {channel_};
  }

 private:
  OutputContext ctx_;
  std::shared_ptr<bool> alive_;
  fanout::ChannelPtr channel_;
  std::unique_ptr<pipelines::TsOutput> output_;
  bool ready_ = false;
};

}  // namespace

void register_ts_fanout_output() {
  register_output_kind("ts",
                       [](OutputContext ctx) -> Result<std::unique_ptr<Output>> {
                         return std::unique_ptr<Output>(new TsFanoutOutput(std::move(ctx)));
                       },
                       {"ts", "srt"});
}

}  // namespace estuary::server
