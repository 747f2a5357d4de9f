// Owns: the custom pipeline output (see pipeline_output.h).
#include "server/core/pipeline_output.h"

#include "pipelines/managed_pipeline.h"
#include "server/core/output.h"

namespace estuary::server {
namespace {

class PipelineOutput final : public Output {
 public:
  explicit PipelineOutput(OutputContext ctx) : ctx_(std::move(ctx)) {}
  ~PipelineOutput() override { stop(); }

  Status start() override {
    auto built = pipelines::ManagedPipeline::from_launch("custom:" + ctx_.app + "/" + ctx_.stream, ctx_.launch);
    if (!built) return built.error();
    pipeline_ = std::move(built.value());
    pipelines::PipelineEvents ev;
    ev.on_error = [this](const std::string& element, const std::string& message) {
      if (ctx_.events.on_failed) ctx_.events.on_failed(element + ": " + message);
    };
    pipeline_->set_events(std::move(ev));
    Status st = pipeline_->start();
    if (st && ctx_.events.on_ready) ctx_.events.on_ready();
    return st;
  }
  void stop() override { pipeline_.reset(); }
  bool ready() const override { return pipeline_ && pipeline_->state() == pipelines::PipelineState::running; }
  fanout::ChannelPtr channel(const std::string&) const override { return nullptr; }
  std::vector<fanout::ChannelPtr> channels() const override { return {}; }

 private:
  OutputContext ctx_;
  std::unique_ptr<pipelines::ManagedPipeline> pipeline_;
};

}  // namespace

void register_pipeline_output() {
  register_output_kind("custom",
                       [](OutputContext ctx) -> Result<std::unique_ptr<Output>> {
                         return std::unique_ptr<Output>(new PipelineOutput(std::move(ctx)));
                       },
                       {});
}

}  // namespace estuary::server
