// Owns: one fan-out engine thread: its epoll set, its command mailbox (an eventfd plus queues),
// the viewers assigned to it and, per channel those viewers watch, a private View of the channel's
// queue. Internal to the fan-out library.
//
// Threads: post_* and channel_ready are called from any thread (they only queue and write the
// eventfd); everything else runs on the engine thread itself, without locks.
#pragma once

#include <sys/epoll.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "fanout/channel.h"
#include "fanout/fanout.h"

namespace estuary::fanout {

// Engine-wide map from viewer id to the thread serving it (for kick) and the live viewer count.
struct Registry {
  std::mutex mu;
  std::unordered_map<std::string, std::pair<int, uint64_t>> where;  // id -> (thread, serial)
  std::atomic<size_t> count{0};
  std::atomic<uint64_t> next_serial{1};
  void insert(const std::string& id, int thread, uint64_t serial);
  void remove(const std::string& id, uint64_t serial);
  int lookup(const std::string& id);
};

// A new viewer on its way from add_viewer to its thread.
struct ViewerInit {
  std::shared_ptr<ChannelImpl> channel;  // null when add_viewer got a foreign Channel
  int fd = -1;
  std::string id;
  std::vector<uint8_t> prefix;
  OnViewerClosed on_closed;
  std::shared_ptr<ViewerCounters> counters;
  uint64_t serial = 0;
};

struct Binding;

// Bytes owed to a viewer before its queue position: its prefix, the channel header and, after a
// write that stopped inside a packet, the rest of that packet.
struct Fragment {
  PayloadPtr payload;
  size_t offset = 0;
};

struct Viewer {
  std::string id;
  int fd = -1;
  uint64_t serial = 0;
  Binding* binding = nullptr;
  size_t index = 0;  // in binding->viewers
  std::shared_ptr<ViewerCounters> counters;
  OnViewerClosed on_closed;
  std::vector<Fragment> pre;
  size_t pre_idx = 0;
  uint64_t next_seq = 0;       // next whole packet to send
  uint64_t next_byte = 0;      // its stream offset
  bool await_kf = false;       // position is held at the head until a keyframe arrives
  bool drop_awaiting = false;  // packets passed while awaiting count as dropped (after a skip)
  bool blocked = false;        // last write hit a full socket; wait for EPOLLOUT
  bool closed = false;
  int64_t behind_since_ms = 0;  // 0 = caught up
  uint64_t input_bytes = 0;
};

struct Binding {
  std::shared_ptr<ChannelImpl> channel;
  View view;
  std::vector<std::unique_ptr<Viewer>> viewers;
  // Batching (see EngineConfig::write_batch_ms). Times are arrivals on this thread; -1 = none.
  int64_t flush_due_ms = -1;            // when the pending data is written at the latest
  int64_t pending_since_ms = -1;        // oldest unwritten packet
  int64_t pending_video_since_ms = -1;  // oldest unwritten video frame
  int64_t last_video_ms = -1;           // last video frame: the stream has video
};

class EngineThread final : public Waker {
 public:
  EngineThread(int index, const EngineConfig& config, Registry& registry);
  ~EngineThread() override;
  EngineThread(const EngineThread&) = delete;
  EngineThread& operator=(const EngineThread&) = delete;

  bool start();
  void join();
  void post_add(std::unique_ptr<ViewerInit> init);
  void post_kick(const std::string& id);
  void post_shutdown();
  void channel_ready(ChannelImpl* channel) override;
  // Viewers assigned (including those still queued).
  size_t load() const { return load_.load(std::memory_order_relaxed); }

 private:
  void run();
  void wake_locked();
  void drain_mailbox(int64_t now);
  void attach(std::unique_ptr<ViewerInit> init, int64_t now);
  void reject(ViewerInit& init, CloseReason reason);
  void on_ready(Binding& b, int64_t now);
  void schedule(Binding& b, const SyncResult& synced, int64_t now);
  void flush_binding(Binding& b, int64_t now);
  void trim_view(Binding& b, uint64_t keep_seq);
  void flush_viewer(Viewer& v, int64_t now);
  void read_input(Viewer& v);
  void position(Viewer& v);
  void skip(Viewer& v);
  void consume(Viewer& v, size_t n);
  void housekeeping(int64_t now);
  void close_viewer(Viewer& v, CloseReason reason);
  void release_idle_bindings();
  void shutdown_all();
  int next_timeout(int64_t now) const;

  const int index_;
  const EngineConfig config_;
  Registry& registry_;
  int epfd_ = -1;
  int evfd_ = -1;
  std::thread thread_;
  std::atomic<size_t> load_{0};

  // Mailbox (any thread).
  std::mutex mu_;
  bool wake_pending_ = false;
  bool shutdown_requested_ = false;
  std::vector<std::unique_ptr<ViewerInit>> adds_;
  std::vector<std::string> kicks_;
  std::vector<ChannelImpl*> ready_;

  // Engine thread only.
  std::unordered_map<ChannelImpl*, std::unique_ptr<Binding>> bindings_;
  std::unordered_map<std::string, Viewer*> ids_;
  std::vector<std::unique_ptr<Viewer>> dead_;  // closed this loop turn; freed after the event batch
  size_t viewers_ = 0;
  int64_t next_housekeeping_ms_ = 0;
  bool stopping_ = false;
};

int64_t monotonic_ms();

}  // namespace estuary::fanout
