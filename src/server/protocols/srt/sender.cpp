// Owns: Sender (see sender.h): the srt-send loop, per-viewer 1316-byte message assembly, the
// slow-viewer policy and viewer shutdown.
#include "server/protocols/srt/sender.h"

#include <pthread.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>

#include "common/log.h"

namespace estuary::srt {
namespace {

constexpr int64_t kHousekeepingMs = 100;
constexpr int64_t kRetryMs = 10;         // a blocked viewer or a short message is looked at again after this
constexpr int64_t kShortMessageMs = 20;  // a partial message waits this long for the rest
constexpr int kMessagesPerTurn = 512;    // fairness between viewers of one wakeup

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
             .count() +
         1;  // never 0: 0 means "not set"
}

}  // namespace

struct Sender::Viewer {
  std::string id;
  std::shared_ptr<Link> link;
  OnClosed on_closed;
  Binding* binding = nullptr;
  std::vector<uint8_t> pre;  // channel header still to send
  size_t pre_off = 0;
  uint64_t next_seq = 0;   // queue entry being sent
  uint64_t next_byte = 0;  // its stream offset
  size_t entry_off = 0;    // bytes of it already in a message
  bool await_kf = false;
  std::array<uint8_t, ts_message_size> msg;
  size_t msg_len = 0;
  int64_t msg_since_ms = 0;  // when the first byte of the partial message was taken
  bool blocked = false;      // libsrt's send buffer was full
  int64_t behind_since_ms = 0;
  bool closed = false;
};

struct Sender::Binding {
  std::shared_ptr<fanout::ChannelImpl> channel;
  fanout::View view;
  std::vector<std::unique_ptr<Viewer>> viewers;
};

Sender::Sender() = default;

Sender::~Sender() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Sender::start() {
  thread_ = std::thread([this] { run(); });
}

void Sender::add(fanout::ChannelPtr channel, std::shared_ptr<Link> link, std::string id, OnClosed on_closed) {
  Add a{std::dynamic_pointer_cast<fanout::ChannelImpl>(std::move(channel)), std::move(link), std::move(id),
        std::move(on_closed)};
  count_.fetch_add(1);
  {
    std::lock_guard lock(mu_);
    adds_.push_back(std::move(a));
  }
  cv_.notify_one();
}

void Sender::remove(const std::string& id) {
  {
    std::lock_guard lock(mu_);
    removes_.push_back(id);
  }
  cv_.notify_one();
}

void Sender::channel_ready(fanout::ChannelImpl* channel) {
  // Under the channel's lock: queue only.
  {
    std::lock_guard lock(mu_);
    ready_.push_back(channel);
  }
  cv_.notify_one();
}

bool Sender::wants_soon() const {
  for (const auto& [ch, b] : bindings_)
    for (const auto& v : b->viewers)
      if (v->blocked || v->msg_len > 0) return true;
  return false;
}

void Sender::run() {
  pthread_setname_np(pthread_self(), "srt-send");
  next_housekeeping_ms_ = now_ms() + kHousekeepingMs;
  for (;;) {
    std::vector<Add> adds;
    std::vector<std::string> removes;
    std::vector<fanout::ChannelImpl*> ready;
    {
      std::unique_lock lock(mu_);
      auto has_work = [this] { return stop_ || !adds_.empty() || !removes_.empty() || !ready_.empty(); };
      if (!has_work()) {
        if (wants_soon())
          cv_.wait_for(lock, std::chrono::milliseconds(kRetryMs), has_work);
        else if (!bindings_.empty())
          cv_.wait_for(lock, std::chrono::milliseconds(kHousekeepingMs), has_work);
        else
          cv_.wait(lock, has_work);
      }
      if (stop_) break;
      adds.swap(adds_);
      removes.swap(removes_);
      ready.swap(ready_);
    }
    const int64_t now = now_ms();
    // Adds before removes: a viewer removed right after it was added must not stay attached.
    for (auto& a : adds) attach(std::move(a), now);
    for (const auto& id : removes) {
      auto it = ids_.find(id);
      if (it != ids_.end()) close_viewer(*it->second, fanout::CloseReason::kicked, false);
    }
    std::sort(ready.begin(), ready.end());
    ready.erase(std::unique(ready.begin(), ready.end()), ready.end());
    for (fanout::ChannelImpl* ch : ready) {
      auto it = bindings_.find(ch);
      if (it == bindings_.end()) continue;
      it->second->channel->sync(this, it->second->view);
      flush_binding(*it->second, now);
    }
    // Blocked viewers and short messages are retried on every turn (at most kRetryMs apart).
    for (auto& [ch, b] : bindings_)
      for (size_t i = b->viewers.size(); i-- > 0;) {
        Viewer& v = *b->viewers[i];
        if (v.blocked || v.msg_len > 0) {
          v.blocked = false;
          flush_viewer(v, now);
        }
      }
    if (now >= next_housekeeping_ms_) {
      housekeeping(now);
      next_housekeeping_ms_ = now + kHousekeepingMs;
    }
    release_idle_bindings();
  }
  // Stopping: let go of every channel; the connections close their links themselves.
  for (auto& [ch, b] : bindings_) {
    b->channel->note_viewers(-int(b->viewers.size()));
    b->channel->unsubscribe(this);
  }
  bindings_.clear();
  ids_.clear();
}

void Sender::attach(Add a, int64_t now) {
  if (!a.channel || !a.link) {
    count_.fetch_sub(1);
    if (a.on_closed) a.on_closed(a.id, fanout::CloseReason::io_error);
    return;
  }
  if (auto old = ids_.find(a.id); old != ids_.end()) close_viewer(*old->second, fanout::CloseReason::kicked, false);
  auto& slot = bindings_[a.channel.get()];
  if (!slot) {
    slot = std::make_unique<Binding>();
    slot->channel = a.channel;
    slot->channel->subscribe(this);
  }
  Binding& b = *slot;
  b.channel->sync(this, b.view);
  auto owned = std::make_unique<Viewer>();
  Viewer& v = *owned;
  v.id = std::move(a.id);
  v.link = std::move(a.link);
  v.on_closed = std::move(a.on_closed);
  v.binding = &b;
  for (const auto& h : b.view.header) v.pre.insert(v.pre.end(), h->data(), h->data() + h->size());
  const fanout::View& view = b.view;
  const fanout::View::SkipTarget start = view.start_position();
  v.next_seq = start.seq;
  v.next_byte = start.byte;
  v.await_kf = start.wait_for_keyframe;
  b.viewers.push_back(std::move(owned));
  ids_[v.id] = &v;
  b.channel->note_viewers(1);
  log_debug(b.channel->name(), v.id, "viewer-attach",
            std::string("srt") + (v.await_kf ? " waiting for keyframe" : " from keyframe"));
  flush_viewer(v, now);
}

void Sender::flush_binding(Binding& b, int64_t now) {
  for (size_t i = b.viewers.size(); i-- > 0;) flush_viewer(*b.viewers[i], now);
  trim_view(b);
}

void Sender::trim_view(Binding& b) {
  uint64_t keep = b.view.head_seq();
  for (const auto& v : b.viewers)
    if (!v->await_kf) keep = std::min(keep, v->next_seq);
  const uint64_t before = b.view.front_byte();
  b.view.trim(keep, b.channel->limits());
  if (b.view.front_byte() != before) b.channel->report_view_front(this, b.view.front_byte());
}

void Sender::position(Viewer& v) {
  fanout::View& view = v.binding->view;
  const size_t max_backlog = v.binding->channel->limits().max_backlog_bytes;
  if (!v.await_kf && (v.next_seq < view.front_seq || view.head_bytes - v.next_byte > max_backlog)) skip(v);
  if (!v.await_kf) return;
  uint64_t passed = 0;
  if (v.next_seq < view.front_seq) {
    v.next_seq = view.front_seq;
    v.next_byte = view.front_byte();
  }
  while (v.next_seq < view.head_seq()) {
    const fanout::Entry& e = view.at(v.next_seq);
    if (e.keyframe) {
      v.await_kf = false;
      break;
    }
    passed += e.payload->size();
    ++v.next_seq;
    v.next_byte += e.payload->size();
  }
  (void)passed;
}

void Sender::skip(Viewer& v) {
  const fanout::View::SkipTarget target = v.binding->view.skip_target(v.next_seq);
  const uint64_t target_seq = target.seq, target_byte = target.byte;
  if (target.wait_for_keyframe) v.await_kf = true;
  // Whole TS packets already taken into the message are dropped with the rest: the player sees
  // one discontinuity and resumes at a keyframe.
  const uint64_t dropped = target_byte - v.next_byte + v.msg_len;
  v.next_seq = target_seq;
  v.next_byte = target_byte;
  v.entry_off = 0;
  v.msg_len = 0;
  v.msg_since_ms = 0;
  v.link->note_dropped(dropped);
  v.binding->channel->note_dropped_bytes(dropped);
  log_warn(v.binding->channel->name(), v.id, "viewer-skip",
           "srt backlog above " + std::to_string(v.binding->channel->limits().max_backlog_bytes) + " bytes; dropped " +
               std::to_string(dropped) + " bytes" + (v.await_kf ? ", waiting for next keyframe" : " to keyframe"));
}

void Sender::flush_viewer(Viewer& v, int64_t now) {
  if (v.closed) return;
  const fanout::View& view = v.binding->view;
  for (int sent = 0; sent < kMessagesPerTurn; ++sent) {
    position(v);
    // Fill the message: header first, then queue entries (a message may span entries and an entry
    // may span messages; only whole TS packets come in, so every message stays packet-aligned).
    // A viewer waiting for a keyframe gets nothing yet, not even the header: PAT and PMT go out
    // together with the keyframe.
    while (v.msg_len < ts_message_size && !v.await_kf) {
      const size_t room = ts_message_size - v.msg_len;
      size_t n = 0;
      if (v.pre_off < v.pre.size()) {
        n = std::min(room, v.pre.size() - v.pre_off);
        std::memcpy(v.msg.data() + v.msg_len, v.pre.data() + v.pre_off, n);
        v.pre_off += n;
        if (v.pre_off == v.pre.size()) {
          v.pre.clear();
          v.pre_off = 0;
        }
      } else if (v.next_seq < view.head_seq()) {
        const fanout::Payload& p = *view.at(v.next_seq).payload;
        n = std::min(room, p.size() - v.entry_off);
        std::memcpy(v.msg.data() + v.msg_len, p.data() + v.entry_off, n);
        v.entry_off += n;
        if (v.entry_off == p.size()) {
          ++v.next_seq;
          v.next_byte += p.size();
          v.entry_off = 0;
        }
      } else {
        break;
      }
      if (v.msg_len == 0) v.msg_since_ms = now;
      v.msg_len += n;
    }
    if (v.msg_len == 0) {
      v.behind_since_ms = 0;
      if (view.closed) close_viewer(v, fanout::CloseReason::ended, true);
      return;
    }
    // Short message: wait a little for the rest unless the stream ended.
    if (v.msg_len < ts_message_size && !view.closed && now - v.msg_since_ms < kShortMessageMs) return;
    const int r = srt_sendmsg2(v.link->socket(), reinterpret_cast<const char*>(v.msg.data()), int(v.msg_len), nullptr);
    if (r == SRT_ERROR) {
      const int err = srt_getlasterror(nullptr);
      if (err == SRT_EASYNCSND) {
        v.blocked = true;
        if (v.behind_since_ms == 0) v.behind_since_ms = now;
        return;
      }
      log_info(v.binding->channel->name(), v.id, "srt-send", std::string("send failed: ") + srt_getlasterror_str());
      close_viewer(v, fanout::CloseReason::peer_closed, true);
      return;
    }
    v.link->note_sent(v.msg_len);
    v.msg_len = 0;
    v.msg_since_ms = 0;
  }
}

void Sender::housekeeping(int64_t now) {
  for (auto& [ch, bp] : bindings_) {
    Binding& b = *bp;
    const int64_t max_behind = b.channel->limits().max_behind_ms;
    for (size_t i = b.viewers.size(); i-- > 0;) {
      Viewer& v = *b.viewers[i];
      if (v.blocked) position(v);
      if (v.behind_since_ms != 0 && now - v.behind_since_ms > max_behind)
        close_viewer(v, fanout::CloseReason::too_slow, true);
    }
    trim_view(b);
  }
}

void Sender::close_viewer(Viewer& v, fanout::CloseReason reason, bool notify) {
  if (v.closed) return;
  v.closed = true;
  Binding& b = *v.binding;
  auto it = ids_.find(v.id);
  if (it != ids_.end() && it->second == &v) ids_.erase(it);
  b.channel->note_viewers(-1);
  if (reason == fanout::CloseReason::too_slow) b.channel->note_dropped_viewer();
  count_.fetch_sub(1);
  OnClosed cb = notify ? std::move(v.on_closed) : OnClosed();
  const std::string id = v.id;
  const std::string name = b.channel->name();
  log_info(name, id, "viewer-close",
           std::string("srt reason=") + fanout::close_reason_name(reason) +
               " sent=" + std::to_string(v.link->bytes_sent()) + " dropped=" + std::to_string(v.link->bytes_dropped()));
  auto pos = std::find_if(b.viewers.begin(), b.viewers.end(), [&v](const auto& p) { return p.get() == &v; });
  if (pos != b.viewers.end()) b.viewers.erase(pos);  // frees v
  if (cb) cb(id, reason);
}

void Sender::release_idle_bindings() {
  for (auto it = bindings_.begin(); it != bindings_.end();) {
    if (it->second->viewers.empty()) {
      it->second->channel->unsubscribe(this);
      it = bindings_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace estuary::srt
