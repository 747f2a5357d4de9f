// Owns: low-latency DASH delivery of the open CMAF segment: a request for the segment being made
// is answered at once with chunked transfer, its parts (or one track of them) written as they are
// made and the body ended
// when the segment is whole (or cut short when its publish ends or the hold time runs out). Bounded
// like CmafWaiters (they share the process-wide count). Control thread only.
#pragma once

#include <libsoup/soup.h>

#include <list>
#include <memory>

#include "common/gobject_ptr.h"
#include "server/outputs/hls/cmaf_window.h"

namespace estuary::server {

class CmafStreamers {
 public:
  CmafStreamers() = default;
  CmafStreamers(const CmafStreamers&) = delete;
  CmafStreamers& operator=(const CmafStreamers&) = delete;
  ~CmafStreamers() { end_all(); }
  // Starts answering msg with segment msn (open or about to open): every track, or only `track`
  // (1-based, DASH's separate adaptation sets) served as `content_type`. false = full.
  bool add(SoupServerMessage* msg, uint64_t msn, int hold_ms, const CmafWindow& window, bool cors, uint32_t track = 0,
           const char* content_type = "video/mp4");
  // Writes the parts made since the last call; ends bodies of segments that are whole.
  void feed(const CmafWindow& window);
  void end_all();
  size_t size() const { return streamers_.size(); }

 private:
  struct Streamer {
    Ref<SoupServerMessage> msg;
    uint64_t msn = 0;
    uint32_t track = 0;  // 0 = all
    size_t sent = 0;     // parts written
    gint64 deadline_us = 0;
    std::shared_ptr<bool> finished;  // set by the message's "finished" signal (client gone)
  };
  // Writes what is new for s; true when its body is complete.
  static bool pump(Streamer& s, const CmafWindow& window);
  std::list<Streamer> streamers_;
  // Checks hold times while no part arrives (a stalled publisher); the window outlives this object
  // (CmafStream declares it first).
  const CmafWindow* window_ = nullptr;
  SourceGuard timer_;
  bool timer_running_ = false;
};

}  // namespace estuary::server
