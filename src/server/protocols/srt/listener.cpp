// Owns: Listener (see listener.h).
#include "server/protocols/srt/listener.h"

#include <arpa/inet.h>
#include <glib.h>
#include <netinet/in.h>
#include <pthread.h>
#include <srt/access_control.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "common/log.h"

namespace estuary::srt {
namespace {

constexpr int kMaxEvents = 64;
constexpr int64_t kWaitMs = 100;  // also bounds how late a stats sample or a stop is
constexpr int64_t kStatsIntervalUs = 1000000;
constexpr size_t kMaxMessage = 1500;     // above SRT's live payload limit (1456)
constexpr int kMessagesPerWakeup = 256;  // fairness between publishers on srt-io

std::string last_error() { return srt_getlasterror_str(); }

// libsrt reports every refused handshake and lost peer as an error; our own events (srt-reject,
// disconnect) say it better, so its lines are kept for debugging only.
void log_from_libsrt(void*, int, const char*, int, const char*, const char* message) {
  std::string text = message ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  log_debug("", "", "srt-lib", text);
}

// The stream id as it can be logged: control characters escaped, length bounded by libsrt.
std::string printable(const std::string& text) {
  gchar* escaped = g_strescape(text.c_str(), nullptr);
  std::string out = escaped ? escaped : "";
  g_free(escaped);
  return out;
}

template <typename T>
bool set_flag(SRTSOCKET s, SRT_SOCKOPT opt, T value) {
  return srt_setsockflag(s, opt, &value, sizeof value) == 0;
}

}  // namespace

std::string address_text(const struct sockaddr* addr) {
  if (!addr) return "";
  char buf[INET6_ADDRSTRLEN] = {0};
  if (addr->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, buf, sizeof buf);
  } else if (addr->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr, buf, sizeof buf);
  }
  return buf;
}

Listener::Listener() = default;

Listener::~Listener() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(mu_);
    for (auto& [sock, link] : links_) link->close();
    links_.clear();
  }
  if (eid_ >= 0) srt_epoll_release(eid_);
  if (socket_ != SRT_INVALID_SOCK) srt_close(socket_);
  if (started_srt_) srt_cleanup();
}

Status Listener::start(const ListenerOptions& options, HandshakePolicy policy, OnAccept on_accept) {
  options_ = options;
  policy_ = std::move(policy);
  on_accept_ = std::move(on_accept);
  if (srt_startup() < 0) return Error{"srt: cannot start libsrt: " + last_error()};
  started_srt_ = true;
  srt_setloglevel(3 /* LOG_ERR */);
  srt_setloghandler(nullptr, &log_from_libsrt);

  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, options.address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(uint16_t(options.port));
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, options.address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(uint16_t(options.port));
    len = sizeof *v6;
  } else {
    return Error{"srt: bad listen address " + options.address};
  }

  socket_ = srt_create_socket();
  if (socket_ == SRT_INVALID_SOCK) return Error{"srt: cannot create a socket: " + last_error()};
  const std::string where = options.address + ":" + std::to_string(options.port);
  // Accepted sockets inherit these; the policy adds the passphrase per caller.
  // Buffers sized from the latency and the highest bitrate expected, not libsrt's 8192-packet
  // defaults: every accepted connection (even one that never sends) reserves them.
  const int64_t buffer_bytes = int64_t(options.latency_ms + 1000) * options.max_bitrate_kbps / 8;
  const int payload = 1456;  // SRT payload bytes per packet at the default MSS of 1500
  const int packets = int(std::max<int64_t>(64, buffer_bytes / payload + 1));
  bool ok = set_flag(socket_, SRTO_RCVSYN, false) && set_flag(socket_, SRTO_LATENCY, options.latency_ms) &&
            set_flag(socket_, SRTO_MAXBW, int64_t(options.max_bw)) &&
            set_flag(socket_, SRTO_PEERIDLETIMEO, options.peer_idle_timeout_ms) &&
            set_flag(socket_, SRTO_FC, packets) && set_flag(socket_, SRTO_RCVBUF, packets * payload) &&
            set_flag(socket_, SRTO_SNDBUF, packets * payload);
  if (!ok) return Error{"srt: cannot set listener options: " + last_error()};
  if (srt_bind(socket_, reinterpret_cast<sockaddr*>(&ss), int(len)) != 0)
    return Error{"srt: cannot listen on " + where + ": " + last_error()};
  if (srt_listen_callback(socket_, &Listener::on_listen, this) != 0 || srt_listen(socket_, 128) != 0)
    return Error{"srt: cannot listen on " + where + ": " + last_error()};
  sockaddr_storage bound{};
  int bound_len = sizeof bound;
  if (srt_getsockname(socket_, reinterpret_cast<sockaddr*>(&bound), &bound_len) == 0)
    port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                              : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  eid_ = srt_epoll_create();
  int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  if (eid_ < 0 || srt_epoll_add_usock(eid_, socket_, &events) != 0)
    return Error{"srt: cannot create the epoll set: " + last_error()};
  thread_ = std::thread([this] { run(); });
  log_info("", "", "listen", "SRT on " + options.address + ":" + std::to_string(port_) + " (udp)");
  return ok_status();
}

// libsrt's receive thread, during the caller's conclusion handshake: decide before accepting.
int Listener::on_listen(void* self, SRTSOCKET ns, int hsversion, const struct sockaddr* peer, const char* streamid) {
  auto* l = static_cast<Listener*>(self);
  const std::string id = streamid ? streamid : "";
  const std::string ip = address_text(peer);
  HandshakeDecision d;
  try {
    if (hsversion < 5) {
      d.reject_code = SRT_REJX_VERSION;
      d.reason = "SRT handshake v4 carries no stream id";
    } else {
      d = l->policy_(id, ip);
    }
  } catch (...) {
    d = HandshakeDecision{};
    d.reject_code = SRT_REJX_ISE;
    d.reason = "internal error";
  }
  if (d.accept) {
    // An empty passphrase turns encryption off for this caller, even if the server has one.
    if (srt_setsockflag(ns, SRTO_PASSPHRASE, d.passphrase.c_str(), int(d.passphrase.size())) != 0 ||
        (!d.passphrase.empty() && !set_flag(ns, SRTO_PBKEYLEN, d.pbkeylen))) {
      d.accept = false;
      d.reject_code = SRT_REJX_ISE;
      d.reason = "cannot set the passphrase: " + last_error();
    }
  }
  if (d.accept) return 0;
  srt_setrejectreason(ns, d.reject_code);
  log_warn("", "", "srt-reject",
           "ip=" + ip + " streamid=\"" + printable(id) + "\" code=" + std::to_string(d.reject_code) + " " + d.reason);
  return -1;
}

void Listener::run() {
  pthread_setname_np(pthread_self(), "srt-io");
  SRT_EPOLL_EVENT events[kMaxEvents];
  int64_t next_stats = g_get_monotonic_time() + kStatsIntervalUs;
  while (!stopping_) {
    const int n = srt_epoll_uwait(eid_, events, kMaxEvents, kWaitMs);
    if (n < 0 && srt_getlasterror(nullptr) != SRT_ETIMEOUT) {
      log_warn("", "", "srt-error", std::string("epoll: ") + last_error());
      std::this_thread::sleep_for(std::chrono::milliseconds(kWaitMs));  // never spin on a broken set
    }
    for (int i = 0; i < n && !stopping_; ++i) {
      const SRTSOCKET s = events[i].fd;
      if (s == socket_) {
        accept_all();
        continue;
      }
      std::shared_ptr<Link> link;
      {
        std::lock_guard lock(mu_);
        auto it = links_.find(s);
        if (it != links_.end()) link = it->second;
      }
      if (!link) {
        srt_epoll_remove_usock(eid_, s);
        continue;
      }
      if (events[i].events & SRT_EPOLL_IN) read_all(link);
      if (events[i].events & SRT_EPOLL_ERR) broken(link, "connection closed");
    }
    const int64_t now = g_get_monotonic_time();
    if (now >= next_stats) {
      sample_stats();
      next_stats = now + kStatsIntervalUs;
    }
  }
}

void Listener::accept_all() {
  for (;;) {
    sockaddr_storage peer{};
    int len = sizeof peer;
    SRTSOCKET s = srt_accept(socket_, reinterpret_cast<sockaddr*>(&peer), &len);
    if (s == SRT_INVALID_SOCK) {
      if (srt_getlasterror(nullptr) != SRT_EASYNCRCV) log_warn("", "", "srt-accept", last_error());
      return;
    }
    char sid[513] = {0};  // libsrt's stream id limit is 512 bytes
    int sid_len = sizeof sid - 1;
    if (srt_getsockflag(s, SRTO_STREAMID, sid, &sid_len) != 0) sid_len = 0;
    auto link = std::make_shared<Link>(s, std::string(sid, size_t(std::max(sid_len, 0))),
                                       address_text(reinterpret_cast<sockaddr*>(&peer)));
    // Never block srt-io on a socket, and keep a sender that cannot write from stalling.
    if (!set_flag(s, SRTO_RCVSYN, false) || !set_flag(s, SRTO_SNDSYN, false)) {
      log_warn("", "", "srt-accept", "cannot make the socket non-blocking: " + last_error());
      continue;  // the link's destructor closes it
    }
    {
      std::lock_guard lock(mu_);
      links_[s] = link;
    }
    int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
    srt_epoll_add_usock(eid_, s, &events);
    if (on_accept_) on_accept_(link);
  }
}

void Listener::read_all(const std::shared_ptr<Link>& link) {
  std::vector<uint8_t> batch;
  char buf[kMaxMessage];
  for (int i = 0; i < kMessagesPerWakeup; ++i) {
    const int n = srt_recvmsg(link->socket(), buf, sizeof buf);
    if (n > 0) {
      batch.insert(batch.end(), buf, buf + n);
      continue;
    }
    if (n == SRT_ERROR && srt_getlasterror(nullptr) != SRT_EASYNCRCV) {
      if (!batch.empty()) link->deliver(std::move(batch), g_get_monotonic_time());
      broken(link, std::string("receive: ") + last_error());
      return;
    }
    break;
  }
  if (!batch.empty()) link->deliver(std::move(batch), g_get_monotonic_time());
}

void Listener::broken(const std::shared_ptr<Link>& link, const std::string& reason) {
  srt_epoll_remove_usock(eid_, link->socket());
  {
    std::lock_guard lock(mu_);
    links_.erase(link->socket());
  }
  link->mark_broken(reason);
}

void Listener::unwatch(const std::shared_ptr<Link>& link) {
  if (!link) return;
  if (eid_ >= 0) srt_epoll_remove_usock(eid_, link->socket());
  std::lock_guard lock(mu_);
  auto it = links_.find(link->socket());
  if (it != links_.end() && it->second == link) links_.erase(it);
}

size_t Listener::link_count() const {
  std::lock_guard lock(mu_);
  return links_.size();
}

void Listener::sample_stats() {
  std::vector<std::shared_ptr<Link>> links;
  {
    std::lock_guard lock(mu_);
    for (auto& [s, l] : links_) links.push_back(l);
  }
  for (auto& l : links) l->sample_stats();
}

}  // namespace estuary::srt
