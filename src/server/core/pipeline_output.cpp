// Owns: the custom pipeline output (see pipeline_output.h).
#include "server/core/pipeline_output.h"

#include <string_view>

#include "common/log.h"
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
    // estuaryhealth (gst-plugins/health) reports through element messages: one log event per change.
    ev.on_element_message = [this](const GstStructure* s) {
      if (!gst_structure_has_name(s, "estuary-health")) return;
      const char* kind = gst_structure_get_string(s, "kind");
      const char* state = gst_structure_get_string(s, "state");
      double value = 0;
      gst_structure_get_double(s, "value", &value);
      std::string message =
          std::string(kind ? kind : "?") + " " + (state ? state : "?") + " value=" + std::to_string(value);
      bool raised = state && std::string_view(state) == "raised";
      if (raised)
        log_warn(ctx_.app + "/" + ctx_.stream, "", "health", message);
      else
        log_info(ctx_.app + "/" + ctx_.stream, "", "health", message);
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
