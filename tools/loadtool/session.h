// Owns: the load tool's connection objects (Player, Publisher) and the state they share with the
// run loop: epoll set, scratch buffer, latency book and histograms. Internal to the load tool;
// everything runs on the run loop's single thread.
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "flv.h"
#include "loadtool.h"
#include "rtmp.h"
#include "ts.h"

namespace estuary::load {

int64_t now_us();

// Audio and video fingerprints in one table, kept apart by the tag type.
inline uint64_t media_key(uint8_t type, uint64_t tail_hash) {
  return type == 8 ? tail_hash ^ 0x9e3779b97f4a7c15ull : tail_hash;
}

// Latency histogram: 100 us buckets up to 10 s, then one overflow bucket.
class Histogram {
 public:
  Histogram() : buckets_(100001, 0) {}
  void add(int64_t us);
  uint64_t count() const { return count_; }
  double percentile_ms(double p) const;
  double max_ms() const { return max_us_ / 1000.0; }

 private:
  std::vector<uint32_t> buckets_;
  uint64_t count_ = 0;
  int64_t max_us_ = 0;
};

struct Shared {
  int epfd = -1;
  std::vector<uint8_t> scratch = std::vector<uint8_t>(256 * 1024);
  // media_key -> publisher send time; kAmbiguous when the same key was sent twice within the
  // expiry window (a repeated audio frame), so no receipt is matched to the wrong send.
  static constexpr int64_t kAmbiguous = -1;
  std::unordered_map<uint64_t, int64_t> sent;
  std::deque<std::pair<int64_t, uint64_t>> sent_order;
  bool measuring = false;
  Histogram latency;        // video frames
  Histogram audio_latency;  // audio frames
  uint64_t audio_ambiguous = 0;
  void note_sent(uint64_t key, int64_t t);
  // Send time of a frame, or -1 when it is unknown or ambiguous.
  int64_t sent_time(uint64_t key) const;
  void expire(int64_t now);
};

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
};
bool resolve(const Url& url, Endpoint* ep, std::string* error);

// One epoll-registered connection.
class Conn {
 public:
  virtual ~Conn();
  virtual void on_event(uint32_t events) = 0;

 protected:
  bool open(Shared& shared, const Endpoint& ep, std::string* error);
  // Writes out_ as far as the socket takes it. False on error (error_ set).
  bool flush_out();
  void fail(const std::string& why);
  // Reads what the socket holds, handing each chunk to on_bytes. False when closed or failed.
  // events: the epoll events; without a hang-up a short read means the socket is drained (the
  // next data raises a new edge), which saves the EAGAIN recv on every wakeup.
  template <typename F>
  bool read_all(Shared& shared, uint32_t events, F&& on_bytes);

  int fd_ = -1;
  bool connected_ = false;
  std::vector<uint8_t> out_;
  size_t out_off_ = 0;
  uint64_t out_total_ = 0;  // bytes written so far
 public:
  bool failed = false;
  bool closed = false;
  std::string error;
};

class Player final : public Conn {
 public:
  Player(Shared& shared, const Url& url, const Options& options) : shared_(shared), url_(url), options_(options) {}
  bool start(const Endpoint& ep);
  void on_event(uint32_t events) override;

  int64_t connect_start_us = 0;
  int64_t first_byte_us = 0;
  int64_t first_kf_us = 0;
  int64_t last_media_us = 0;
  bool play_confirmed = false;  // HTTP 200 or RTMP play accepted
  uint64_t bytes = 0;
  uint64_t video_frames = 0;
  bool framing_error = false;
  bool bad_start = false;
  uint64_t bytes_at_window = 0;
  uint64_t frames_at_window = 0;

 private:
  void on_connected();
  void on_data(const uint8_t* p, size_t n, int64_t now);
  void on_http_body(const uint8_t* p, size_t n, int64_t now);
  void on_chunked(const uint8_t* p, size_t n, int64_t now);
  void on_media(const MediaInfo& m, int64_t now);
  void on_rtmp(const uint8_t* p, size_t n, int64_t now);
  void on_rtmp_message(const RtmpMessage& m, int64_t now);
  void send_command(uint32_t csid, uint32_t sid, std::vector<uint8_t> body);

  Shared& shared_;
  const Url& url_;
  const Options& options_;
  // HTTP
  std::string head_;
  bool head_done_ = false;
  bool chunked_ = false;
  int chunk_state_ = 0;  // 0 size line, 1 data, 2 CRLF after data
  uint64_t chunk_left_ = 0;
  std::string chunk_line_;
  FlvStreamParser flv_;
  TsStreamParser ts_;
  // RTMP
  std::vector<uint8_t> hs_;  // S0S1S2 being received
  bool hs_done_ = false;
  ChunkReader reader_;
  uint64_t rtmp_in_ = 0;
  uint64_t ack_window_ = 0;
  uint64_t last_ack_ = 0;
  uint32_t stream_id_ = 0;
  bool seen_seq_header_ = false;
  bool seen_frame_ = false;
};

class Publisher final : public Conn {
 public:
  Publisher(Shared& shared, const Url& url, const std::vector<FlvTag>& tags, bool loop)
      : shared_(shared), url_(url), tags_(tags), loop_(loop) {}
  bool start(const Endpoint& ep);
  void on_event(uint32_t events) override;
  // Sends the tags that are due; returns the time the next one is due (0 = none).
  int64_t tick(int64_t now);

  bool publishing = false;
  int64_t publish_start_us = 0;
  uint64_t media_bytes = 0;
  uint64_t video_frames = 0;
  bool finished = false;  // reached the end of a non-looped file

 private:
  void on_connected();
  void on_rtmp_message(const RtmpMessage& m);
  void send_command(uint32_t csid, uint32_t sid, std::vector<uint8_t> body);
  void note_written(int64_t now);

  Shared& shared_;
  const Url& url_;
  const std::vector<FlvTag>& tags_;
  bool loop_;
  std::vector<uint8_t> hs_;
  bool hs_done_ = false;
  ChunkReader reader_;
  uint32_t stream_id_ = 0;
  size_t next_tag_ = 0;
  uint32_t base_ts_ = 0;
  int64_t loop_offset_ms_ = 0;
  int loops_ = 0;
  std::deque<std::pair<uint64_t, uint64_t>> pending_keys_;  // (end offset in out stream, key)
  uint64_t rtmp_in_ = 0, ack_window_ = 0, last_ack_ = 0;
};

// ---- template implementation ----
template <typename F>
bool Conn::read_all(Shared& shared, uint32_t events, F&& on_bytes) {
  const bool hangup = events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR);
  for (;;) {
    ssize_t r = ::recv(fd_, shared.scratch.data(), shared.scratch.size(), MSG_DONTWAIT);
    if (r > 0) {
      on_bytes(shared.scratch.data(), size_t(r));
      if (failed || closed) return false;
      if (size_t(r) < shared.scratch.size() && !hangup) return true;
      continue;
    }
    if (r == 0) {
      closed = true;
      if (error.empty()) error = "closed by server";
      return false;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
    fail(std::string("recv: ") + std::strerror(errno));
    return false;
  }
}

}  // namespace estuary::load
