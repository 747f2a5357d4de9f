// Owns: helpers for the fan-out tests: loopback TCP pairs, a background socket reader, a record
// of on_closed calls, and self-describing test packets (so a receiver can check framing).
#pragma once

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fanout/fanout.h"

namespace estuary::fanout::test {

using Bytes = std::vector<uint8_t>;

inline Bytes to_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

// A listener on 127.0.0.1 with an ephemeral port; connect_pair() yields (server side, client side).
class Loopback {
 public:
  Loopback() {
    lfd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(lfd_, 1024);
    socklen_t len = sizeof a;
    ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Loopback() { ::close(lfd_); }
  // client_rcvbuf / server_sndbuf: 0 = kernel default.
  std::pair<int, int> connect_pair(int client_rcvbuf = 0, int server_sndbuf = 0) {
    int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (client_rcvbuf > 0) ::setsockopt(c, SOL_SOCKET, SO_RCVBUF, &client_rcvbuf, sizeof client_rcvbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port_);
    if (::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return {-1, -1};
    int s = ::accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (server_sndbuf > 0) ::setsockopt(s, SOL_SOCKET, SO_SNDBUF, &server_sndbuf, sizeof server_sndbuf);
    return {s, c};
  }
  int port() const { return port_; }

 private:
  int lfd_ = -1;
  int port_ = 0;
};

// Reads a socket on its own thread until EOF/error; optional pause between reads (slow viewer).
class Reader {
 public:
  explicit Reader(int fd, int pause_us = 0, size_t chunk = 65536) : fd_(fd) {
    thread_ = std::thread([this, pause_us, chunk] {
      std::vector<uint8_t> buf(chunk);
      for (;;) {
        ssize_t r = ::recv(fd_, buf.data(), buf.size(), 0);
        if (r <= 0) break;
        {
          std::lock_guard lock(mu_);
          data_.insert(data_.end(), buf.begin(), buf.begin() + r);
        }
        if (pause_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(pause_us));
      }
      eof_ = true;
    });
  }
  ~Reader() {
    if (thread_.joinable()) {
      ::shutdown(fd_, SHUT_RDWR);
      thread_.join();
    }
    ::close(fd_);
  }
  // Waits for EOF (the server closed); false on timeout.
  bool wait_eof(int timeout_ms) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!eof_) {
      if (std::chrono::steady_clock::now() > end) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    thread_.join();
    return true;
  }
  Bytes data() {
    std::lock_guard lock(mu_);
    return data_;
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return data_.size();
  }

 private:
  int fd_;
  std::mutex mu_;
  Bytes data_;
  std::atomic<bool> eof_{false};
  std::thread thread_;
};

// Records on_closed calls; counts duplicates.
class ClosedLog {
 public:
  OnViewerClosed callback() {
    return [this](const std::string& id, CloseReason r) {
      std::lock_guard lock(mu_);
      if (reasons_.count(id)) ++duplicates_;
      reasons_[id] = r;
      ++calls_;
      cv_.notify_all();
    };
  }
  bool wait_for(const std::string& id, int timeout_ms) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return reasons_.count(id) > 0; });
  }
  bool wait_calls(size_t n, int timeout_ms) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return calls_ >= n; });
  }
  CloseReason reason(const std::string& id) {
    std::lock_guard lock(mu_);
    return reasons_.at(id);
  }
  bool has(const std::string& id) {
    std::lock_guard lock(mu_);
    return reasons_.count(id) > 0;
  }
  size_t duplicates() {
    std::lock_guard lock(mu_);
    return duplicates_;
  }
  size_t calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, CloseReason> reasons_;
  size_t calls_ = 0;
  size_t duplicates_ = 0;
};

// Test packet: "PKT!" | seq (4, BE) | total length (4, BE) | keyframe (1) | pattern bytes.
constexpr size_t kPacketHead = 13;

inline Bytes packet_bytes(uint32_t seq, size_t size, bool keyframe) {
  if (size < kPacketHead) size = kPacketHead;
  Bytes b(size);
  std::memcpy(b.data(), "PKT!", 4);
  for (int i = 0; i < 4; ++i) b[4 + i] = static_cast<uint8_t>(seq >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) b[8 + i] = static_cast<uint8_t>(size >> (24 - 8 * i));
  b[12] = keyframe ? 1 : 0;
  for (size_t i = kPacketHead; i < size; ++i) b[i] = static_cast<uint8_t>(seq * 31 + i);
  return b;
}

inline Packet make_packet(uint32_t seq, size_t size, bool keyframe) {
  Packet p;
  p.payload = make_payload(packet_bytes(seq, size, keyframe));
  p.keyframe = keyframe;
  p.dts_ms = seq;
  return p;
}

struct ParsedPacket {
  uint32_t seq;
  bool keyframe;
};

// Parses a received stream of test packets (after `skip` leading bytes). Returns false on any
// framing error (bad magic, wrong pattern, truncated packet).
inline bool parse_packets(const Bytes& data, size_t skip, std::vector<ParsedPacket>* out) {
  size_t pos = skip;
  while (pos < data.size()) {
    if (data.size() - pos < kPacketHead || std::memcmp(&data[pos], "PKT!", 4) != 0) return false;
    uint32_t seq = 0, size = 0;
    for (int i = 0; i < 4; ++i) seq = (seq << 8) | data[pos + 4 + i];
    for (int i = 0; i < 4; ++i) size = (size << 8) | data[pos + 8 + i];
    if (size < kPacketHead || data.size() - pos < size) return false;
    for (size_t i = kPacketHead; i < size; ++i) {
      if (data[pos + i] != static_cast<uint8_t>(seq * 31 + i)) return false;
    }
    out->push_back({seq, data[pos + 12] != 0});
    pos += size;
  }
  return true;
}

inline int count_open_fds() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return -1;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n - 1;  // the DIR's own fd
}

template <typename Pred>
bool eventually(Pred pred, int timeout_ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace estuary::fanout::test
