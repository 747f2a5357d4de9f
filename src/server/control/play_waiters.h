// Owns: viewers waiting for a stream that is not live yet ([play] wait_ms, and the wait for a stream
// a demand producer starts): per-viewer deadlines behind one timer, the per-stream and total bounds,
// resuming them all when the stream goes live, refusing the ones whose deadline passed.
// Must not know: protocols, outputs, how a viewer is resumed or refused (closures given by the caller).
// Runs on the control thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/gobject_ptr.h"
#include "common/result.h"

namespace estuary::server {

class PlayWaiters {
 public:
  struct Waiter {
    std::string client_id;
    int64_t deadline_us = 0;       // g_get_monotonic_time() scale
    std::function<void()> resume;  // the stream is live: play it now
    std::function<void()> expire;  // the deadline passed: answer not-found
  };

  // Refused (unavailable) when max_per_stream waiters of key or max_total in all already wait.
  Status add(const std::string& key, Waiter waiter, size_t max_per_stream, size_t max_total);
  // The viewer left while waiting; no callback runs.
  void remove(const std::string& key, const std::string& client_id);
  // The stream went live: runs every waiter's resume (in arrival order).
  void resume_all(const std::string& key);
  size_t size() const { return total_; }
  size_t size(const std::string& key) const;
  // Total that ever expired (for metrics and tests).
  uint64_t expired_count() const { return expired_; }

 private:
  void arm();
  void on_timer();

  std::map<std::string, std::vector<Waiter>> by_key_;
  size_t total_ = 0;
  uint64_t expired_ = 0;
  SourceGuard timer_;
  int64_t timer_at_us_ = 0;  // deadline the armed timer fires for (0 = none)
};

}  // namespace estuary::server
