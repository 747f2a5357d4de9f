// Owns: EpollSet and EpollWatch (see epoll_set.h).
#include "common/epoll_set.h"

#include <errno.h>
#include <glib-unix.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <string>

namespace estuary {
namespace {
constexpr int kBatch = 64;   // events taken per epoll_wait
constexpr int kRounds = 16;  // batches per loop turn before other sources get their turn

Error epoll_error(const char* what, const char* name) {
  return Error{std::string(name) + ": " + what + ": " + g_strerror(errno), ErrorReason::internal, "net"};
}
}  // namespace

EpollWatch::EpollWatch(EpollWatch&& o) noexcept
    : set_(std::move(o.set_)), token_(std::exchange(o.token_, 0)), events_(o.events_) {}

EpollWatch& EpollWatch::operator=(EpollWatch&& o) noexcept {
  if (this != &o) {
    reset();
    set_ = std::move(o.set_);
    token_ = std::exchange(o.token_, 0);
    events_ = o.events_;
  }
  return *this;
}

bool EpollWatch::set_events(uint32_t events) {
  if (events == events_) return true;
  auto set = set_.lock();
  if (!set || !set->modify(token_, events)) return false;
  events_ = events;
  return true;
}

void EpollWatch::reset() {
  if (!token_) return;
  if (auto set = set_.lock()) set->remove(token_);
  token_ = 0;
  set_.reset();
}

Result<std::shared_ptr<EpollSet>> EpollSet::create(const char* name) {
  std::shared_ptr<EpollSet> self(new EpollSet());
  self->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (self->epoll_fd_ < 0) return epoll_error("epoll_create1", name);
  GSource* source = g_unix_fd_source_new(self->epoll_fd_, G_IO_IN);
  auto* weak = new std::weak_ptr<EpollSet>(self);
  g_source_set_callback(source, reinterpret_cast<GSourceFunc>(+[](gint, GIOCondition, gpointer data) -> gboolean {
                          if (auto s = static_cast<std::weak_ptr<EpollSet>*>(data)->lock()) s->dispatch();
                          return G_SOURCE_CONTINUE;
                        }),
                        weak, [](gpointer p) { delete static_cast<std::weak_ptr<EpollSet>*>(p); });
  g_source_set_name(source, name);
  // GLib blocks a non-recursive source around its dispatch by removing and re-adding its descriptor,
  // and each of those writes the context's wakeup eventfd: two writes and one spurious loop turn per
  // dispatch. The handlers never run a nested loop, so the source may "recurse" and stays in the poll.
  g_source_set_can_recurse(source, TRUE);
  g_source_attach(source, g_main_context_get_thread_default());
  self->source_ = SourceGuard(source);
  return self;
}

EpollSet::~EpollSet() {
  source_.reset();
  slots_.clear();
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

Result<EpollWatch> EpollSet::watch(int fd, uint32_t events, Handler handler) {
  uint32_t index;
  if (!free_slots_.empty()) {
    index = free_slots_.back();
    free_slots_.pop_back();
  } else {
    index = uint32_t(slots_.size());
    slots_.emplace_back();
  }
  Slot& slot = slots_[index];
  ++slot.generation;
  const uint64_t token = (uint64_t(slot.generation) << 32) | index;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    free_slots_.push_back(index);
    return epoll_error("epoll_ctl add", "epoll set");
  }
  slot.entry = std::make_shared<Entry>(Entry{fd, std::move(handler)});
  ++live_;
  return EpollWatch(weak_from_this(), token, events);
}

const std::shared_ptr<EpollSet::Entry>* EpollSet::find(uint64_t token) const {
  const uint32_t index = uint32_t(token);
  if (index >= slots_.size()) return nullptr;
  const Slot& slot = slots_[index];
  return slot.generation == uint32_t(token >> 32) && slot.entry ? &slot.entry : nullptr;
}

bool EpollSet::modify(uint64_t token, uint32_t events) {
  const std::shared_ptr<Entry>* entry = find(token);
  if (!entry) return false;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  return epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, (*entry)->fd, &ev) == 0;
}

void EpollSet::remove(uint64_t token) {
  const std::shared_ptr<Entry>* entry = find(token);
  if (!entry) return;
  // The descriptor may be closed already (the kernel then dropped it from the set): ignore errors.
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, (*entry)->fd, nullptr);
  const uint32_t index = uint32_t(token);
  slots_[index].entry.reset();
  ++slots_[index].generation;  // events still queued for this token find nothing
  free_slots_.push_back(index);
  --live_;
}

void EpollSet::dispatch() {
  epoll_event events[kBatch];
  for (int round = 0; round < kRounds; ++round) {
    const int n = epoll_wait(epoll_fd_, events, kBatch, 0);
    if (n <= 0) return;
    for (int i = 0; i < n; ++i) {
      const uint64_t token = events[i].data.u64;
      const std::shared_ptr<Entry>* found = find(token);
      if (!found) continue;                   // removed by an earlier handler of this batch
      std::shared_ptr<Entry> entry = *found;  // a copy: a handler may remove its own watch
      entry->handler(events[i].events);
    }
    if (n < kBatch) return;
  }
}

}  // namespace estuary
