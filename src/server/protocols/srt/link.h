// Owns: one accepted SRT socket (libsrt's SRTSOCKET) shared by the threads that use it: the
// listener's I/O thread reads from it and samples its statistics, the sender writes to it, and its
// connection on the control thread decides its fate. Everything here is thread-safe; the socket is
// closed by close() or by the last owner.
#pragma once

#include <srt/srt.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "server/control/api_model.h"

namespace estuary::srt {

// libsrt's per-connection statistics, sampled once a second by the I/O thread, in the form the API
// shows them (rates over the last sample interval, packet counts since the connection began).
using LinkStats = api::SrtStatsView;

class Link {
 public:
  struct Handlers {
    // A batch of received messages (MPEG-TS from a publisher), on the I/O thread.
    std::function<void(std::vector<uint8_t> data)> on_data;
    // The connection broke (peer closed, idle timeout, error), on the I/O or sender thread. Once.
    std::function<void(const std::string& reason)> on_broken;
  };

  Link(SRTSOCKET socket, std::string stream_id, std::string peer_ip);
  ~Link();
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  SRTSOCKET socket() const { return socket_; }
  const std::string& stream_id() const { return stream_id_; }
  const std::string& peer_ip() const { return peer_ip_; }

  // Handlers may be set after data began to arrive: what came before is dropped. If the link broke
  // before, on_broken runs at once (on the caller's thread).
  void set_handlers(Handlers handlers);
  void clear_handlers();
  // Closes the socket now (idempotent); the peer sees the connection end.
  void close();
  bool closed() const { return closed_.load(); }

  LinkStats stats() const;
  // Monotonic time (g_get_monotonic_time scale, µs) of the last data received; 0 = never.
  int64_t last_receive_us() const { return last_receive_us_.load(std::memory_order_relaxed); }
  uint64_t bytes_received() const { return bytes_received_.load(std::memory_order_relaxed); }
  uint64_t bytes_sent() const { return bytes_sent_.load(std::memory_order_relaxed); }
  uint64_t bytes_dropped() const { return bytes_dropped_.load(std::memory_order_relaxed); }

  // I/O and sender threads.
  void deliver(std::vector<uint8_t> data, int64_t now_us);
  void mark_broken(const std::string& reason);
  bool broken() const { return broken_.load(); }
  void note_sent(uint64_t n) { bytes_sent_.fetch_add(n, std::memory_order_relaxed); }
  void note_dropped(uint64_t n) { bytes_dropped_.fetch_add(n, std::memory_order_relaxed); }
  // Samples libsrt's counters (clearing its interval counters, so rates cover the time since the
  // previous sample).
  void sample_stats();

 private:
  const SRTSOCKET socket_;
  const std::string stream_id_;
  const std::string peer_ip_;
  mutable std::mutex mu_;
  Handlers handlers_;
  std::string broken_reason_;
  LinkStats stats_;
  int64_t rcv_retrans_total_ = 0;  // sample_stats only (I/O thread)
  std::atomic<bool> closed_{false};
  std::atomic<bool> broken_{false};
  std::atomic<int64_t> last_receive_us_{0};
  std::atomic<uint64_t> bytes_received_{0};
  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<uint64_t> bytes_dropped_{0};
};

}  // namespace estuary::srt
