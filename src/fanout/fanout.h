// Owns: the byte-stream fan-out engine. One Channel per stream and format (FLV, RTMP chunks, TS)
// holds a queue of shared, immutable packets; each viewer is a socket plus a position in that
// queue. The Engine runs its own epoll threads (see EngineConfig::threads); Channel::push is called
// from GStreamer streaming threads; everything here is thread-safe. Callbacks run on engine
// threads: callers post to the main loop themselves.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace estuary::fanout {

// Immutable shared bytes, produced once per stream and format and referenced by every viewer.
class Payload {
 public:
  virtual ~Payload() = default;
  virtual const uint8_t* data() const = 0;
  virtual size_t size() const = 0;
};
using PayloadPtr = std::shared_ptr<const Payload>;

// Payload owning a byte vector.
PayloadPtr make_payload(std::vector<uint8_t> bytes);

struct Packet {
  PayloadPtr payload;
  bool keyframe = false;  // a viewer may start (or resume after a skip) here
  int64_t dts_ms = 0;     // for "time behind" accounting
  // A video frame. With write batching, video frames set the pace of writes: they are grouped so
  // that none waits longer than EngineConfig::write_batch_ms, and other packets (audio, data) ride
  // along with them instead of causing writes of their own.
  bool video = false;
  // With write batching (EngineConfig::write_batch_ms > 0): write this packet, and everything
  // queued before it, at once instead of at the batch deadline (for formats whose muxer already
  // groups its output, or data that must not wait). Ignored without batching.
  bool urgent = false;
};

struct ChannelLimits {
  size_t max_backlog_bytes = 4 * 1024 * 1024;  // above this a viewer skips to the newest keyframe
  int64_t max_behind_ms = 5000;                // a viewer behind this long is disconnected
  size_t max_gop_bytes = 32 * 1024 * 1024;     // bound on what a channel keeps for late joiners
};

struct ChannelStats {
  uint64_t packets_in = 0;
  uint64_t bytes_in = 0;
  uint64_t viewers = 0;
  uint64_t dropped_bytes = 0;    // skipped for slow viewers
  uint64_t dropped_viewers = 0;  // disconnected for being too slow
  // Bytes of queued packets kept alive by the channel and the engine threads (late-joiner GOP plus
  // what attached viewers still need); bounded by the limits. Excludes each viewer's one
  // partly-written packet.
  uint64_t retained_bytes = 0;
};

class Channel {
 public:
  static std::shared_ptr<Channel> create(std::string name, ChannelLimits limits);
  virtual ~Channel() = default;
  // Bytes every new viewer receives before the first packet (FLV header + metadata + sequence
  // headers, or TS PAT/PMT). May be replaced when the stream's codec headers change.
  virtual void set_header(std::vector<PayloadPtr> header) = 0;
  // Appends a packet; never blocks on viewers.
  virtual void push(Packet packet) = 0;
  // End of stream: viewers get what is queued, then their sockets are closed (CloseReason::ended).
  virtual void close() = 0;
  virtual ChannelStats stats() const = 0;
  virtual const std::string& name() const = 0;
};
using ChannelPtr = std::shared_ptr<Channel>;

enum class CloseReason { peer_closed, kicked, too_slow, ended, io_error, shutdown };
const char* close_reason_name(CloseReason r);

// Live counters of one viewer; read from any thread.
struct ViewerCounters {
  std::atomic<uint64_t> bytes_sent{0};
  std::atomic<uint64_t> bytes_received{0};
  std::atomic<uint64_t> bytes_dropped{0};
};

struct EngineConfig {
  int threads = 0;  // 0 = one per core
  // 0 = write as soon as data is there. >0 = frame-aligned batching, one writev per viewer per
  // batch: a video frame waits at most this many ms. A frame is written on arrival, with everything
  // queued before it, when waiting for the next one (at the stream's frame interval) would exceed
  // that; so at 30 fps 20 ms writes every frame, 40 ms every second frame, 70 ms every third.
  // Audio and data wait for the next video write (at most write_batch_ms plus two frame intervals);
  // in streams without video they wait at most write_batch_ms. An urgent packet (Packet::urgent) is
  // written at once with everything queued before it.
  int write_batch_ms = 0;
  size_t max_viewer_input = 64 * 1024;  // bytes a viewer may send us in total before it is dropped
};

using OnViewerClosed = std::function<void(const std::string& viewer_id, CloseReason reason)>;

class Engine {
 public:
  static std::unique_ptr<Engine> create(EngineConfig config);
  virtual ~Engine() = default;  // closes every viewer (CloseReason::shutdown) and joins threads
  // Takes ownership of fd (a connected stream socket). prefix: bytes for this viewer only (HTTP
  // response head, RTMP play responses), written before the channel header. Viewer input is read
  // and discarded (bounded by max_viewer_input); EOF or error closes the viewer.
  virtual std::shared_ptr<const ViewerCounters> add_viewer(ChannelPtr channel, int fd, std::string viewer_id,
                                                           std::vector<uint8_t> prefix, OnViewerClosed on_closed) = 0;
  // Disconnects a viewer (CloseReason::kicked). Thread-safe; unknown ids are ignored.
  virtual void kick(const std::string& viewer_id) = 0;
  virtual size_t viewer_count() const = 0;
};

}  // namespace estuary::fanout
