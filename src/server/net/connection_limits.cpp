// Owns: PerIpConnections (see connection_limits.h).
#include "server/net/connection_limits.h"

namespace estuary::server {

bool PerIpConnections::acquire(const std::string& ip, int max) {
  std::lock_guard<std::mutex> lock(mutex_);
  int& n = open_[ip];
  if (max > 0 && n >= max) {
    ++refusals_;
    return false;
  }
  ++n;
  return true;
}

void PerIpConnections::release(const std::string& ip) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = open_.find(ip);
  if (it == open_.end()) return;
  if (--it->second <= 0) open_.erase(it);
}

uint64_t PerIpConnections::refusals() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return refusals_;
}

int PerIpConnections::open(const std::string& ip) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = open_.find(ip);
  return it == open_.end() ? 0 : it->second;
}

}  // namespace estuary::server
