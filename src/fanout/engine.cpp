// Owns: the Engine facade (thread pool, viewer placement, kick routing, shutdown), the viewer
// registry, make_payload, Channel::create and close_reason_name. Threads: add_viewer, kick and
// viewer_count run on any thread; the destructor joins the engine threads.
#include <algorithm>
#include <thread>
#include <utility>

#include "common/log.h"
#include "fanout/channel.h"
#include "fanout/engine_thread.h"
#include "fanout/fanout.h"

namespace estuary::fanout {
namespace {

class VectorPayload final : public Payload {
 public:
  explicit VectorPayload(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
  const uint8_t* data() const override { return bytes_.data(); }
  size_t size() const override { return bytes_.size(); }

 private:
  std::vector<uint8_t> bytes_;
};

class EngineImpl final : public Engine {
 public:
  explicit EngineImpl(EngineConfig config) : config_(config) {}

  ~EngineImpl() override {
    for (auto& t : threads_) t->post_shutdown();
    for (auto& t : threads_) t->join();
  }

  bool start() {
    int n = config_.threads > 0 ? config_.threads : static_cast<int>(std::thread::hardware_concurrency());
    n = std::max(n, 1);
    for (int i = 0; i < n; ++i) {
      auto t = std::make_unique<EngineThread>(i, config_, registry_);
      if (!t->start()) return false;
      threads_.push_back(std::move(t));
    }
    log_info("", "", "fanout-start",
             "threads=" + std::to_string(n) + " write_batch_ms=" + std::to_string(config_.write_batch_ms));
    return true;
  }

  std::shared_ptr<const ViewerCounters> add_viewer(ChannelPtr channel, int fd, std::string viewer_id,
                                                   std::vector<uint8_t> prefix, OnViewerClosed on_closed) override {
    auto counters = std::make_shared<ViewerCounters>();
    auto init = std::make_unique<ViewerInit>();
    init->channel = std::dynamic_pointer_cast<ChannelImpl>(std::move(channel));
    init->fd = fd;
    init->id = std::move(viewer_id);
    init->prefix = std::move(prefix);
    init->on_closed = std::move(on_closed);
    init->counters = counters;
    init->serial = registry_.next_serial.fetch_add(1, std::memory_order_relaxed);
    // Least-loaded thread: spreads the syscall work; each thread is woken once per channel update.
    size_t best = 0;
    for (size_t i = 1; i < threads_.size(); ++i) {
      if (threads_[i]->load() < threads_[best]->load()) best = i;
    }
    registry_.insert(init->id, static_cast<int>(best), init->serial);
    threads_[best]->post_add(std::move(init));
    return counters;
  }

  void kick(const std::string& viewer_id) override {
    const int t = registry_.lookup(viewer_id);
    if (t >= 0) threads_[static_cast<size_t>(t)]->post_kick(viewer_id);
  }

  size_t viewer_count() const override { return registry_.count.load(std::memory_order_relaxed); }

 private:
  const EngineConfig config_;
  mutable Registry registry_;
  std::vector<std::unique_ptr<EngineThread>> threads_;
};

}  // namespace

void Registry::insert(const std::string& id, int thread, uint64_t serial) {
  std::lock_guard lock(mu);
  where[id] = {thread, serial};
  count.fetch_add(1, std::memory_order_relaxed);
}

void Registry::remove(const std::string& id, uint64_t serial) {
  std::lock_guard lock(mu);
  auto it = where.find(id);
  if (it != where.end() && it->second.second == serial) where.erase(it);
  count.fetch_sub(1, std::memory_order_relaxed);
}

int Registry::lookup(const std::string& id) {
  std::lock_guard lock(mu);
  auto it = where.find(id);
  return it == where.end() ? -1 : it->second.first;
}

PayloadPtr make_payload(std::vector<uint8_t> bytes) { return std::make_shared<VectorPayload>(std::move(bytes)); }

std::shared_ptr<Channel> Channel::create(std::string name, ChannelLimits limits) {
  return std::make_shared<ChannelImpl>(std::move(name), limits);
}

const char* close_reason_name(CloseReason r) {
  switch (r) {
    case CloseReason::peer_closed:
      return "peer_closed";
    case CloseReason::kicked:
      return "kicked";
    case CloseReason::too_slow:
      return "too_slow";
    case CloseReason::ended:
      return "ended";
    case CloseReason::io_error:
      return "io_error";
    case CloseReason::shutdown:
      return "shutdown";
  }
  return "unknown";
}

std::unique_ptr<Engine> Engine::create(EngineConfig config) {
  auto engine = std::make_unique<EngineImpl>(config);
  if (!engine->start()) return nullptr;  // logged; the destructor stops the threads already started
  return engine;
}

}  // namespace estuary::fanout
