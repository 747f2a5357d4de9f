// Owns: SharedEngine (see shared_engine.h).
#include "server/protocols/webrtc/engine/shared_engine.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <glib.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/log.h"
#include "server/protocols/webrtc/engine/dtls.h"
#include "server/protocols/webrtc/engine/engine_session.h"
#include "server/protocols/webrtc/engine/packet_ring.h"
#include "server/protocols/webrtc/engine/packetizer.h"
#include "server/protocols/webrtc/engine/rtp_receiver.h"
#include "server/protocols/webrtc/engine/rtp_wire.h"
#include "server/protocols/webrtc/engine/sdp_answer.h"
#include "server/protocols/webrtc/engine/stun.h"
#include "server/protocols/webrtc/engine/tcp_framing.h"
#include "server/protocols/webrtc/engine/udp_batch.h"

namespace estuary::webrtc::engine {
namespace {

constexpr int64_t kSenderReportUs = 1000 * 1000;
constexpr int kMaxDatagramsPerPass = 1024;
constexpr int kViewersBetweenReads = 64;  // a pass reads the UDP socket again after this many sessions
constexpr int kMaxPacketsPerPass = 1024;  // per track and viewer: a GOP burst goes out over a few passes
constexpr size_t kMaxTcpConns = 1024;

std::string random_token(size_t n) {
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string s;
  for (size_t i = 0; i < n; ++i) s += alphabet[g_random_int_range(0, sizeof alphabet - 1)];
  return s;
}

std::string addr_key(const sockaddr_storage& a) {
  char host[INET6_ADDRSTRLEN] = "";
  int port = 0;
  if (a.ss_family == AF_INET) {
    const auto* s = reinterpret_cast<const sockaddr_in*>(&a);
    inet_ntop(AF_INET, &s->sin_addr, host, sizeof host);
    port = ntohs(s->sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto* s = reinterpret_cast<const sockaddr_in6*>(&a);
    if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr))  // an IPv4 peer on the dual-stack socket
      inet_ntop(AF_INET, s->sin6_addr.s6_addr + 12, host, sizeof host);
    else
      inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof host);
    port = ntohs(s->sin6_port);
  }
  return std::string(host) + "|" + std::to_string(port);
}

// Every interface's IPv4 address and, with ipv6, its global IPv6 addresses (not loopback, not link-local: a
// link-local candidate needs a scope the answer cannot carry).
std::vector<std::string> interface_addresses(bool ipv6) {
  std::vector<std::string> out, out6;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || (i->ifa_flags & 0x8 /* IFF_LOOPBACK */)) continue;
    char host[INET6_ADDRSTRLEN];
    if (i->ifa_addr->sa_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, host, sizeof host);
      out.emplace_back(host);
    } else if (ipv6 && i->ifa_addr->sa_family == AF_INET6) {
      const in6_addr& a = reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr;
      if (IN6_IS_ADDR_LINKLOCAL(&a) || IN6_IS_ADDR_LOOPBACK(&a) || IN6_IS_ADDR_V4MAPPED(&a)) continue;
      inet_ntop(AF_INET6, &a, host, sizeof host);
      out6.emplace_back(host);
    }
  }
  freeifaddrs(list);
  if (out.empty()) out.emplace_back("127.0.0.1");
  out.insert(out.end(), out6.begin(), out6.end());  // IPv4 first
  return out;
}

// A socket for every address: IPv6 with IPV6_V6ONLY off (IPv4 peers arrive as ::ffff:a.b.c.d), or IPv4
// alone where the kernel has no IPv6. *v6 says which.
int dual_stack_socket(int type, int port, bool* v6) {
  int one = 1, zero = 0;
  int fd = socket(AF_INET6, type | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_addr = in6addr_any;
    sa.sin6_port = htons(uint16_t(port));
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
      *v6 = true;
      return fd;
    }
    if (errno == EADDRINUSE) {
      close(fd);
      return -1;
    }
    close(fd);
  }
  fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_ANY);
  sa.sin_port = htons(uint16_t(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    const int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  *v6 = false;
  return fd;
}

void put16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, uint16_t(v >> 16));
  put16(p + 2, uint16_t(v));
}
uint32_t rd32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

}  // namespace

namespace {

Track* track_of(Viewer& v, uint32_t ssrc) {
  if (v.video.ring && ssrc == v.video.ssrc) return &v.video;
  if (v.audio.ring && ssrc == v.audio.ssrc) return &v.audio;
  return nullptr;
}

void count_feedback(Viewer& v, const RtcpFeedback& fb) {
  ViewerCounters& c = *v.counters;
  if (fb.receiver_reports) c.fraction_lost.store(fb.fraction_lost, std::memory_order_relaxed);
  const uint64_t now_ntp = fb.reports.empty() ? 0 : ntp_from_unix_us(g_get_real_time());
  for (const ReportBlock& b : fb.reports) {
    Track* t = track_of(v, b.ssrc);
    if (!t) continue;
    t->lost = b.lost_total & 0x800000 ? 0 : b.lost_total;  // negative (duplicates) counts as none
    const int64_t rtt = rtt_us_from_report(b, now_ntp);
    if (rtt >= 0) c.rtt_us.store(rtt, std::memory_order_relaxed);
  }
  c.packets_lost.store(uint64_t(v.video.lost) + v.audio.lost, std::memory_order_relaxed);
  if (!fb.keyframe_requests.empty()) c.keyframe_requests.fetch_add(1, std::memory_order_relaxed);
  c.plis.fetch_add(uint64_t(fb.plis), std::memory_order_relaxed);
  c.firs.fetch_add(uint64_t(fb.firs), std::memory_order_relaxed);
  c.twcc.fetch_add(uint64_t(fb.twcc), std::memory_order_relaxed);
  if (fb.rembs) {
    c.rembs.fetch_add(uint64_t(fb.rembs), std::memory_order_relaxed);
    c.remb_bps.store(fb.remb_bps, std::memory_order_relaxed);
  }
}

// A PLI/FIR the packet ring can answer without asking the publisher: a viewer not started yet starts
// at the newest keyframe anyway, and a viewer behind the newest keyframe skips to it (its sequence
// numbers stay continuous; RTP timestamps only move forward). A viewer at the live edge, past the
// newest keyframe, needs a new one: false (forwarded).
bool answer_from_ring(Viewer& v) {
  Track& t = v.video;
  if (!t.ring) return false;
  const uint64_t key = t.ring->newest_keyframe();
  if (key == UINT64_MAX) return false;
  if (t.started && key <= t.cursor) return false;
  if (t.started) {
    t.cursor = key;
    t.base_index = key;  // NACKs for what came before the jump are not answered
  }
  v.counters->keyframes_from_ring.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace

struct SharedEngine::Feed {
  std::unique_ptr<Packetizer> packetizer;
  int viewers = 0;
};

Result<std::unique_ptr<SharedEngine>> SharedEngine::create(const Settings& settings) {
  std::unique_ptr<SharedEngine> e(new SharedEngine());
  e->settings_ = settings;
  auto dtls = DtlsContext::create();
  if (!dtls) return dtls.error();
  e->dtls_ = *dtls;
  if (settings.port <= 0 && settings.tcp_port <= 0)
    return Error{"neither a UDP port nor a TCP port", ErrorReason::invalid, "webrtc"};
  int bufsize = 4 << 20;
  bool v6 = false;
  if (settings.port > 0) {  // port 0: no UDP (ICE-TCP only)
    e->fd_ = dual_stack_socket(SOCK_DGRAM, settings.port, &v6);
    if (e->fd_ < 0)
      return Error{"cannot bind the WebRTC UDP port " + std::to_string(settings.port) + ": " + std::strerror(errno),
                   ErrorReason::unavailable, "webrtc"};
    setsockopt(e->fd_, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
    setsockopt(e->fd_, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
    e->port_ = settings.port;
  }
  if (settings.tcp_port > 0) {
    bool tcp_v6 = false;
    e->tcp_fd_ = dual_stack_socket(SOCK_STREAM | SOCK_NONBLOCK, settings.tcp_port, &tcp_v6);
    if (e->tcp_fd_ < 0 || listen(e->tcp_fd_, 128) != 0)
      return Error{
          "cannot listen on the WebRTC TCP port " + std::to_string(settings.tcp_port) + ": " + std::strerror(errno),
          ErrorReason::unavailable, "webrtc"};
    e->tcp_port_ = settings.tcp_port;
    v6 = settings.port > 0 ? v6 && tcp_v6 : tcp_v6;
  }
  e->ipv6_ = v6;
  e->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  e->batch_ = std::make_unique<UdpBatch>(e->fd_, settings.gso);
  e->thread_ = std::thread([raw = e.get()] { raw->run(); });
  log_info("", "", "rtc-engine",
           "shared WebRTC engine on UDP port " + (e->port_ ? std::to_string(e->port_) : std::string("(none)")) +
               (e->tcp_port_ ? ", ICE-TCP on TCP port " + std::to_string(e->tcp_port_) : std::string()) +
               (e->ipv6_ ? " (IPv4 and IPv6)" : " (IPv4 only: no IPv6 socket)") +
               (e->fd_ >= 0 ? (settings.gso ? ", UDP GSO on" : ", UDP GSO off") : ""));
  return e;
}

SharedEngine::~SharedEngine() {
  feeds_.clear();  // pipelines down: nothing wakes the engine any more
  stop_ = true;
  wake();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    apply_control();
    by_addr_.clear();
    by_ufrag_.clear();
    flush();
    tcp_.clear();
  }
  if (fd_ >= 0) close(fd_);
  if (tcp_fd_ >= 0) close(tcp_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

void SharedEngine::wake() {
  const uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!write(wake_fd_, &one, sizeof one);
}

Result<ViewerHandle> SharedEngine::add_viewer(ViewerSpec spec) {
  auto remote = offer_credentials(spec.offer_sdp);
  if (!remote) return remote.error();
  auto v = std::make_shared<Viewer>();
  v->remote = *remote;
  v->pwd = random_token(24);
  Feed* feed = nullptr;
  auto it = feeds_.find(spec.feed);
  if (spec.publisher) {
    // No feed: the publisher's RTP goes to spec.on_rtp.
  } else if (it == feeds_.end()) {
    bool hevc = false;
    for (const MediaPlan& m : spec.plan.media) hevc = hevc || m.encoding == "H265";
    auto p = Packetizer::create(
        spec.feed, settings_.queue_ns, [this] { wake(); }, hevc);
    if (!p) return p.error();
    auto f = std::make_unique<Feed>();
    f->packetizer = std::move(*p);
    feed = f.get();
    feeds_[spec.feed] = std::move(f);
  } else {
    feed = it->second.get();
  }
  for (const MediaPlan& m : spec.plan.media) {
    if (!m.serve) continue;
    Track& t = m.kind == "video" ? v->video : v->audio;
    t.video = m.kind == "video";
    if (feed) t.ring = t.video ? feed->packetizer->video() : feed->packetizer->audio();
    t.pt = m.pt;
    t.clock = t.video ? 90000 : 48000;
    t.ssrc = g_random_int() | 1;
    t.next_seq = uint16_t(g_random_int());
    t.twcc_ext = spec.publisher && settings_.twcc && m.transport_cc ? m.twcc_ext : 0;
  }
  AnswerParams ap;
  ap.pwd = v->pwd;
  ap.fingerprint = dtls_->fingerprint();
  ap.addresses = settings_.interfaces.empty() ? interface_addresses(ipv6_) : settings_.interfaces;
  if (!ipv6_)  // an IPv6 address on an IPv4-only socket cannot be reached
    ap.addresses.erase(std::remove_if(ap.addresses.begin(), ap.addresses.end(),
                                      [](const std::string& a) { return a.find(':') != std::string::npos; }),
                       ap.addresses.end());
  if (!spec.extra_candidate.empty()) {
    bool present = false;
    for (const auto& a : ap.addresses) present = present || a == spec.extra_candidate;
    if (!present) ap.addresses.insert(ap.addresses.begin(), spec.extra_candidate);
  }
  ap.port = port_;
  ap.tcp_port = tcp_port_;
  ap.video_ssrc = v->video.ssrc;
  ap.audio_ssrc = v->audio.ssrc;
  ap.cname = "estuary";
  ap.receive = spec.publisher;
  ap.twcc = settings_.twcc;
  v->spec = std::move(spec);
  if (feed) ++feed->viewers;
  Viewer* raw = v.get();
  v->dtls = std::make_unique<DtlsPeer>(dtls_, v->remote.fingerprint,
                                       [this, raw](const uint8_t* d, size_t n) { send_to(*raw, d, n); });
  ViewerHandle h;
  h.counters = v->counters;
  do {
    v->ufrag = random_token(8);
  } while (control_index_.count(v->ufrag));
  control_index_[v->ufrag] = {v->spec.publisher ? std::string() : v->spec.feed, v->spec.publisher};
  {
    // Queued, not under mu_: a busy engine holds mu_ for whole passes, and a WHEP POST must not wait for them. The
    // engine adds it at its next pass (it is woken); a binding request before then is answered after a retry.
    std::lock_guard<std::mutex> lock(out_mu_);
    adds_.push_back(v);
  }
  wake();
  ap.ufrag = v->ufrag;
  h.ufrag = v->ufrag;
  h.answer_sdp = build_answer(v->spec.plan, ap);
  return h;
}

void SharedEngine::remove_viewer(const std::string& ufrag) {
  auto it = control_index_.find(ufrag);
  if (it == control_index_.end()) return;
  const auto [feed, publisher] = it->second;
  control_index_.erase(it);
  if (publisher) {
    // A publisher's on_rtp feeds its ingest pipeline, which goes away after this returns: removed now, under mu_.
    auto lock = control_lock();
    apply_control();  // its add may still be queued
    erase_viewer(ufrag);
  } else {
    // A viewer's callbacks only post through weak references, and the feed's rings are shared: queued for the
    // engine's next pass (a DELETE never waits for a busy engine's pass).
    std::lock_guard<std::mutex> lock(out_mu_);
    removals_.push_back(ufrag);
  }
  wake();
  if (!publisher) release_feed(feed);
}

// Engine thread (or the control thread for a publisher), under mu_.
void SharedEngine::apply_control() {
  std::vector<std::shared_ptr<Viewer>> adds;
  std::vector<std::string> removals;
  {
    std::lock_guard<std::mutex> lock(out_mu_);
    adds.swap(adds_);
    removals.swap(removals_);
  }
  for (auto& v : adds) by_ufrag_[v->ufrag] = std::move(v);
  for (const auto& u : removals) erase_viewer(u);
}

// Under mu_.
void SharedEngine::erase_viewer(const std::string& ufrag) {
  auto it = by_ufrag_.find(ufrag);
  if (it == by_ufrag_.end()) return;
  std::shared_ptr<Viewer> v = it->second;
  by_ufrag_.erase(it);
  if (!v->addr_key.empty()) {
    auto a = by_addr_.find(v->addr_key);
    if (a != by_addr_.end() && a->second == v) by_addr_.erase(a);
  }
  v->dtls.reset();  // close_notify goes into the batch (or the TCP queue), sent on the next pass
  if (v->tcp) v->tcp->closing = true;
  v->tcp = nullptr;
}

void SharedEngine::release_feed(const std::string& feed) {
  auto it = feeds_.find(feed);
  if (it != feeds_.end() && --it->second->viewers <= 0) feeds_.erase(it);
}

std::unique_lock<std::mutex> SharedEngine::control_lock() {
  control_waiting_.fetch_add(1);
  std::unique_lock<std::mutex> lock(mu_);
  control_waiting_.fetch_sub(1);
  return lock;
}

size_t SharedEngine::viewer_count() { return control_index_.size(); }

void SharedEngine::send_to(Viewer& v, const uint8_t* data, size_t len) {
  if (v.addr_len == 0 || len > kSlot) return;
  if (v.tcp) {
    v.tcp->queue(data, len);
    v.counters->bytes_sent.fetch_add(len, std::memory_order_relaxed);
    return;
  }
  uint8_t* slot = next_slot();
  std::memcpy(slot, data, len);
  commit_slot(v, slot, len);
}

void SharedEngine::send_udp(const sockaddr_storage& to, socklen_t tolen, const uint8_t* data, size_t len) {
  if (len > kSlot) return;
  std::memcpy(batch_->slot(), data, len);
  batch_->commit(to, tolen, len);
}

uint8_t* SharedEngine::next_slot() { return batch_->slot(); }

void SharedEngine::commit_slot(Viewer& v, const uint8_t* slot, size_t len) {
  if (v.tcp) {  // framed onto its connection; the slot is reused
    v.tcp->queue(slot, len);
  } else {
    batch_->commit(v.addr, v.addr_len, len);
  }
  v.counters->bytes_sent.fetch_add(len, std::memory_order_relaxed);
}

void SharedEngine::flush() {
  batch_->flush();
  if (!batch_->gso_error().empty() && !gso_error_logged_) {
    gso_error_logged_ = true;
    log_warn("", "", "rtc-engine", batch_->gso_error() + "; UDP GSO off, datagrams sent one by one");
  }
}

void SharedEngine::run() {
  std::vector<pollfd> fds;
  uint8_t buf[kSlot + 64];
  int64_t next_timer = 0;
  while (!stop_) {
    fds.assign({{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}});
    if (tcp_fd_ >= 0) {
      fds.push_back({tcp_fd_, short(tcp_.size() < kMaxTcpConns ? POLLIN : 0), 0});
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [cfd, c] : tcp_) fds.push_back({cfd, short(POLLIN | (c->out.size() > c->out_off ? POLLOUT : 0)), 0});
    }
    poll(fds.data(), nfds_t(fds.size()), 20);
    if (fds[1].revents & POLLIN) {
      uint64_t x;
      (void)!read(wake_fd_, &x, sizeof x);
    }
    const int64_t now = g_get_monotonic_time();
    std::unique_lock<std::mutex> lock(mu_);
    apply_control();
    if (tcp_fd_ >= 0) {
      if (fds[2].revents & POLLIN) accept_tcp(now);
      for (size_t i = 3; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        auto c = tcp_.find(fds[i].fd);
        if (c != tcp_.end() && !read_tcp(*c->second, now)) close_tcp(fds[i].fd);
      }
    }
    if (fds[0].revents & POLLIN) read_udp(buf, kMaxDatagramsPerPass);
    const bool timers = now >= next_timer;
    if (timers) next_timer = now + 100 * 1000;
    if (timers && tcp_fd_ >= 0) tcp_timers(now);
    drain_outbox(now);
    int served = 0;
    for (auto& [ufrag, v] : by_ufrag_) {
      if (v->connected && v->spec.publisher) {
        publisher_reports(*v, now);
      } else if (v->connected) {
        pump(*v, now);
      } else if (timers && v->dtls && !v->failed && v->addr_len) {
        v->dtls->on_timer();
      }
      // A long pass (hundreds of viewers on a busy machine) must not hold back the checks and DTLS flights of
      // sessions still connecting: their peers' retransmission timers double while they wait, and the session
      // times out. The socket is read again every few viewers (nothing here erases from by_ufrag_).
      if (++served % kViewersBetweenReads == 0) read_udp(buf, 256);
    }
    flush();
    slow_pass(now);
    std::vector<int> broken;
    for (auto& [cfd, c] : tcp_)
      if (c->out.size() > c->out_off && !write_tcp(*c)) broken.push_back(cfd);
    for (int cfd : broken) close_tcp(cfd);
    lock.unlock();
    // A busy engine re-takes the lock at once (a mutex is not fair): the control thread (a WHEP POST, a DELETE) gets
    // it now, within a bounded wait, instead of starving behind back-to-back passes.
    for (int i = 0; i < 50 && control_waiting_.load(std::memory_order_relaxed) > 0; ++i)
      std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

// A pass that took over 100 ms delays every session's STUN and DTLS answers by as much: logged (the slowest one
// of every 10 s), so a handshake timeout can be told apart from a slow client.
void SharedEngine::slow_pass(int64_t started) {
  const int64_t took = g_get_monotonic_time() - started;
  slowest_pass_us_ = std::max(slowest_pass_us_, took);
  if (started - slow_log_us_ < 10 * 1000 * 1000) return;
  if (slowest_pass_us_ > 100 * 1000)
    log_warn("", "", "rtc-engine",
             "slowest pass in the last 10 s: " + std::to_string(slowest_pass_us_ / 1000) + " ms (" +
                 std::to_string(by_ufrag_.size()) + " sessions)");
  slow_log_us_ = started;
  slowest_pass_us_ = 0;
}

void SharedEngine::read_udp(uint8_t* buf, int max) {
  if (fd_ < 0) return;
  const int64_t now = g_get_monotonic_time();
  for (int i = 0; i < max; ++i) {
    sockaddr_storage from{};
    socklen_t fromlen = sizeof from;
    const ssize_t n = recvfrom(fd_, buf, kSlot, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fromlen);
    if (n < 0) break;
    handle_datagram(buf, size_t(n), from, fromlen, now);
  }
}

void SharedEngine::accept_tcp(int64_t now) {
  for (int i = 0; i < 64 && tcp_.size() < kMaxTcpConns; ++i) {
    auto c = std::make_unique<TcpConn>();
    c->peer_len = sizeof c->peer;
    c->fd = accept4(tcp_fd_, reinterpret_cast<sockaddr*>(&c->peer), &c->peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c->fd < 0) return;
    // A fixed kernel buffer (no autotuning to megabytes): a viewer that falls behind loses whole
    // packets at our queue (NACK may repair them) instead of lagging seconds behind live.
    const int sndbuf = int(kTcpOutMax / 2);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    c->key = "tcp|" + addr_key(c->peer);
    c->opened_us = c->last_rx_us = now;
    const int fd = c->fd;
    tcp_[fd] = std::move(c);
  }
}

bool SharedEngine::read_tcp(TcpConn& c, int64_t now) {
  uint8_t buf[16384];
  for (int i = 0; i < 8; ++i) {
    const ssize_t n = recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    c.last_rx_us = now;
    if (!c.reader.feed(buf, size_t(n),
                       [&](uint8_t* frame, size_t len) { handle_datagram(frame, len, c.peer, c.peer_len, now, &c); }))
      return false;  // a frame over the bound: not ICE-TCP
  }
  return true;
}

bool SharedEngine::write_tcp(TcpConn& c) {
  while (c.out_off < c.out.size()) {
    const ssize_t n = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
      // A reader that stays behind never drains the queue: drop what was written, so the buffer
      // holds at most the bound (not everything ever queued).
      if (c.out_off >= kTcpOutMax / 4) {
        c.out.erase(c.out.begin(), c.out.begin() + std::ptrdiff_t(c.out_off));
        c.out_off = 0;
      }
      return true;
    }
    c.out_off += size_t(n);
  }
  c.out.clear();
  c.out_off = 0;
  if (c.out.capacity() > kTcpOutMax / 4) std::vector<uint8_t>().swap(c.out);  // a burst's buffer is given back
  return !c.closing;
}

void SharedEngine::close_tcp(int fd) {
  auto it = tcp_.find(fd);
  if (it == tcp_.end()) return;
  TcpConn* c = it->second.get();
  // Every viewer whose path it is (binding requests of more than one viewer may have come on it):
  // no path until the viewer checks again, else its session times out.
  if (c->bound) {
    for (auto& [ufrag, v] : by_ufrag_) {
      if (v->tcp != c) continue;
      v->tcp = nullptr;
      v->addr_len = 0;
      auto a = by_addr_.find(v->addr_key);
      if (a != by_addr_.end() && a->second == v) by_addr_.erase(a);
      v->addr_key.clear();
    }
  }
  tcp_.erase(it);
}

void SharedEngine::tcp_timers(int64_t now) {
  std::vector<int> expired;
  for (auto& [cfd, c] : tcp_) {
    const bool unbound = !c->bound && now - c->opened_us > int64_t(settings_.tcp_handshake_ms) * 1000;
    const bool idle = now - c->last_rx_us > int64_t(settings_.tcp_idle_ms) * 1000;
    const bool done = c->closing && c->out.size() == c->out_off;
    if (unbound || idle || done) expired.push_back(cfd);
  }
  for (int cfd : expired) close_tcp(cfd);
}

void SharedEngine::handle_datagram(uint8_t* data, size_t len, const sockaddr_storage& from, socklen_t fromlen,
                                   int64_t now, TcpConn* conn) {
  const PacketKind kind = classify_datagram(data, len);
  if (kind == PacketKind::stun) {
    StunRequest req;
    if (!parse_binding_request(data, len, &req) || !req.has_integrity) return;
    auto it = by_ufrag_.find(std::string(local_ufrag(req.username)));
    if (it == by_ufrag_.end()) return;
    Viewer& v = *it->second;
    if (!check_integrity(data, len, req, v.pwd)) return;
    const std::string key = conn ? conn->key : addr_key(from);
    if (conn) conn->bound = true;
    // The first address, or the one the viewer nominates, becomes the session's path.
    if (v.addr_len == 0 || (key != v.addr_key && req.use_candidate)) {
      if (!v.addr_key.empty()) by_addr_.erase(v.addr_key);
      v.addr = from;
      v.addr_len = fromlen;
      v.addr_key = key;
      v.tcp = conn;
      by_addr_[key] = it->second;
    }
    // Answered on the path it came on (a check on another path does not switch).
    auto resp = binding_success(req, from, v.pwd);
    if (conn)
      conn->queue(resp.data(), resp.size());
    else
      send_udp(from, fromlen, resp.data(), resp.size());
    v.counters->bytes_sent.fetch_add(resp.size(), std::memory_order_relaxed);
    v.counters->last_rx_us.store(now, std::memory_order_relaxed);
    v.counters->bytes_received.fetch_add(len, std::memory_order_relaxed);
    return;
  }
  auto it = by_addr_.find(conn ? conn->key : addr_key(from));
  if (it == by_addr_.end()) return;
  Viewer& v = *it->second;
  v.counters->bytes_received.fetch_add(len, std::memory_order_relaxed);
  if (kind == PacketKind::dtls) {
    if (!v.dtls || v.failed) return;
    const DtlsPeer::State st = v.dtls->feed(data, len);
    v.counters->last_rx_us.store(now, std::memory_order_relaxed);
    if (st == DtlsPeer::State::connected && !v.connected) {
      v.connected = true;
      v.counters->connected = true;
      if (v.spec.on_connected) v.spec.on_connected();
    } else if (st == DtlsPeer::State::failed || st == DtlsPeer::State::closed) {
      const bool was = v.failed;
      v.failed = true;
      v.connected = false;
      if (!was && v.spec.on_failed)
        v.spec.on_failed(st == DtlsPeer::State::closed ? "the viewer closed DTLS" : v.dtls->error());
    }
    return;
  }
  if (kind != PacketKind::rtp_rtcp || !v.connected) return;
  if (!is_rtcp(data, len)) {
    if (v.spec.publisher) receive_rtp(v, data, len, now);
    return;
  }
  int n = int(len);
  if (!v.dtls->unprotect_rtcp(data, &n)) return;
  v.counters->last_rx_us.store(now, std::memory_order_relaxed);
  if (v.spec.publisher) {  // its sender reports (for LSR/DLSR); feedback from a publisher is not expected
    v.rx.on_rtcp(data, size_t(n), now);
    return;
  }
  const RtcpFeedback fb = parse_rtcp(data, size_t(n));
  count_feedback(v, fb);
  if (!fb.keyframe_requests.empty() && !answer_from_ring(v)) {
    if (now - v.last_pli_us > kKeyframeRequestGapUs && v.spec.on_keyframe_request) {
      v.last_pli_us = now;
      v.spec.on_keyframe_request();  // forwarded to the publisher (WHIP) by the session
    }
  }
  for (auto [ssrc, seq] : fb.nacks) {
    Track* t = ssrc == v.video.ssrc ? &v.video : ssrc == v.audio.ssrc ? &v.audio : nullptr;
    if (!t || !t->ring || !t->started || t->cursor == t->base_index) continue;
    v.counters->nacks.fetch_add(1, std::memory_order_relaxed);
    const uint16_t last_seq = uint16_t(t->next_seq - 1);
    const uint16_t back = uint16_t(last_seq - seq);
    const uint64_t last = t->cursor - 1;
    if (back > last - t->base_index) continue;  // before this run (or a future number)
    const uint64_t index = last - back;
    uint8_t pkt[kSlot];
    const size_t plen = t->ring->copy(index, pkt);
    if (plen < 12) continue;
    pkt[1] = uint8_t((pkt[1] & 0x80) | t->pt);
    put16(pkt + 2, seq);
    put32(pkt + 8, t->ssrc);
    int out = int(plen);
    if (!v.dtls->protect_rtp(pkt, &out)) continue;
    send_to(v, pkt, size_t(out));
    v.counters->retransmits.fetch_add(1, std::memory_order_relaxed);
  }
}

void SharedEngine::pump(Viewer& v, int64_t now) {
  for (Track* t : {&v.video, &v.audio}) {
    if (!t->ring) continue;
    const uint64_t head = t->ring->head();
    const bool overrun = t->started && t->cursor < head && !t->ring->holds(t->cursor);
    if (!t->started || overrun) {
      // Start (or, after falling a ring behind, restart) at a keyframe; audio at the live edge.
      const uint64_t start = t->video ? t->ring->newest_keyframe() : head;
      if (start == UINT64_MAX) {
        t->started = false;
        continue;
      }
      if (overrun)
        log_warn(v.spec.key, v.spec.label, "rtc-overrun", "viewer fell a ring behind; skipping to a keyframe");
      t->started = true;
      t->cursor = start;
      t->base_index = start;
    }
    for (int i = 0; i < kMaxPacketsPerPass && t->cursor < head; ++i) {
      uint8_t* slot = next_slot();
      int64_t arrival = 0;
      const size_t plen = t->ring->copy(t->cursor, slot, nullptr, &arrival);
      if (plen < 12) break;
      slot[1] = uint8_t((slot[1] & 0x80) | t->pt);
      put16(slot + 2, t->next_seq);
      put32(slot + 8, t->ssrc);
      t->last_ts = rd32(slot + 4);
      t->last_arrival_us = arrival;
      int out = int(plen);
      ++t->cursor;
      ++t->next_seq;
      if (!v.dtls->protect_rtp(slot, &out)) continue;
      ++t->packets;
      t->octets += uint32_t(plen - 12);
      commit_slot(v, slot, size_t(out));  // protected in the batch's slot: no other copy
      v.counters->packets_sent.fetch_add(1, std::memory_order_relaxed);
    }
    if (t->packets && now >= t->next_sr_us) {
      t->next_sr_us = now + kSenderReportUs;
      const uint32_t ts = t->last_ts + uint32_t((now - t->last_arrival_us) * int64_t(t->clock) / 1000000);
      auto sr = sender_report(t->ssrc, ntp_from_unix_us(g_get_real_time()), ts, t->packets, t->octets);
      uint8_t pkt[128];
      std::memcpy(pkt, sr.data(), sr.size());
      int out = int(sr.size());
      if (v.dtls->protect_rtcp(pkt, &out)) send_to(v, pkt, size_t(out));
    }
  }
}

}  // namespace estuary::webrtc::engine
