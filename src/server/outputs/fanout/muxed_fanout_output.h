// Owns: the lifecycle shared by outputs that mux a stream once into fan-out channels ("flv" feeding
// HTTP-FLV and RTMP, "ts" feeding HTTP-TS and SRT): the channels by viewer format, readiness when the
// mux has produced its first header, failure and end-of-stream handling, and stop. Subclasses build
// the mux pipeline and feed the channels from its streaming thread.
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "fanout/fanout.h"
#include "pipelines/managed_pipeline.h"
#include "server/control/output.h"

namespace estuary::server {

class MuxedFanoutOutput : public Output {
 public:
  Status start() final;
  // Subclasses call stop() from their destructor (it calls release()).
  void stop() final;
  bool ready() const final { return ready_; }
  fanout::ChannelPtr channel(const std::string& format) const final;
  std::vector<fanout::ChannelPtr> channels() const final { return channels_; }

 protected:
  explicit MuxedFanoutOutput(OutputContext ctx);
  // Creates the channels (add_channel) and the mux. `announce` may be called from any thread once the
  // channels have their first header; it marks the output ready on the control thread. Returns the
  // mux's pipeline, owned by the subclass until release().
  virtual Result<pipelines::ManagedPipeline*> build(const std::string& stream_name, const fanout::ChannelLimits& limits,
                                                    std::function<void()> announce) = 0;
  // Drops the mux; the channels are closed right after.
  virtual void release() = 0;
  void add_channel(const fanout::ChannelPtr& channel, std::initializer_list<const char*> formats);
  const OutputContext& context() const { return ctx_; }

 private:
  void close_channels();

  OutputContext ctx_;
  std::shared_ptr<bool> alive_;  // replaced on stop: ready notifications still queued are ignored
  std::vector<std::pair<std::string, fanout::ChannelPtr>> by_format_;
  std::vector<fanout::ChannelPtr> channels_;
  bool ready_ = false;
};

}  // namespace estuary::server
