// Owns: the custom pipeline output (see pipeline_output.h).
#include "server/outputs/custom/pipeline_output.h"

#include <optional>

#include "common/log.h"
#include "pipelines/managed_pipeline.h"
#include "server/control/output.h"
#include "server/control/stream_health.h"

namespace estuary::server {
namespace {

bool contains_health_element(GstElement* element) {
  auto is_health = [](GstElement* e) {
    GstElementFactory* f = gst_element_get_factory(e);
    return f && g_strcmp0(GST_OBJECT_NAME(f), "estuaryhealth") == 0;
  };
  if (!GST_IS_BIN(element)) return is_health(element);
  bool found = false;
  GstIterator* it = gst_bin_iterate_recurse(GST_BIN(element));
  GValue item = G_VALUE_INIT;
  while (!found && gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
    found = is_health(GST_ELEMENT(g_value_get_object(&item)));
    g_value_reset(&item);
  }
  g_value_unset(&item);
  gst_iterator_free(it);
  return found;
}

class PipelineOutput final : public Output {
 public:
  explicit PipelineOutput(OutputContext ctx) : ctx_(std::move(ctx)) {}
  ~PipelineOutput() override { stop(); }

  Status start() override {
    auto built = pipelines::ManagedPipeline::from_launch("custom:" + ctx_.app + "/" + ctx_.stream, ctx_.launch);
    if (!built) return built.error();
    pipeline_ = std::move(built.value());
    // A pipeline with estuaryhealth shows all-clear in the API from the start, so "watched and
    // fine" differs from "not watched".
    if (!health_ && contains_health_element(pipeline_->pipeline())) health_ = api::HealthView{};
    pipelines::PipelineEvents ev;
    ev.on_error = [this](const std::string& element, const std::string& message) {
      if (ctx_.events.on_failed) ctx_.events.on_failed(element + ": " + message);
    };
    // estuaryhealth (gst-plugins/health) reports through element messages: API fields (describe)
    // and one log event per change.
    ev.on_element_message = [this](const GstStructure* s) {
      api::HealthView h = health_.value_or(api::HealthView{});
      if (handle_health_message(h, s, ctx_.app + "/" + ctx_.stream)) health_ = h;
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
  void describe(api::StreamView& v) const override {
    if (health_) v.health = health_;
  }

 private:
  OutputContext ctx_;
  std::optional<api::HealthView> health_;  // since this output started
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
