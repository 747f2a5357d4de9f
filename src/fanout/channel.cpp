// Owns: ChannelImpl (queue, trimming, subscriber notification) and View::trim. See channel.h.
#include "fanout/channel.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace estuary::fanout {
namespace {

// The part of a queue that can go: everything before `keep_seq` that precedes the newest cached
// keyframe, plus anything so far behind the head that a viewer positioned there would skip.
template <typename Deque>
void trim_queue(Deque& entries, uint64_t& front_seq, uint64_t head_bytes, uint64_t gop_keep, uint64_t keep_seq,
                size_t max_backlog) {
  const uint64_t keep = std::min(gop_keep, keep_seq);
  while (!entries.empty() && front_seq < gop_keep) {
    const Entry& e = entries.front();
    const bool unneeded = front_seq < keep;
    const bool too_old = e.start + max_backlog < head_bytes;
    if (!unneeded && !too_old) break;
    entries.pop_front();
    ++front_seq;
  }
}

}  // namespace

void View::trim(uint64_t keep_seq, const ChannelLimits& limits) {
  uint64_t gop_keep = head_seq();
  if (has_kf && contains(newest_kf_seq) && head_bytes - at(newest_kf_seq).start <= limits.max_gop_bytes) {
    gop_keep = newest_kf_seq;
  }
  trim_queue(entries, front_seq, head_bytes, gop_keep, keep_seq, limits.max_backlog_bytes);
  if (has_kf && !contains(newest_kf_seq)) has_kf = false;
}

ChannelImpl::ChannelImpl(std::string name, ChannelLimits limits) : name_(std::move(name)), limits_(limits) {}

ChannelImpl::~ChannelImpl() = default;

void ChannelImpl::set_header(std::vector<PayloadPtr> header) {
  std::erase_if(header, [](const PayloadPtr& p) { return !p || p->size() == 0; });
  std::lock_guard lock(mu_);
  header_ = std::move(header);
  ++header_version_;
}

void ChannelImpl::push(Packet packet) {
  if (!packet.payload || packet.payload->size() == 0) return;
  const size_t size = packet.payload->size();
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    const uint64_t seq = front_seq_ + entries_.size();
    entries_.push_back(
        Entry{head_bytes_, std::move(packet.payload), packet.dts_ms, packet.keyframe, packet.urgent, packet.video});
    head_bytes_ += size;
    if (packet.video) note_video_dts_locked(packet.dts_ms);
    if (packet.keyframe) {
      has_kf_ = true;
      newest_kf_seq_ = seq;
    }
    trim_locked();
    notify_locked();
  }
  packets_in_.fetch_add(1, std::memory_order_relaxed);
  bytes_in_.fetch_add(size, std::memory_order_relaxed);
}

void ChannelImpl::note_video_dts_locked(int64_t dts_ms) {
  // Smoothed over a few frames; differences outside 1..1000 ms (timestamp jumps) are ignored.
  const int64_t d = last_video_dts_ >= 0 ? dts_ms - last_video_dts_ : 0;
  last_video_dts_ = dts_ms;
  if (d < 1 || d > 1000) return;
  video_interval_ms_ = video_interval_ms_ == 0 ? double(d) : (video_interval_ms_ * 3 + double(d)) / 4;
}

void ChannelImpl::close() {
  std::lock_guard lock(mu_);
  if (closed_) return;
  closed_ = true;
  notify_locked();
}

ChannelStats ChannelImpl::stats() const {
  ChannelStats s;
  s.packets_in = packets_in_.load(std::memory_order_relaxed);
  s.bytes_in = bytes_in_.load(std::memory_order_relaxed);
  s.viewers = viewers_.load(std::memory_order_relaxed);
  s.dropped_bytes = dropped_bytes_.load(std::memory_order_relaxed);
  s.dropped_viewers = dropped_viewers_.load(std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  uint64_t front = entries_.empty() ? head_bytes_ : entries_.front().start;
  for (const auto& sub : subscribers_) front = std::min(front, sub.view_front_byte);
  s.retained_bytes = head_bytes_ - front;
  return s;
}

void ChannelImpl::subscribe(Waker* waker) {
  std::lock_guard lock(mu_);
  Subscriber sub;
  sub.waker = waker;
  const uint64_t head_seq = front_seq_ + entries_.size();
  sub.synced_seq = (has_kf_ && newest_kf_seq_ >= front_seq_) ? newest_kf_seq_ : head_seq;
  sub.view_front_byte = head_bytes_;
  subscribers_.push_back(sub);
}

void ChannelImpl::unsubscribe(Waker* waker) {
  std::lock_guard lock(mu_);
  std::erase_if(subscribers_, [waker](const Subscriber& s) { return s.waker == waker; });
  trim_locked();
}

SyncResult ChannelImpl::sync(Waker* waker, View& view) {
  std::lock_guard lock(mu_);
  const uint64_t head_seq = front_seq_ + entries_.size();
  if (view.fresh) {
    view.fresh = false;
    view.entries.clear();
    view.has_kf = false;
    view.front_seq = (has_kf_ && newest_kf_seq_ >= front_seq_) ? newest_kf_seq_ : head_seq;
  } else if (view.head_seq() < front_seq_) {
    // This thread fell further behind than the backlog bound allows; its viewers will skip.
    view.entries.clear();
    view.has_kf = false;
    view.front_seq = front_seq_;
  }
  SyncResult result;
  result.video_interval_ms = int64_t(video_interval_ms_ + 0.5);
  for (uint64_t seq = view.head_seq(); seq < head_seq; ++seq) {
    const Entry& e = entries_[seq - front_seq_];
    view.entries.push_back(e);
    ++result.appended;
    result.urgent = result.urgent || e.urgent;
    if (e.video) ++result.video_frames;
    if (e.keyframe) {
      view.has_kf = true;
      view.newest_kf_seq = seq;
    }
  }
  view.head_bytes = head_bytes_;
  view.closed = closed_;
  if (view.header_version != header_version_) {
    view.header = header_;
    view.header_version = header_version_;
  }
  for (auto& sub : subscribers_) {
    if (sub.waker != waker) continue;
    sub.notified = false;
    sub.synced_seq = head_seq;
    sub.view_front_byte = view.front_byte();
  }
  trim_locked();
  return result;
}

void ChannelImpl::report_view_front(Waker* waker, uint64_t front_byte) {
  std::lock_guard lock(mu_);
  for (auto& sub : subscribers_) {
    if (sub.waker == waker) sub.view_front_byte = front_byte;
  }
}

void ChannelImpl::trim_locked() {
  uint64_t gop_keep = front_seq_ + entries_.size();
  if (has_kf_ && newest_kf_seq_ >= front_seq_ &&
      head_bytes_ - entries_[newest_kf_seq_ - front_seq_].start <= limits_.max_gop_bytes) {
    gop_keep = newest_kf_seq_;
  }
  uint64_t keep_seq = std::numeric_limits<uint64_t>::max();
  for (const auto& sub : subscribers_) keep_seq = std::min(keep_seq, sub.synced_seq);
  trim_queue(entries_, front_seq_, head_bytes_, gop_keep, keep_seq, limits_.max_backlog_bytes);
}

void ChannelImpl::notify_locked() {
  for (auto& sub : subscribers_) {
    if (sub.notified) continue;
    sub.notified = true;
    sub.waker->channel_ready(this);
  }
}

}  // namespace estuary::fanout
