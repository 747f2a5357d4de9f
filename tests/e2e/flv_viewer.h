// Owns: FlvViewer, a raw HTTP-FLV viewer for the cluster e2e suites: it reads the response on its own
// thread and parses FLV tags, noting each video tag's timestamp and arrival time, and whether the
// server closed the connection; and flv_file_video_tags, the video tag count of a (growing) FLV file
// an ffmpeg RTMP reader writes.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace estuary::e2e {

// Parses whole FLV tags off the front of buf (header already gone), calling on_video(ts) for each
// video tag; what is left is an incomplete tag.
template <typename F>
void parse_flv_tags(std::string& buf, F on_video) {
  size_t at = 0;
  while (buf.size() - at >= 11) {
    const auto* b = reinterpret_cast<const uint8_t*>(buf.data() + at);
    const size_t size = (size_t(b[1]) << 16) | (size_t(b[2]) << 8) | b[3];
    if (buf.size() - at < 11 + size + 4) break;
    const uint32_t ts = (uint32_t(b[7]) << 24) | (uint32_t(b[4]) << 16) | (uint32_t(b[5]) << 8) | b[6];
    if ((b[0] & 0x1f) == 9) on_video(ts);
    at += 11 + size + 4;
  }
  buf.erase(0, at);
}

// Video tags of an FLV file and whether their timestamps never go back.
inline size_t flv_file_video_tags(const std::string& path, bool* monotonic = nullptr) {
  std::ifstream in(path, std::ios::binary);
  std::string buf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (buf.size() < 13) return 0;
  buf.erase(0, 13);  // FLV header + PreviousTagSize0
  size_t n = 0;
  uint32_t last = 0;
  bool mono = true;
  parse_flv_tags(buf, [&](uint32_t ts) {
    mono = mono && (n == 0 || ts >= last);
    last = ts;
    ++n;
  });
  if (monotonic) *monotonic = mono;
  return n;
}

class FlvViewer {
 public:
  using Clock = std::chrono::steady_clock;
  explicit FlvViewer(int port, const std::string& path) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      closed_ = true;
      return;
    }
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd_, req.data(), req.size()) != ssize_t(req.size())) closed_ = true;
    thread_ = std::thread([this] { loop(); });
  }
  ~FlvViewer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) close(fd_);
  }
  FlvViewer(const FlvViewer&) = delete;
  FlvViewer& operator=(const FlvViewer&) = delete;
  bool closed() const { return closed_; }
  int status() const { return status_; }
  size_t video_frames() {
    std::lock_guard<std::mutex> lock(mutex_);
    return video_.size();
  }
  // Video frames that arrived after `since`.
  size_t video_frames_after(Clock::time_point since) {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t n = 0;
    for (const auto& f : video_) n += f.arrived > since ? 1 : 0;
    return n;
  }
  bool timestamps_monotonic() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 1; i < video_.size(); ++i)
      if (video_[i].ts < video_[i - 1].ts) return false;
    return true;
  }

 private:
  struct Frame {
    uint32_t ts;
    Clock::time_point arrived;
  };
  void loop() {
    std::string buf;
    bool headers = false, flv_header = false;
    char chunk[65536];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = read(fd_, chunk, sizeof chunk);
      if (n <= 0) {
        closed_ = true;
        return;
      }
      buf.append(chunk, size_t(n));
      if (!headers) {
        const size_t end = buf.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        status_ = std::atoi(buf.c_str() + 9);
        buf.erase(0, end + 4);
        headers = true;
      }
      if (!flv_header) {
        if (buf.size() < 13) continue;
        buf.erase(0, 13);  // FLV header + PreviousTagSize0
        flv_header = true;
      }
      parse_flv_tags(buf, [this](uint32_t ts) {
        std::lock_guard<std::mutex> lock(mutex_);
        video_.push_back({ts, Clock::now()});
      });
    }
  }
  int fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false}, closed_{false};
  std::atomic<int> status_{0};
  std::mutex mutex_;
  std::vector<Frame> video_;
};

}  // namespace estuary::e2e
