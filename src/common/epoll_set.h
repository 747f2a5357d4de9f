// Owns: one epoll set behind one GLib source on the creating thread's default main context, and the
// per-descriptor watches in it. A server with many long-lived connections (RTMP publishers, LL-HLS
// viewers) adds one descriptor to GLib's poll instead of one per connection: GLib polls every
// descriptor of every source on each loop turn, so N connections waking the loop N times a frame cost
// O(N²) kernel poll work; here a loop turn costs the ready descriptors only.
// Handlers run on the owning thread, level- or edge-triggered as the watch asks (EPOLL* flags).
// Must not know: what the descriptors are (sockets, pipes), protocols, the server.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "common/gobject_ptr.h"
#include "common/result.h"

namespace estuary {

class EpollSet;

// One descriptor's watch; removing it (destruction or reset) stops its handler at once, even from
// inside a handler. Does not own or close the descriptor.
class EpollWatch {
 public:
  EpollWatch() = default;
  ~EpollWatch() { reset(); }
  EpollWatch(EpollWatch&& o) noexcept;
  EpollWatch& operator=(EpollWatch&& o) noexcept;
  EpollWatch(const EpollWatch&) = delete;
  EpollWatch& operator=(const EpollWatch&) = delete;

  // Changes the events watched (e.g. adds EPOLLOUT while output is pending). False if the set refused.
  bool set_events(uint32_t events);
  uint32_t events() const { return events_; }
  void reset();
  explicit operator bool() const { return token_ != 0; }

 private:
  friend class EpollSet;
  EpollWatch(std::weak_ptr<EpollSet> set, uint64_t token, uint32_t events)
      : set_(std::move(set)), token_(token), events_(events) {}
  std::weak_ptr<EpollSet> set_;
  uint64_t token_ = 0;
  uint32_t events_ = 0;
};

class EpollSet : public std::enable_shared_from_this<EpollSet> {
 public:
  using Handler = std::function<void(uint32_t events)>;
  // name: for log lines. Fails when the kernel refuses an epoll descriptor.
  static Result<std::shared_ptr<EpollSet>> create(const char* name);
  ~EpollSet();
  EpollSet(const EpollSet&) = delete;
  EpollSet& operator=(const EpollSet&) = delete;

  // Watches fd for events; handler(ready events) runs on the owning thread until the watch is reset.
  Result<EpollWatch> watch(int fd, uint32_t events, Handler handler);
  size_t size() const { return live_; }

 private:
  friend class EpollWatch;
  struct Entry {
    int fd;
    Handler handler;
  };
  // A token is (generation << 32 | slot index): a slot reused by a new watch never answers to an
  // event queued for the old one.
  struct Slot {
    uint32_t generation = 0;
    std::shared_ptr<Entry> entry;  // empty when free
  };
  EpollSet() = default;
  void dispatch();
  const std::shared_ptr<Entry>* find(uint64_t token) const;  // the live entry of a token, or null
  bool modify(uint64_t token, uint32_t events);
  void remove(uint64_t token);

  int epoll_fd_ = -1;
  SourceGuard source_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  size_t live_ = 0;
};

}  // namespace estuary
