// Owns: the connection base (non-blocking connect, epoll registration, buffered writes), the
// latency book and histogram, and address resolution of the load tool (see session.h).
#include "session.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace estuary::load {

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Histogram::add(int64_t us) {
  if (us < 0) return;
  size_t b = size_t(us / 100);
  if (b >= buckets_.size()) b = buckets_.size() - 1;
  ++buckets_[b];
  ++count_;
  if (us > max_us_) max_us_ = us;
}

double Histogram::percentile_ms(double p) const {
  if (count_ == 0) return -1;
  uint64_t want = uint64_t(p / 100.0 * double(count_));
  if (want >= count_) want = count_ - 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen > want) return (double(i) + 0.5) / 10.0;
  }
  return max_ms();
}

void Shared::note_sent(uint64_t key, int64_t t) {
  auto [it, fresh] = sent.emplace(key, t);
  if (!fresh) {
    if (it->second != kAmbiguous) ++audio_ambiguous;
    it->second = kAmbiguous;
  }
  sent_order.emplace_back(t, key);
}

int64_t Shared::sent_time(uint64_t key) const {
  auto it = sent.find(key);
  return it == sent.end() ? -1 : it->second;
}

void Shared::expire(int64_t now) {
  // Frames older than 30 s cannot be live any more; a looped file repeats its keys later.
  while (!sent_order.empty() && now - sent_order.front().first > 30'000'000) {
    auto it = sent.find(sent_order.front().second);
    if (it != sent.end() && (it->second == sent_order.front().first || it->second == kAmbiguous)) sent.erase(it);
    sent_order.pop_front();
  }
}

bool resolve(const Url& url, Endpoint* ep, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(url.port);
  int rc = getaddrinfo(url.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0 || !res) {
    *error = "cannot resolve " + url.host + ": " + gai_strerror(rc);
    return false;
  }
  std::memcpy(&ep->addr, res->ai_addr, res->ai_addrlen);
  ep->len = res->ai_addrlen;
  freeaddrinfo(res);
  return true;
}

Conn::~Conn() {
  if (fd_ >= 0) ::close(fd_);
}

bool Conn::open(Shared& shared, const Endpoint& ep, std::string* err) {
  fd_ = ::socket(ep.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    *err = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&ep.addr), ep.len) != 0 && errno != EINPROGRESS) {
    *err = std::string("connect: ") + std::strerror(errno);
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = this;
  if (epoll_ctl(shared.epfd, EPOLL_CTL_ADD, fd_, &ev) != 0) {
    *err = std::string("epoll_ctl: ") + std::strerror(errno);
    return false;
  }
  return true;
}

bool Conn::flush_out() {
  while (out_off_ < out_.size()) {
    ssize_t w = ::send(fd_, out_.data() + out_off_, out_.size() - out_off_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      out_off_ += size_t(w);
      out_total_ += uint64_t(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    fail(std::string("send: ") + std::strerror(errno));
    return false;
  }
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
  } else if (out_off_ > (1u << 20)) {
    out_.erase(out_.begin(), out_.begin() + long(out_off_));
    out_off_ = 0;
  }
  return true;
}

void Conn::fail(const std::string& why) {
  if (failed || closed) return;
  failed = true;
  error = why;
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace estuary::load
