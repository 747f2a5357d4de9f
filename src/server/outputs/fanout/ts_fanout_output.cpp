// Owns: the TS fan-out output (see ts_fanout_output.h).
#include "server/outputs/fanout/ts_fanout_output.h"

#include <atomic>
#include <memory>

#include "pipelines/gst_payload.h"
#include "pipelines/ts_output.h"
#include "server/control/output.h"
#include "server/outputs/fanout/muxed_fanout_output.h"

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
    fanout::Packet p{pipelines::make_gst_payload(buffer, offset, size), keyframe, dts_ms};
    p.urgent = true;
    channel_->push(std::move(p));
  }

 private:
  fanout::ChannelPtr channel_;
  std::function<void()> on_first_header_;
  std::atomic<bool> announced_{false};
};

class TsFanoutOutput final : public MuxedFanoutOutput {
 public:
  explicit TsFanoutOutput(OutputContext ctx) : MuxedFanoutOutput(std::move(ctx)) {}
  ~TsFanoutOutput() override { stop(); }

 private:
  Result<pipelines::ManagedPipeline*> build(const std::string& name, const fanout::ChannelLimits& limits,
                                            std::function<void()> announce) override {
    auto channel = fanout::Channel::create(name + ".ts", limits);
    add_channel(channel, {"ts", "srt"});  // HTTP-TS viewers and SRT players share the one channel
    auto built = pipelines::TsOutput::create(name, context().launch, std::make_shared<ChunkSink>(channel, announce));
    if (!built) return built.error();
    output_ = std::move(built.value());
    return &output_->pipeline();
  }

  void release() override { output_.reset(); }

  std::unique_ptr<pipelines::TsOutput> output_;
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
