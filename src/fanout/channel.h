// Owns: the channel implementation (the shared packet queue of one stream and format) and the narrow
// interface between a channel and the engine threads that serve its viewers. Internal to the
// fan-out library.
//
// Threads: push/set_header/close run on producer threads (GStreamer streaming threads); subscribe,
// unsubscribe and sync run on engine threads. One mutex guards the queue; it is held only for O(1)
// appends, amortised O(1) trimming and for copying new packet references into an engine thread's
// view, never across a syscall other than the engine's eventfd write.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "fanout/fanout.h"

namespace estuary::fanout {

class ChannelImpl;

// One queued packet. `start` is the packet's byte offset in the channel's stream (the sum of all
// earlier payload sizes), so backlogs are differences of two numbers.
struct Entry {
  uint64_t start = 0;
  PayloadPtr payload;
  int64_t dts_ms = 0;
  bool keyframe = false;
  bool urgent = false;
  bool video = false;
  uint64_t end() const { return start + payload->size(); }
};

// An engine thread's private copy of the references of one channel's queue. Engine threads write
// from their view without holding the channel lock; the references keep the payloads alive even
// after the channel has trimmed them.
struct View {
  std::deque<Entry> entries;
  uint64_t front_seq = 0;   // sequence number of entries.front()
  uint64_t head_bytes = 0;  // stream offset after the last entry
  bool has_kf = false;
  uint64_t newest_kf_seq = 0;
  bool closed = false;
  bool fresh = true;  // never synced: the first sync starts at the newest keyframe
  uint64_t header_version = 0;
  std::vector<PayloadPtr> header;

  uint64_t head_seq() const { return front_seq + entries.size(); }
  const Entry& at(uint64_t seq) const { return entries[seq - front_seq]; }
  bool contains(uint64_t seq) const { return seq >= front_seq && seq < head_seq(); }
  uint64_t front_byte() const { return entries.empty() ? head_bytes : entries.front().start; }
  // Drops references that no viewer of this thread needs: keeps everything from `keep_seq` (the
  // oldest position of the thread's viewers) and from the newest keyframe, except that nothing
  // further behind the head than the backlog bound is kept (viewers that far back skip anyway).
  void trim(uint64_t keep_seq, const ChannelLimits& limits);
  // Where a viewer at `from_seq` that is too far behind resumes: the newest keyframe if it is ahead,
  // else the head, where it waits for the next keyframe (wait_for_keyframe).
  struct SkipTarget {
    uint64_t seq = 0;
    uint64_t byte = 0;
    bool wait_for_keyframe = false;
  };
  SkipTarget skip_target(uint64_t from_seq) const {
    if (has_kf && contains(newest_kf_seq) && newest_kf_seq > from_seq) return {newest_kf_seq, at(newest_kf_seq).start};
    return {head_seq(), head_bytes, true};
  }
  // Where a new viewer starts: the newest keyframe still held, else the head, where it waits for
  // the next keyframe. Every reader of channels (the TCP engine, the SRT sender) starts here.
  SkipTarget start_position() const {
    if (has_kf && contains(newest_kf_seq)) return {newest_kf_seq, at(newest_kf_seq).start};
    return {head_seq(), head_bytes, true};
  }
};

// Implemented by an engine thread: called (under the channel lock) when a subscribed channel got
// data or was closed. Must not call back into the channel.
class Waker {
 public:
  virtual ~Waker() = default;
  virtual void channel_ready(ChannelImpl* channel) = 0;
};

// What a sync appended to a view, for the engine's batching decision.
struct SyncResult {
  size_t appended = 0;
  bool urgent = false;            // an urgent packet was among them
  size_t video_frames = 0;        // video frames among them
  int64_t video_interval_ms = 0;  // the stream's video frame interval (dts), 0 = not known yet
};

class ChannelImpl final : public Channel {
 public:
  ChannelImpl(std::string name, ChannelLimits limits);
  ~ChannelImpl() override;

  void set_header(std::vector<PayloadPtr> header) override;
  void push(Packet packet) override;
  void close() override;
  ChannelStats stats() const override;
  const std::string& name() const override { return name_; }

  const ChannelLimits& limits() const { return limits_; }
  // Engine side. A subscribed waker is told about new data (once until its next sync) and keeps
  // the packets it has not synced yet from being trimmed (up to the backlog bound).
  void subscribe(Waker* waker);
  void unsubscribe(Waker* waker);
  // Appends to `view` the references it lacks and clears the waker's pending notification. A
  // fresh view starts at the newest keyframe (or at the head when there is none).
  SyncResult sync(Waker* waker, View& view);
  // Tells the channel how far back the waker's view still reaches (for retained_bytes).
  void report_view_front(Waker* waker, uint64_t front_byte);

  void note_viewers(int delta) { viewers_.fetch_add(static_cast<uint64_t>(delta), std::memory_order_relaxed); }
  void note_dropped_bytes(uint64_t n) { dropped_bytes_.fetch_add(n, std::memory_order_relaxed); }
  void note_dropped_viewer() { dropped_viewers_.fetch_add(1, std::memory_order_relaxed); }

 private:
  struct Subscriber {
    Waker* waker = nullptr;
    uint64_t synced_seq = 0;
    uint64_t view_front_byte = 0;
    bool notified = false;
  };
  void trim_locked();
  void note_video_dts_locked(int64_t dts_ms);
  void notify_locked();

  const std::string name_;
  const ChannelLimits limits_;

  mutable std::mutex mu_;
  std::deque<Entry> entries_;
  uint64_t front_seq_ = 0;
  uint64_t head_bytes_ = 0;
  bool has_kf_ = false;
  uint64_t newest_kf_seq_ = 0;
  bool closed_ = false;
  int64_t last_video_dts_ = -1;
  double video_interval_ms_ = 0;  // smoothed dts difference of consecutive video frames
  uint64_t header_version_ = 1;
  std::vector<PayloadPtr> header_;
  std::vector<Subscriber> subscribers_;

  std::atomic<uint64_t> packets_in_{0};
  std::atomic<uint64_t> bytes_in_{0};
  std::atomic<uint64_t> viewers_{0};
  std::atomic<uint64_t> dropped_bytes_{0};
  std::atomic<uint64_t> dropped_viewers_{0};
};

}  // namespace estuary::fanout
