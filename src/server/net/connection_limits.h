// Owns: the deadlines and caps every TCP listener of the HTTP family and RTSP applies to its
// connections ([server] header_timeout_ms, keepalive_timeout_ms, body_timeout_ms, max_body_kb,
// max_connections_per_ip), and the per-address count of open connections that RTMP, RTSP, HTTP
// and the API share. Thread-safe (listeners run on the control thread; a GSocket may be finalized
// elsewhere).
// Must not know: any protocol's messages.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace estuary::server {

struct ConnectionLimits {
  int header_timeout_ms = 10000;
  int keepalive_timeout_ms = 15000;
  int body_timeout_ms = 10000;
  uint64_t max_body_bytes = 1u << 20;
  int max_per_ip = 0;  // 0 = unlimited
};

// Read at each new connection, so a SIGHUP reload applies to the next one.
using ConnectionLimitsSource = std::function<ConnectionLimits()>;

class PerIpConnections {
 public:
  // Counts a new connection from ip; false (and not counted) when max (> 0) are already open.
  bool acquire(const std::string& ip, int max);
  // Refusals so far (all addresses), for rate-limited logging: log when this is a power of two.
  uint64_t refusals() const;
  void release(const std::string& ip);
  int open(const std::string& ip) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, int> open_;
  uint64_t refusals_ = 0;
};

// Whether a refusal numbered n (1, 2, ...) should be logged: the first, then every power of two.
inline bool worth_logging(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

// One counted connection: releases its count when destroyed.
class PerIpSlot {
 public:
  PerIpSlot(std::shared_ptr<PerIpConnections> counter, std::string ip)
      : counter_(std::move(counter)), ip_(std::move(ip)) {}
  ~PerIpSlot() {
    if (counter_) counter_->release(ip_);
  }
  PerIpSlot(const PerIpSlot&) = delete;
  PerIpSlot& operator=(const PerIpSlot&) = delete;
  const std::string& ip() const { return ip_; }

 private:
  std::shared_ptr<PerIpConnections> counter_;
  std::string ip_;
};

}  // namespace estuary::server
