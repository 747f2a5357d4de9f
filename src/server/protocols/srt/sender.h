// Owns: the "srt-send" thread that plays shared fan-out channels (MPEG-TS) to SRT viewers. Each
// viewer is an SRT link plus a position in its channel's queue; the thread reads the channel
// through the fan-out's engine-side interface (subscribe / sync / View, like the TCP engine) and
// regroups the TS packets into 1316-byte messages (7 x 188) per viewer, carrying what does not fill
// a message over to the next packet (a message is sent short only when nothing more comes within
// a few ms). A new viewer gets the channel header (PAT + PMT) first, then the queue from its newest
// keyframe. A viewer whose backlog passes the channel's bound skips to the next keyframe; one that
// stays behind longer than max_behind_ms is dropped (too_slow).
//
// Threads: add/remove/channel_ready are called from any thread and only queue work; the rest runs
// on srt-send. on_closed runs on srt-send and must only post elsewhere.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "fanout/channel.h"
#include "fanout/fanout.h"
#include "server/protocols/srt/link.h"

namespace estuary::srt {

constexpr size_t ts_message_size = 1316;  // 7 MPEG-TS packets: SRT's live payload

class Sender final : public fanout::Waker {
 public:
  using OnClosed = std::function<void(const std::string& id, fanout::CloseReason reason)>;

  Sender();
  ~Sender() override;  // stops srt-send; viewers still attached get no callback
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  void start();
  // Starts playing channel to link. A channel that is not the fan-out's own implementation, or a
  // sender that is stopping, closes the viewer at once (io_error / shutdown).
  void add(fanout::ChannelPtr channel, std::shared_ptr<Link> link, std::string id, OnClosed on_closed);
  // Stops playing to id (no on_closed). Unknown ids are ignored.
  void remove(const std::string& id);
  size_t viewer_count() const { return count_.load(); }

  void channel_ready(fanout::ChannelImpl* channel) override;

 private:
  struct Binding;
  struct Viewer;
  struct Add {
    std::shared_ptr<fanout::ChannelImpl> channel;
    std::shared_ptr<Link> link;
    std::string id;
    OnClosed on_closed;
  };

  void run();
  void attach(Add add, int64_t now);
  void flush_binding(Binding& b, int64_t now);
  void flush_viewer(Viewer& v, int64_t now);
  void position(Viewer& v);
  void skip(Viewer& v);
  void housekeeping(int64_t now);
  void trim_view(Binding& b);
  void close_viewer(Viewer& v, fanout::CloseReason reason, bool notify);
  void release_idle_bindings();
  bool wants_soon() const;

  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::vector<Add> adds_;
  std::vector<std::string> removes_;
  std::vector<fanout::ChannelImpl*> ready_;
  std::atomic<size_t> count_{0};

  // srt-send only.
  std::unordered_map<fanout::ChannelImpl*, std::unique_ptr<Binding>> bindings_;
  std::unordered_map<std::string, Viewer*> ids_;
  int64_t next_housekeeping_ms_ = 0;
};

}  // namespace estuary::srt
