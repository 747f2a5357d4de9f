// Owns: HTTP requests held until a CMAF part or segment exists — LL-HLS blocking playlist reload
// (_HLS_msn/_HLS_part), preload-hinted parts, the open segment for low-latency DASH, the first
// playlist of an output started on demand (MPEG-TS HLS too: wake_all) — without a
// thread each: the libsoup message is paused and answered from the control thread when the window
// has what it waits for, or when its hold time runs out. Bounded: at most kMaxWaitersPerStream per
// stream and kMaxWaitersTotal in the process; beyond that add() refuses (the caller answers 503).
// Must not know: playlists or rendering (the caller's answer closure does that). Control thread only.
#pragma once

#include <libsoup/soup.h>

#include <cstdint>
#include <functional>
#include <list>

#include "common/gobject_ptr.h"
#include "server/outputs/hls/cmaf_window.h"

namespace estuary::server {

constexpr size_t kMaxWaitersPerStream = 5000;
constexpr size_t kMaxWaitersTotal = 20000;

class CmafWaiters {
 public:
  // Answers the paused message; `gave_up` when its hold time ran out or the stream went away.
  using Answer = std::function<void(SoupServerMessage* msg, bool gave_up)>;
  CmafWaiters() = default;
  CmafWaiters(const CmafWaiters&) = delete;
  CmafWaiters& operator=(const CmafWaiters&) = delete;
  ~CmafWaiters();  // answers everyone still waiting (gave_up)

  // Pauses msg until (msn, part) is available (part < 0: the whole segment msn). false = full.
  // msg may be nullptr (a request served without libsoup): answer then gets nullptr.
  bool add(SoupServerMessage* msg, uint64_t msn, int64_t part, int hold_ms, Answer answer);
  // Answers the waiters whose part or segment the window now has.
  void wake(const CmafWindow& window);
  // Answers every waiter (what they waited for exists: the MPEG-TS playlist's first segment).
  void wake_all();
  void give_up_all();
  size_t size() const { return waiters_.size(); }
  static size_t total();

 private:
  struct Waiter {
    Ref<SoupServerMessage> msg;
    uint64_t msn = 0;
    int64_t part = -1;
    gint64 deadline_us = 0;
    Answer answer;
  };
  void finish(std::list<Waiter>::iterator it, bool gave_up);
  void expire();
  std::list<Waiter> waiters_;
  SourceGuard timer_;
  bool timer_running_ = false;
};

}  // namespace estuary::server
