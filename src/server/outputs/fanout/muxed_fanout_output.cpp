// Owns: MuxedFanoutOutput (see muxed_fanout_output.h). Runs on the control thread, except the
// announce callback and the pipeline's end-of-stream handler, which only post or close channels.
#include "server/outputs/fanout/muxed_fanout_output.h"

#include "common/control_thread.h"

namespace estuary::server {

MuxedFanoutOutput::MuxedFanoutOutput(OutputContext ctx) : ctx_(std::move(ctx)), alive_(std::make_shared<bool>(true)) {}

Status MuxedFanoutOutput::start() {
  by_format_.clear();
  channels_.clear();
  std::weak_ptr<bool> alive = alive_;
  auto announce = [this, alive]() {
    post_to_control([this, alive]() {
      if (alive.expired()) return;
      ready_ = true;
      if (ctx_.events.on_ready) ctx_.events.on_ready();
    });
  };
  auto built = build(ctx_.app + "/" + ctx_.stream, channel_limits(*ctx_.config), std::move(announce));
  if (!built) return built.error();
  pipelines::ManagedPipeline& pipeline = *built.value();
  pipelines::PipelineEvents ev;
  ev.on_error = [this](const std::string& element, const std::string& message) {
    if (ctx_.events.on_failed) ctx_.events.on_failed(element + ": " + message);
  };
  ev.on_eos = [this]() { close_channels(); };
  pipeline.set_events(std::move(ev));
  return pipeline.start();
}

void MuxedFanoutOutput::stop() {
  alive_ = std::make_shared<bool>(true);
  release();
  close_channels();
  ready_ = false;
}

fanout::ChannelPtr MuxedFanoutOutput::channel(const std::string& format) const {
  for (const auto& [name, ch] : by_format_)
    if (name == format) return ch;
  return nullptr;
}

void MuxedFanoutOutput::add_channel(const fanout::ChannelPtr& channel, std::initializer_list<const char*> formats) {
  channels_.push_back(channel);
  for (const char* f : formats) by_format_.emplace_back(f, channel);
}

void MuxedFanoutOutput::close_channels() {
  for (const auto& ch : channels_) ch->close();
}

}  // namespace estuary::server
