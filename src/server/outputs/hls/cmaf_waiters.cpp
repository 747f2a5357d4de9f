// Owns: held CMAF requests (see cmaf_waiters.h).
#include "server/outputs/hls/cmaf_waiters.h"

#include "common/timer.h"

namespace estuary::server {
namespace {
size_t g_total = 0;                 // control thread only
constexpr int kExpiryTickMs = 100;  // how late a hold time may be noticed
}  // namespace

size_t CmafWaiters::total() { return g_total; }

CmafWaiters::~CmafWaiters() { give_up_all(); }

bool CmafWaiters::add(SoupServerMessage* msg, uint64_t msn, int64_t part, int hold_ms, Answer answer) {
  if (waiters_.size() >= kMaxWaitersPerStream || g_total >= kMaxWaitersTotal) return false;
  Waiter w;
  if (msg) w.msg = Ref<SoupServerMessage>::add_ref(msg);
  w.msn = msn;
  w.part = part;
  w.deadline_us = g_get_monotonic_time() + gint64(hold_ms) * 1000;
  w.answer = std::move(answer);
  if (msg) soup_server_message_pause(msg);
  waiters_.push_back(std::move(w));
  ++g_total;
  if (!timer_running_) {
    // A source that returned false is destroyed by GLib; the guard's later destroy is a no-op.
    timer_running_ = true;
    timer_ = start_repeating_timer(kExpiryTickMs, [this] {
      expire();
      timer_running_ = !waiters_.empty();
      return timer_running_;
    });
  }
  return true;
}

void CmafWaiters::finish(std::list<Waiter>::iterator it, bool gave_up) {
  Waiter w = std::move(*it);
  waiters_.erase(it);
  --g_total;
  w.answer(w.msg.get(), gave_up);
  if (w.msg) soup_server_message_unpause(w.msg.get());
}

void CmafWaiters::wake(const CmafWindow& window) {
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    auto next = std::next(it);
    if (window.availability(it->msn, it->part) == CmafAvailability::ready) finish(it, false);
    it = next;
  }
}

void CmafWaiters::wake_all() {
  while (!waiters_.empty()) finish(waiters_.begin(), false);
}

void CmafWaiters::expire() {
  const gint64 now = g_get_monotonic_time();
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    auto next = std::next(it);
    if (it->deadline_us <= now) finish(it, true);
    it = next;
  }
}

void CmafWaiters::give_up_all() {
  while (!waiters_.empty()) finish(waiters_.begin(), true);
  timer_ = SourceGuard();
  timer_running_ = false;
}

}  // namespace estuary::server
