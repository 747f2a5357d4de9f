// Owns: PlayWaiters (see play_waiters.h).
#include "server/control/play_waiters.h"

#include <glib.h>

#include <algorithm>

#include "common/timer.h"

namespace estuary::server {

Status PlayWaiters::add(const std::string& key, Waiter waiter, size_t max_per_stream, size_t max_total) {
  auto& list = by_key_[key];
  if (list.size() >= max_per_stream || total_ >= max_total) {
    if (list.empty()) by_key_.erase(key);
    return Error{"too many viewers are waiting for " + std::string(total_ >= max_total ? "streams" : "stream " + key),
                 ErrorReason::unavailable, "control"};
  }
  list.push_back(std::move(waiter));
  ++total_;
  arm();
  return ok_status();
}

size_t PlayWaiters::size(const std::string& key) const {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? 0 : it->second.size();
}

void PlayWaiters::remove(const std::string& key, const std::string& client_id) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return;
  auto& list = it->second;
  const size_t before = list.size();
  list.erase(std::remove_if(list.begin(), list.end(), [&](const Waiter& w) { return w.client_id == client_id; }),
             list.end());
  total_ -= before - list.size();
  if (list.empty()) by_key_.erase(it);
}

void PlayWaiters::resume_all(const std::string& key) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return;
  std::vector<Waiter> ready = std::move(it->second);
  by_key_.erase(it);
  total_ -= ready.size();
  // The closures may add or remove waiters: the list is ours now.
  for (auto& w : ready) w.resume();
}

void PlayWaiters::arm() {
  int64_t earliest = 0;
  for (const auto& [key, list] : by_key_)
    for (const auto& w : list)
      if (earliest == 0 || w.deadline_us < earliest) earliest = w.deadline_us;
  if (earliest == 0) {
    timer_.reset();
    timer_at_us_ = 0;
    return;
  }
  if (timer_at_us_ != 0 && timer_at_us_ <= earliest) return;  // the armed timer comes first anyway
  timer_at_us_ = earliest;
  const int64_t ms = std::max<int64_t>(0, (earliest - g_get_monotonic_time() + 999) / 1000);
  timer_ = start_timer(int(std::min<int64_t>(ms, G_MAXINT)), [this]() { on_timer(); });
}

void PlayWaiters::on_timer() {
  SourceGuard finishing = std::move(timer_);  // this source is finishing on its own
  timer_at_us_ = 0;
  const int64_t now = g_get_monotonic_time();
  std::vector<Waiter> due;
  for (auto it = by_key_.begin(); it != by_key_.end();) {
    auto& list = it->second;
    auto keep = std::stable_partition(list.begin(), list.end(), [&](const Waiter& w) { return w.deadline_us > now; });
    for (auto w = keep; w != list.end(); ++w) due.push_back(std::move(*w));
    list.erase(keep, list.end());
    it = list.empty() ? by_key_.erase(it) : std::next(it);
  }
  total_ -= due.size();
  expired_ += due.size();
  arm();
  for (auto& w : due) w.expire();
}

}  // namespace estuary::server
