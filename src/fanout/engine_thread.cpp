// Owns: the engine thread's event loop, viewer writes (one sendmsg per viewer per wakeup, gathering
// everything pending), write batching, the slow-viewer policy (skip to keyframe, then too_slow) and
// viewer shutdown. See engine_thread.h. Runs on the engine thread, except post_* / channel_ready.
#include "fanout/engine_thread.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include "common/log.h"

namespace estuary::fanout {
namespace {

constexpr int kMaxIov = 512;                   // below IOV_MAX (1024)
constexpr size_t kMaxWriteBytes = 512 * 1024;  // per sendmsg; the socket buffer limits anyway
constexpr int64_t kHousekeepingMs = 100;       // slow-viewer checks and view trimming
constexpr int kMaxEvents = 256;
constexpr int64_t kVideoGoneMs = 1000;  // a stream without video frames this long is audio-only

std::string errno_text(int err) { return std::string(std::strerror(err)); }

}  // namespace

int64_t monotonic_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
             .count() +
         1;  // never 0: 0 means "not set" in the viewer's behind_since_ms
}

EngineThread::EngineThread(int index, const EngineConfig& config, Registry& registry)
    : index_(index), config_(config), registry_(registry) {}

EngineThread::~EngineThread() {
  join();
  if (evfd_ >= 0) ::close(evfd_);
  if (epfd_ >= 0) ::close(epfd_);
}

bool EngineThread::start() {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  evfd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epfd_ < 0 || evfd_ < 0) {
    log_error("", "", "fanout-start", "epoll/eventfd: " + errno_text(errno));
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: the mailbox is drained until the counter stays 0
  ev.data.ptr = nullptr;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, evfd_, &ev) != 0) {
    log_error("", "", "fanout-start", "epoll_ctl(eventfd): " + errno_text(errno));
    return false;
  }
  thread_ = std::thread([this] { run(); });
  return true;
}

void EngineThread::join() {
  if (thread_.joinable()) thread_.join();
}

void EngineThread::wake_locked() {
  if (wake_pending_) return;
  wake_pending_ = true;
  uint64_t one = 1;
  ssize_t r = ::write(evfd_, &one, sizeof one);
  (void)r;  // EAGAIN only when the counter is saturated: the thread is awake anyway
}

void EngineThread::post_add(std::unique_ptr<ViewerInit> init) {
  load_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  adds_.push_back(std::move(init));
  wake_locked();
}

void EngineThread::post_kick(const std::string& id) {
  std::lock_guard lock(mu_);
  kicks_.push_back(id);
  wake_locked();
}

void EngineThread::post_shutdown() {
  std::lock_guard lock(mu_);
  shutdown_requested_ = true;
  wake_locked();
}

void EngineThread::channel_ready(ChannelImpl* channel) {
  std::lock_guard lock(mu_);
  ready_.push_back(channel);
  wake_locked();
}

void EngineThread::run() {
  std::string name = "fanout-" + std::to_string(index_);
  pthread_setname_np(pthread_self(), name.c_str());
  epoll_event events[kMaxEvents];
  next_housekeeping_ms_ = monotonic_ms() + kHousekeepingMs;
  while (!stopping_) {
    int n = epoll_wait(epfd_, events, kMaxEvents, next_timeout(monotonic_ms()));
    if (n < 0) {
      if (errno == EINTR) continue;
      log_error("", "", "fanout-error", "epoll_wait: " + errno_text(errno));
      break;
    }
    const int64_t now = monotonic_ms();
    for (int i = 0; i < n; ++i) {
      auto* v = static_cast<Viewer*>(events[i].data.ptr);
      if (v == nullptr) {
        drain_mailbox(now);
        continue;
      }
      if (v->closed) continue;
      const uint32_t ev = events[i].events;
      if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) read_input(*v);
      if (!v->closed && (ev & EPOLLOUT)) {
        v->blocked = false;
        flush_viewer(*v, now);
      }
    }
    if (config_.write_batch_ms > 0) {
      for (auto& [ch, b] : bindings_) {
        if (b->flush_due_ms >= 0 && b->flush_due_ms <= now) flush_binding(*b, now);
      }
    }
    if (now >= next_housekeeping_ms_) {
      housekeeping(now);
      next_housekeeping_ms_ = now + kHousekeepingMs;
    }
    release_idle_bindings();
    dead_.clear();
  }
  shutdown_all();
}

int EngineThread::next_timeout(int64_t now) const {
  int64_t due = viewers_ > 0 ? next_housekeeping_ms_ : -1;
  if (config_.write_batch_ms > 0) {
    for (const auto& [ch, b] : bindings_) {
      if (b->flush_due_ms >= 0 && (due < 0 || b->flush_due_ms < due)) due = b->flush_due_ms;
    }
  }
  if (due < 0) return -1;
  return static_cast<int>(std::clamp<int64_t>(due - now, 0, 60'000));
}

void EngineThread::drain_mailbox(int64_t now) {
  // Read the counter before taking the queues: a post that lands after the read re-arms it.
  uint64_t counter;
  ssize_t r = ::read(evfd_, &counter, sizeof counter);
  (void)r;
  std::vector<std::unique_ptr<ViewerInit>> adds;
  std::vector<std::string> kicks;
  std::vector<ChannelImpl*> ready;
  bool shutdown;
  {
    std::lock_guard lock(mu_);
    adds.swap(adds_);
    kicks.swap(kicks_);
    ready.swap(ready_);
    shutdown = shutdown_requested_;
    wake_pending_ = false;
  }
  for (ChannelImpl* ch : ready) {
    auto it = bindings_.find(ch);
    if (it != bindings_.end()) on_ready(*it->second, now);
  }
  for (auto& init : adds) attach(std::move(init), now);
  for (const auto& id : kicks) {
    auto it = ids_.find(id);
    if (it != ids_.end()) close_viewer(*it->second, CloseReason::kicked);
  }
  if (shutdown) stopping_ = true;
}

void EngineThread::reject(ViewerInit& init, CloseReason reason) {
  if (init.fd >= 0) ::close(init.fd);
  init.fd = -1;
  log_info(init.channel ? init.channel->name() : std::string(), init.id, "viewer-close",
           std::string("reason=") + close_reason_name(reason) + " (not attached)");
  registry_.remove(init.id, init.serial);
  load_.fetch_sub(1, std::memory_order_relaxed);
  if (init.on_closed) {
    try {
      init.on_closed(init.id, reason);
    } catch (...) {
      log_error("", init.id, "fanout-callback", "on_closed threw; ignored");
    }
  }
}

void EngineThread::attach(std::unique_ptr<ViewerInit> init, int64_t now) {
  if (stopping_) return reject(*init, CloseReason::shutdown);
  if (!init->channel || init->fd < 0) return reject(*init, CloseReason::io_error);

  int flags = fcntl(init->fd, F_GETFL);
  if (flags < 0 || fcntl(init->fd, F_SETFL, flags | O_NONBLOCK) != 0) return reject(*init, CloseReason::io_error);
  // We coalesce in user space and hand the kernel whole batches: Nagle would only add an RTT.
  int one = 1;
  setsockopt(init->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // fails harmlessly on AF_UNIX
  // Cap the kernel send buffer (autotuning grows it to tcp_wmem max, 4 MB on loopback) at the
  // viewer's backlog allowance, at most 1 MB: otherwise a stalled viewer hides megabytes in the
  // kernel before it counts as behind, and skip/max_behind_ms act seconds late. The kernel doubles it.
  const int sndbuf = int(std::min<size_t>(init->channel->limits().max_backlog_bytes, size_t(1) << 20) / 2);
  setsockopt(init->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

  ChannelImpl* key = init->channel.get();
  auto& slot = bindings_[key];
  if (!slot) {
    slot = std::make_unique<Binding>();
    slot->channel = init->channel;
    slot->channel->subscribe(this);
  }
  Binding& b = *slot;
  const SyncResult synced = b.channel->sync(this, b.view);

  auto owned = std::make_unique<Viewer>();
  Viewer& v = *owned;
  v.id = std::move(init->id);
  v.fd = init->fd;
  init->fd = -1;
  v.serial = init->serial;
  v.binding = &b;
  v.counters = std::move(init->counters);
  v.on_closed = std::move(init->on_closed);
  if (!init->prefix.empty()) v.pre.push_back(Fragment{make_payload(std::move(init->prefix)), 0});
  for (const auto& h : b.view.header) v.pre.push_back(Fragment{h, 0});
  const View& view = b.view;
  const View::SkipTarget start = view.start_position();
  v.next_seq = start.seq;
  v.next_byte = start.byte;
  v.await_kf = start.wait_for_keyframe;
  v.index = b.viewers.size();
  b.viewers.push_back(std::move(owned));
  ids_[v.id] = &v;
  ++viewers_;
  b.channel->note_viewers(1);

  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = &v;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, v.fd, &ev) != 0) {
    log_error(b.channel->name(), v.id, "fanout-error", "epoll_ctl: " + errno_text(errno));
    close_viewer(v, CloseReason::io_error);
    return;
  }
  log_debug(b.channel->name(), v.id, "viewer-attach",
            "thread=" + std::to_string(index_) + (v.await_kf ? " waiting for keyframe" : " from keyframe"));
  flush_viewer(v, now);
  // What the sync brought is pending for the binding's other viewers.
  if (!v.closed && b.viewers.size() > 1) schedule(b, synced, now);
}

void EngineThread::on_ready(Binding& b, int64_t now) { schedule(b, b.channel->sync(this, b.view), now); }

void EngineThread::schedule(Binding& b, const SyncResult& synced, int64_t now) {
  const int64_t batch = config_.write_batch_ms;
  if (batch <= 0 || synced.urgent || b.view.closed) return flush_binding(b, now);
  if (synced.appended == 0) return;
  // The cost of fan-out is one sendmsg per viewer per write, so writes follow the video frames:
  // a frame is written when waiting for the next one would keep it longer than the batch allows,
  // and audio rides along with it.
  if (b.pending_since_ms < 0) b.pending_since_ms = now;
  const int64_t interval = synced.video_interval_ms;
  if (synced.video_frames > 0) {
    b.last_video_ms = now;
    if (b.pending_video_since_ms < 0) b.pending_video_since_ms = now;
    if (interval <= 0 || now + interval > b.pending_video_since_ms + batch) return flush_binding(b, now);
  }
  const bool has_video = b.last_video_ms >= 0 && now - b.last_video_ms <= kVideoGoneMs;
  if (b.pending_video_since_ms >= 0) {
    b.flush_due_ms = b.pending_video_since_ms + batch;  // the next frame is late
  } else if (has_video) {
    b.flush_due_ms = b.pending_since_ms + batch + 2 * std::max<int64_t>(interval, 1);
  } else {
    b.flush_due_ms = b.pending_since_ms + batch;
  }
}

void EngineThread::flush_binding(Binding& b, int64_t now) {
  b.flush_due_ms = -1;
  b.pending_since_ms = -1;
  b.pending_video_since_ms = -1;
  // Backwards: closing a viewer swaps the last one (already done) into its slot.
  for (size_t i = b.viewers.size(); i-- > 0;) flush_viewer(*b.viewers[i], now);
  uint64_t keep = b.view.head_seq();
  for (const auto& v : b.viewers) {
    if (!v->await_kf) keep = std::min(keep, v->next_seq);
  }
  trim_view(b, keep);
}

void EngineThread::trim_view(Binding& b, uint64_t keep_seq) {
  const uint64_t before = b.view.front_byte();
  b.view.trim(keep_seq, b.channel->limits());
  if (b.view.front_byte() != before) b.channel->report_view_front(this, b.view.front_byte());
}

void EngineThread::position(Viewer& v) {
  View& view = v.binding->view;
  const size_t max_backlog = v.binding->channel->limits().max_backlog_bytes;
  if (!v.await_kf && (v.next_seq < view.front_seq || view.head_bytes - v.next_byte > max_backlog)) skip(v);
  if (!v.await_kf) return;
  uint64_t passed = 0;
  if (v.next_seq < view.front_seq) {
    passed += view.front_byte() - v.next_byte;
    v.next_seq = view.front_seq;
    v.next_byte = view.front_byte();
  }
  while (v.next_seq < view.head_seq()) {
    const Entry& e = view.at(v.next_seq);
    if (e.keyframe) {
      v.await_kf = false;
      v.drop_awaiting = false;
      break;
    }
    passed += e.payload->size();
    ++v.next_seq;
    v.next_byte += e.payload->size();
  }
  if (passed > 0 && v.drop_awaiting) {
    v.counters->bytes_dropped.fetch_add(passed, std::memory_order_relaxed);
    v.binding->channel->note_dropped_bytes(passed);
  }
}

void EngineThread::skip(Viewer& v) {
  // Already at (or past) the newest keyframe and still too far behind: wait for the next one.
  const View::SkipTarget target = v.binding->view.skip_target(v.next_seq);
  const uint64_t target_seq = target.seq, target_byte = target.byte;
  if (target.wait_for_keyframe) {
    v.await_kf = true;
    v.drop_awaiting = true;
  }
  const uint64_t dropped = target_byte - v.next_byte;
  v.next_seq = target_seq;
  v.next_byte = target_byte;
  v.counters->bytes_dropped.fetch_add(dropped, std::memory_order_relaxed);
  v.binding->channel->note_dropped_bytes(dropped);
  log_warn(v.binding->channel->name(), v.id, "viewer-skip",
           "backlog above " + std::to_string(v.binding->channel->limits().max_backlog_bytes) + " bytes; dropped " +
               std::to_string(dropped) + " bytes" + (v.await_kf ? ", waiting for next keyframe" : " to keyframe"));
}

void EngineThread::flush_viewer(Viewer& v, int64_t now) {
  if (v.closed || v.blocked) return;
  const View& view = v.binding->view;
  iovec iov[kMaxIov];
  for (;;) {
    position(v);
    int cnt = 0;
    size_t total = 0;
    for (size_t i = v.pre_idx; i < v.pre.size() && cnt < kMaxIov && total < kMaxWriteBytes; ++i) {
      const Fragment& f = v.pre[i];
      const size_t len = f.payload->size() - f.offset;
      iov[cnt].iov_base = const_cast<uint8_t*>(f.payload->data() + f.offset);
      iov[cnt].iov_len = len;
      ++cnt;
      total += len;
    }
    if (!v.await_kf) {
      const uint64_t head = view.head_seq();
      for (uint64_t seq = v.next_seq; seq < head && cnt < kMaxIov && total < kMaxWriteBytes; ++seq) {
        const Payload& p = *view.at(seq).payload;
        iov[cnt].iov_base = const_cast<uint8_t*>(p.data());
        iov[cnt].iov_len = p.size();
        ++cnt;
        total += p.size();
      }
    }
    if (cnt == 0) {
      v.behind_since_ms = 0;
      if (view.closed) close_viewer(v, CloseReason::ended);
      return;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(cnt);
    const ssize_t w = ::sendmsg(v.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        v.blocked = true;
        if (v.behind_since_ms == 0) v.behind_since_ms = now;
        return;
      }
      const bool peer = err == EPIPE || err == ECONNRESET;
      if (!peer) log_warn(v.binding->channel->name(), v.id, "fanout-error", "sendmsg: " + errno_text(err));
      close_viewer(v, peer ? CloseReason::peer_closed : CloseReason::io_error);
      return;
    }
    consume(v, static_cast<size_t>(w));
    v.counters->bytes_sent.fetch_add(static_cast<uint64_t>(w), std::memory_order_relaxed);
    if (static_cast<size_t>(w) < total) {
      // The socket buffer is full: edge-triggered EPOLLOUT tells us when it drains.
      v.blocked = true;
      if (v.behind_since_ms == 0) v.behind_since_ms = now;
      return;
    }
  }
}

void EngineThread::consume(Viewer& v, size_t n) {
  while (n > 0 && v.pre_idx < v.pre.size()) {
    Fragment& f = v.pre[v.pre_idx];
    const size_t left = f.payload->size() - f.offset;
    if (n >= left) {
      n -= left;
      ++v.pre_idx;
    } else {
      f.offset += n;
      n = 0;
    }
  }
  if (v.pre_idx == v.pre.size() && !v.pre.empty()) {
    v.pre.clear();
    v.pre_idx = 0;
  }
  const View& view = v.binding->view;
  while (n > 0) {
    const Entry& e = view.at(v.next_seq);
    const size_t size = e.payload->size();
    if (n >= size) {
      n -= size;
    } else {
      // Keep the rest of this packet with the viewer: the view may trim it, the viewer must finish it.
      v.pre.push_back(Fragment{e.payload, n});
      n = 0;
    }
    ++v.next_seq;
    v.next_byte += size;
  }
}

void EngineThread::read_input(Viewer& v) {
  static thread_local uint8_t scratch[16 * 1024];
  for (;;) {
    const ssize_t r = ::recv(v.fd, scratch, sizeof scratch, MSG_DONTWAIT);
    if (r > 0) {
      v.counters->bytes_received.fetch_add(static_cast<uint64_t>(r), std::memory_order_relaxed);
      v.input_bytes += static_cast<uint64_t>(r);
      if (v.input_bytes > config_.max_viewer_input) {
        log_warn(v.binding->channel->name(), v.id, "fanout-error",
                 "viewer sent more than " + std::to_string(config_.max_viewer_input) + " bytes");
        close_viewer(v, CloseReason::io_error);
        return;
      }
      continue;
    }
    if (r == 0) {
      close_viewer(v, CloseReason::peer_closed);
      return;
    }
    const int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) return;
    const bool peer = err == ECONNRESET || err == EPIPE || err == ETIMEDOUT;
    if (!peer) log_warn(v.binding->channel->name(), v.id, "fanout-error", "recv: " + errno_text(err));
    close_viewer(v, peer ? CloseReason::peer_closed : CloseReason::io_error);
    return;
  }
}

void EngineThread::housekeeping(int64_t now) {
  for (auto& [ch, bp] : bindings_) {
    Binding& b = *bp;
    const ChannelLimits& limits = b.channel->limits();
    for (size_t i = b.viewers.size(); i-- > 0;) {
      Viewer& v = *b.viewers[i];
      // A stalled viewer gets no events; move its position here so the view can let go of packets
      // and the drop is accounted for while it happens.
      if (v.blocked) position(v);
      if (v.behind_since_ms != 0 && now - v.behind_since_ms > limits.max_behind_ms) {
        close_viewer(v, CloseReason::too_slow);
      }
    }
    uint64_t keep = b.view.head_seq();
    for (const auto& v : b.viewers) {
      if (!v->await_kf) keep = std::min(keep, v->next_seq);
    }
    trim_view(b, keep);
  }
}

void EngineThread::close_viewer(Viewer& v, CloseReason reason) {
  if (v.closed) return;
  v.closed = true;
  ::close(v.fd);  // also removes it from the epoll set
  v.fd = -1;
  Binding& b = *v.binding;
  auto it = ids_.find(v.id);
  if (it != ids_.end() && it->second == &v) ids_.erase(it);
  b.channel->note_viewers(-1);
  if (reason == CloseReason::too_slow) b.channel->note_dropped_viewer();
  const std::string msg = std::string("reason=") + close_reason_name(reason) +
                          " sent=" + std::to_string(v.counters->bytes_sent.load(std::memory_order_relaxed)) +
                          " dropped=" + std::to_string(v.counters->bytes_dropped.load(std::memory_order_relaxed));
  if (reason == CloseReason::too_slow || reason == CloseReason::io_error) {
    log_warn(b.channel->name(), v.id, "viewer-close", msg);
  } else {
    log_info(b.channel->name(), v.id, "viewer-close", msg);
  }
  registry_.remove(v.id, v.serial);
  load_.fetch_sub(1, std::memory_order_relaxed);
  --viewers_;
  v.pre.clear();
  const size_t idx = v.index;
  std::unique_ptr<Viewer> owned = std::move(b.viewers[idx]);
  if (idx + 1 != b.viewers.size()) {
    b.viewers[idx] = std::move(b.viewers.back());
    b.viewers[idx]->index = idx;
  }
  b.viewers.pop_back();
  OnViewerClosed cb = std::move(v.on_closed);
  dead_.push_back(std::move(owned));
  if (cb) {
    try {
      cb(v.id, reason);
    } catch (...) {
      log_error(b.channel->name(), v.id, "fanout-callback", "on_closed threw; ignored");
    }
  }
}

void EngineThread::release_idle_bindings() {
  for (auto it = bindings_.begin(); it != bindings_.end();) {
    if (it->second->viewers.empty()) {
      it->second->channel->unsubscribe(this);
      it = bindings_.erase(it);
    } else {
      ++it;
    }
  }
}

void EngineThread::shutdown_all() {
  stopping_ = true;
  std::vector<std::unique_ptr<ViewerInit>> adds;
  {
    std::lock_guard lock(mu_);
    adds.swap(adds_);
    kicks_.clear();
    ready_.clear();
  }
  for (auto& init : adds) reject(*init, CloseReason::shutdown);
  for (auto& [ch, b] : bindings_) {
    while (!b->viewers.empty()) close_viewer(*b->viewers.back(), CloseReason::shutdown);
  }
  release_idle_bindings();
  dead_.clear();
}

}  // namespace estuary::fanout
