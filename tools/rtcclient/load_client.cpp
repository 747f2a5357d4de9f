// Owns: the WHEP load client (see load_client.h): sessions, their wire work, the client threads.
#include "load_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <glib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "rtc_client.h"
#include "server/protocols/webrtc/engine/dtls.h"
#include "server/protocols/webrtc/engine/rtp_wire.h"
#include "server/protocols/webrtc/engine/stun.h"
#include "server/protocols/webrtc/engine/tcp_framing.h"

namespace estuary::rtcclient {
namespace {

using namespace estuary::webrtc::engine;

constexpr int kVideoPt = 102, kAudioPt = 111;

std::string token(size_t n) {
  static const char a[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s;
  for (size_t i = 0; i < n; ++i) s += a[g_random_int_range(0, sizeof a - 1)];
  return s;
}

std::string offer_sdp(const std::string& ufrag, const std::string& pwd, const std::string& fingerprint, bool h265) {
  std::ostringstream s;
  s << "v=0\r\no=- " << g_random_int() << " 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n";
  const std::string common = "c=IN IP4 0.0.0.0\r\na=ice-ufrag:" + ufrag + "\r\na=ice-pwd:" + pwd +
                             "\r\na=fingerprint:sha-256 " + fingerprint +
                             "\r\na=setup:actpass\r\na=recvonly\r\na=rtcp-mux\r\n";
  s << "m=video 9 UDP/TLS/RTP/SAVPF " << kVideoPt << "\r\n" << common << "a=mid:0\r\n";
  s << "a=rtpmap:" << kVideoPt << (h265 ? " H265" : " H264") << "/90000\r\na=rtcp-fb:" << kVideoPt
    << " nack\r\na=rtcp-fb:" << kVideoPt << " nack pli\r\na=fmtp:" << kVideoPt
    << (h265 ? " level-id=93;profile-id=1;tier-flag=0;tx-mode=SRST\r\n"
             : " level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n");
  s << "m=audio 9 UDP/TLS/RTP/SAVPF " << kAudioPt << "\r\n" << common << "a=mid:1\r\n";
  s << "a=rtpmap:" << kAudioPt << " opus/48000/2\r\na=fmtp:" << kAudioPt << " minptime=10;useinbandfec=1\r\n";
  return s.str();
}

std::string attr(const std::string& sdp, const std::string& name) {
  const size_t at = sdp.find("a=" + name + ":");
  if (at == std::string::npos) return "";
  const size_t start = at + name.size() + 3;
  return sdp.substr(start, sdp.find_first_of("\r\n", start) - start);
}

struct Track {
  std::map<uint16_t, int64_t> missing;  // sequence number -> when last NACKed (0 = not yet)
  uint32_t ssrc = 0;
  uint64_t repaired = 0;
  bool seen = false;
  uint16_t last_seq = 0;
  uint64_t packets = 0, gaps = 0, bytes = 0;
  bool keyframe_first = false;
  uint32_t sr_mid = 0;   // middle 32 bits of the NTP time of the last sender report (0 = none yet)
  int64_t sr_at_us = 0;  // when it arrived
};

struct Session {
  int fd = -1;
  bool h265 = false;         // the video is H.265
  bool tcp = false;          // ICE-TCP: fd is a connection, packets framed (RFC 4571)
  FrameReader frames{1500};  // what the connection delivers, reassembled
  std::vector<uint8_t> out;  // framed packets the connection has not taken yet
  std::string ufrag, pwd, server_ufrag, server_pwd, location;
  sockaddr_storage server{};
  socklen_t server_len = 0;
  std::unique_ptr<DtlsPeer> dtls;
  bool ice_ok = false, connected = false, failed = false;
  bool settled = false;  // counted as connected or failed
  bool sample = false;   // measures latency
  int64_t next_check_us = 0, next_report_us = 0;
  int64_t posted_us = 0, connected_us = 0;  // offer POSTed, DTLS connected (monotonic)
  bool pli_sent = false;
  Track video, audio;
  ~Session() {
    dtls.reset();
    if (fd >= 0) close(fd);
  }
  void send(const uint8_t* d, size_t n) {
    if (!tcp) {
      (void)!sendto(fd, d, n, 0, reinterpret_cast<const sockaddr*>(&server), server_len);
      return;
    }
    if (out.size() < (1 << 20)) append_frame(out, d, n);
    flush();
  }
  void flush() {
    if (out.empty()) return;
    const ssize_t w = ::send(fd, out.data(), out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w > 0) out.erase(out.begin(), out.begin() + w);
  }
  void check(int64_t now) {
    uint8_t tx[12];
    for (auto& b : tx) b = uint8_t(g_random_int());
    auto req = binding_request(tx, server_ufrag + ":" + ufrag, server_pwd, true);
    send(req.data(), req.size());
    next_check_us = now + (ice_ok ? 2000000 : 200000);
  }
};

// What a client thread keeps for itself (merged into the result at the end).
struct WorkerStats {
  uint64_t dropped = 0, unmatched = 0;
  int64_t loop_us_max = 0;  // the longest pass over this thread's sessions (a starved client shows here)
  std::vector<double> latency_ms;
};

// One RTP packet from the server. rx_us: when the kernel received it (monotonic).
// measuring: the window has started (latency counts only then: a session's start is its GOP cache, old by design).
void on_rtp(Session& s, uint8_t* data, int len, int64_t rx_us, const LoadOptions& o, WorkerStats& w, bool measuring) {
  if (len < 12) return;
  const int pt = data[1] & 0x7F;
  const bool marker = data[1] & 0x80;
  Track& t = pt == kVideoPt ? s.video : s.audio;
  const bool timed = measuring && s.sample && o.sent_at && pt == kVideoPt && marker;
  if (o.decrypt_all || !t.seen || timed) {
    if (!s.dtls->unprotect_rtp(data, &len) || len < 12) return;
  } else {
    if (len < 12 + 10) return;
    len -= 10;  // the SRTP authentication tag (AES_CM_128_HMAC_SHA1_80); the header is in the clear
  }
  const uint16_t seq = uint16_t(data[2] << 8 | data[3]);
  t.ssrc = uint32_t(data[8]) << 24 | uint32_t(data[9]) << 16 | uint32_t(data[10]) << 8 | data[11];
  if (!t.seen) {
    t.seen = true;
    t.keyframe_first = pt != kVideoPt ? true
                       : s.h265       ? h265_keyframe_start(data, size_t(len))
                                      : h264_keyframe_start(data, size_t(len));
  } else {
    const uint16_t step = uint16_t(seq - t.last_seq);
    if (step == 0 || step > 0x8000) {  // a retransmission (or reordering)
      if (t.missing.erase(seq)) ++t.repaired;
      return;
    }
    for (uint16_t k = 1; k < step && t.missing.size() < 1024; ++k) t.missing[uint16_t(t.last_seq + k)] = 0;
  }
  t.last_seq = seq;
  ++t.packets;
  t.bytes += uint64_t(len);
  // The last packet of an access unit ends with the access unit's last bytes (FU-A end, single NAL or STAP-A).
  const size_t off = rtp_payload_offset(data, size_t(len));
  if (timed && off > 0 && size_t(len) >= off + 32) {
    const int64_t sent = o.sent_at(data + len - 32, 32);
    if (sent < 0)
      ++w.unmatched;
    else
      w.latency_ms.push_back(double(rx_us - sent) / 1000.0);
  }
}

uint32_t rd32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
void wr32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (24 - 8 * i));
}

// A sender report from the server: remembered for the next receiver report's LSR/DLSR.
void on_rtcp(Session& s, uint8_t* data, int len, int64_t now) {
  if (!s.dtls->unprotect_rtcp(data, &len) || len < 28 || data[1] != 200) return;
  const uint32_t ssrc = rd32(data + 4);
  Track* t = ssrc == s.video.ssrc ? &s.video : ssrc == s.audio.ssrc ? &s.audio : nullptr;
  if (!t) return;
  t->sr_mid = rd32(data + 10);
  t->sr_at_us = now;
}

// One receiver report (RFC 3550) with a block per track that has seen a sender report.
void send_receiver_report(Session& s, int64_t now) {
  uint8_t pkt[8 + 2 * 24 + 64] = {};
  int blocks = 0;
  for (Track* t : {&s.video, &s.audio}) {
    if (!t->sr_mid) continue;
    uint8_t* b = pkt + 8 + 24 * blocks++;
    wr32(b, t->ssrc);
    wr32(b + 4, uint32_t(std::min<size_t>(t->missing.size(), 0x7FFFFF)));  // fraction 0, lost so far
    wr32(b + 8, t->last_seq);
    wr32(b + 16, t->sr_mid);
    wr32(b + 20, uint32_t((now - t->sr_at_us) * 65536 / 1000000));
  }
  if (blocks == 0) return;
  const int words = 1 + 6 * blocks;
  pkt[0] = uint8_t(0x80 | blocks);
  pkt[1] = 201;
  pkt[2] = uint8_t(words >> 8);
  pkt[3] = uint8_t(words);
  wr32(pkt + 4, 0x12345678);
  int len = 8 + 24 * blocks;
  if (s.dtls->protect_rtcp(pkt, &len)) s.send(pkt, size_t(len));
}

// Generic NACKs (RFC 4585) for the holes not asked for in the last 100 ms, one FCI per number.
void send_nacks(Session& s, Track& t, int64_t now) {
  uint8_t pkt[16 + 4 * 64 + 64];
  int fci = 0;
  for (auto& [seq, asked] : t.missing) {
    if (fci == 64) break;
    if (asked && now - asked < 100000) continue;
    asked = now;
    uint8_t* f = pkt + 12 + 4 * fci++;
    f[0] = uint8_t(seq >> 8);
    f[1] = uint8_t(seq);
    f[2] = f[3] = 0;
  }
  if (fci == 0) return;
  const int words = 2 + fci;  // length in 32-bit words minus one
  pkt[0] = 0x81;
  pkt[1] = 205;
  pkt[2] = uint8_t(words >> 8);
  pkt[3] = uint8_t(words);
  const uint32_t me = 0x12345678, media = t.ssrc;
  for (int i = 0; i < 4; ++i) {
    pkt[4 + i] = uint8_t(me >> (24 - 8 * i));
    pkt[8 + i] = uint8_t(media >> (24 - 8 * i));
  }
  int len = 12 + 4 * fci;
  if (s.dtls->protect_rtcp(pkt, &len)) s.send(pkt, size_t(len));
}

// What the client threads share: the window's end (set by run_load once every session is up).
struct Shared {
  const LoadOptions& o;
  std::atomic<int64_t> end{INT64_MAX};
  std::atomic<int> settled{0};  // sessions connected or failed
  int64_t real_minus_mono = 0;  // CLOCK_REALTIME - monotonic (us), for the kernel's receive timestamps
};

// One client thread: its sessions (handed over by run_load as they are created), polled together.
class Worker {
 public:
  explicit Worker(Shared& shared) : sh_(shared) {}
  void add(std::unique_ptr<Session> s) {
    std::lock_guard<std::mutex> lock(mu_);
    incoming_.push_back(std::move(s));
  }
  void start() {
    thread_ = std::thread([this] { run(); });
  }
  void join() {
    if (thread_.joinable()) thread_.join();
    for (auto& s : incoming_) sessions_.push_back(std::move(s));  // added after the thread ended (none expected)
    incoming_.clear();
  }
  std::vector<std::unique_ptr<Session>>& sessions() { return sessions_; }
  WorkerStats& stats() { return stats_; }

 private:
  static constexpr int kBatch = 32, kSize = 2048;
  void run();
  void read_udp(Session& s, size_t i, int64_t now);
  void read_tcp(Session& s, size_t i, int64_t now);
  void on_packet(Session& s, size_t i, uint8_t* data, size_t n, int64_t now, int64_t rx_us);
  void timers(Session& s, int64_t now);

  Shared& sh_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Session>> incoming_;
  std::vector<std::unique_ptr<Session>> sessions_;
  WorkerStats stats_;
  std::vector<uint8_t> buf_ = std::vector<uint8_t>(size_t(kBatch) * kSize);
  mmsghdr msgs_[kBatch]{};
  iovec iov_[kBatch]{};
  alignas(cmsghdr) char ctl_[kBatch][64]{};
};

void Worker::run() {
  std::vector<pollfd> fds;
  int64_t last_pass_us = 0;
  while (g_get_monotonic_time() < sh_.end.load()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& s : incoming_) {
        fds.push_back({s->fd, POLLIN, 0});
        sessions_.push_back(std::move(s));
      }
      incoming_.clear();
    }
    if (fds.empty()) {
      g_usleep(5000);
      continue;
    }
    poll(fds.data(), nfds_t(fds.size()), 20);
    const int64_t now = g_get_monotonic_time();
    if (last_pass_us) stats_.loop_us_max = std::max(stats_.loop_us_max, now - last_pass_us);
    last_pass_us = now;
    for (size_t i = 0; i < sessions_.size(); ++i) {
      Session& s = *sessions_[i];
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        if (s.tcp)
          read_tcp(s, i, now);
        else
          read_udp(s, i, now);
        if (s.failed && s.tcp) fds[i].fd = -1;
      }
      if (!s.settled && (s.connected || s.failed)) {
        s.settled = true;
        sh_.settled.fetch_add(1);
      }
      timers(s, now);
    }
  }
}

// Up to 4 batches of datagrams (recvmmsg), so that one busy session does not starve the others.
void Worker::read_udp(Session& s, size_t i, int64_t now) {
  for (int round = 0; round < 4; ++round) {
    for (int k = 0; k < kBatch; ++k) {
      iov_[k] = {buf_.data() + size_t(k) * kSize, kSize};
      msgs_[k].msg_hdr = {};
      msgs_[k].msg_hdr.msg_iov = &iov_[k];
      msgs_[k].msg_hdr.msg_iovlen = 1;
      if (s.sample) {
        msgs_[k].msg_hdr.msg_control = ctl_[k];
        msgs_[k].msg_hdr.msg_controllen = sizeof ctl_[k];
      }
    }
    const int got = recvmmsg(s.fd, msgs_, kBatch, MSG_DONTWAIT, nullptr);
    if (got <= 0) return;
    for (int k = 0; k < got; ++k) {
      int64_t rx = now;
      for (cmsghdr* c = s.sample ? CMSG_FIRSTHDR(&msgs_[k].msg_hdr) : nullptr; c;
           c = CMSG_NXTHDR(&msgs_[k].msg_hdr, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
        timespec ts;
        std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
        rx = int64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000 - sh_.real_minus_mono;
      }
      on_packet(s, i, buf_.data() + size_t(k) * kSize, msgs_[k].msg_len, now, rx);
    }
    if (got < kBatch) return;
  }
}

void Worker::read_tcp(Session& s, size_t i, int64_t now) {
  for (int k = 0; k < 64; ++k) {
    const ssize_t n = recv(s.fd, buf_.data(), buf_.size(), MSG_DONTWAIT);
    if (n <= 0) {
      if ((n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) && !s.failed) {
        s.failed = true;  // the server closed the connection
        std::fprintf(stderr, "session %zu: the ICE-TCP connection ended\n", i);
      }
      return;
    }
    if (!s.frames.feed(buf_.data(), size_t(n), [&](uint8_t* p, size_t len) { on_packet(s, i, p, len, now, now); })) {
      s.failed = true;
      std::fprintf(stderr, "session %zu: a bad RFC 4571 frame from the server\n", i);
      return;
    }
  }
}

// One packet from the server (a datagram, or a frame of the ICE-TCP stream).
void Worker::on_packet(Session& s, size_t i, uint8_t* data, size_t n, int64_t now, int64_t rx_us) {
  const LoadOptions& o = sh_.o;
  switch (classify_datagram(data, n)) {
    case PacketKind::stun: {
      uint8_t tx[12];
      std::string mapped;
      if (parse_binding_success(data, n, tx, &mapped) && !s.ice_ok) {
        s.ice_ok = true;
        s.dtls->start();
      }
      break;
    }
    case PacketKind::dtls:
      if (s.dtls->feed(data, n) == DtlsPeer::State::connected && !s.connected) {
        s.connected = true;
        s.connected_us = now;
      }
      if (s.dtls->state() == DtlsPeer::State::failed && !s.failed) {
        s.failed = true;
        std::fprintf(stderr, "session %zu: %s\n", i, s.dtls->error().c_str());
      }
      break;
    case PacketKind::rtp_rtcp:
      if (s.connected && is_rtcp(data, n)) on_rtcp(s, data, int(n), now);
      if (!s.connected || is_rtcp(data, n)) break;
      // Loss once both tracks started (the first packets are checked) and not in the last
      // 500 ms (every hole can still be repaired before the end).
      if (o.loss > 0 && s.video.seen && s.audio.seen && now < sh_.end.load() - 500000 && g_random_double() < o.loss) {
        ++stats_.dropped;  // injected loss: as if the network lost it
        break;
      }
      on_rtp(s, data, int(n), rx_us, o, stats_, sh_.end.load() != INT64_MAX);
      break;
    default:
      break;
  }
}

void Worker::timers(Session& s, int64_t now) {
  if (s.tcp) s.flush();
  if (sh_.o.silent) return;
  if (now >= s.next_check_us) s.check(now);
  if (s.connected) {
    if (!s.video.missing.empty()) send_nacks(s, s.video, now);
    if (!s.audio.missing.empty()) send_nacks(s, s.audio, now);
    if (sh_.o.pli && !s.pli_sent && s.video.seen) {
      uint8_t pli[12 + 16] = {0x81, 206, 0, 2, 0x12, 0x34, 0x56, 0x78};
      wr32(pli + 8, s.video.ssrc);
      int len = 12;
      if (s.dtls->protect_rtcp(pli, &len)) s.send(pli, size_t(len));
      s.pli_sent = true;
    }
    if (now >= s.next_report_us) {
      send_receiver_report(s, now);
      s.next_report_us = now + 1000000;
    }
  }
  if (s.ice_ok && !s.connected) s.dtls->on_timer();
}

// "a=candidate:1 1 udp|tcp PRIO IP PORT typ host ...": the first one of the transport and address family asked for.
bool pick_candidate(const std::string& sdp, const std::string& want, bool ipv6, std::string* ip, std::string* port) {
  for (size_t at = 0; (at = sdp.find("a=candidate:", at)) != std::string::npos; ++at) {
    std::istringstream cand(sdp.substr(at + 12, sdp.find_first_of("\r\n", at) - at - 12));
    std::string f, comp, proto, prio, addr, p;
    cand >> f >> comp >> proto >> prio >> addr >> p;
    if (proto == want && (addr.find(':') != std::string::npos) == ipv6) {
      *ip = addr;
      *port = p;
      return true;
    }
  }
  return false;
}

// POSTs one offer and opens the session's socket; nullptr (with a line on stderr) when it cannot.
std::unique_ptr<Session> open_session(int i, const LoadOptions& o, const std::shared_ptr<DtlsContext>& ctx,
                                      LoadResult& r) {
  auto s = std::make_unique<Session>();
  s->ufrag = token(8);
  s->pwd = token(24);
  s->h265 = o.h265;
  const std::string offer = offer_sdp(s->ufrag, s->pwd, ctx->fingerprint(), o.h265);
  s->posted_us = g_get_monotonic_time();
  HttpResult h = http_post(o.whep, offer, "application/sdp");
  for (int64_t until = g_get_monotonic_time() + int64_t(i == 0 ? o.first_post_wait_ms : 0) * 1000;
       h.status != 201 && g_get_monotonic_time() < until;) {
    g_usleep(200000);
    h = http_post(o.whep, offer, "application/sdp");
  }
  if (h.status != 201) {
    std::fprintf(stderr, "session %d: POST -> %d %s\n", i, h.status, h.body.substr(0, 200).c_str());
    return nullptr;
  }
  ++r.answered;
  s->location = h.location;
  s->server_ufrag = attr(h.body, "ice-ufrag");
  s->server_pwd = attr(h.body, "ice-pwd");
  const std::string want = o.tcp ? "tcp" : "udp";
  std::string ip, port;
  if (!pick_candidate(h.body, want, o.ipv6, &ip, &port)) {
    std::fprintf(stderr, "session %d: no %s %s candidate in the answer\n", i, o.ipv6 ? "IPv6" : "IPv4", want.c_str());
    return nullptr;
  }
  const int family = o.ipv6 ? AF_INET6 : AF_INET;
  if (o.ipv6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&s->server);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(uint16_t(std::atoi(port.c_str())));
    inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr);
    s->server_len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&s->server);
    a->sin_family = AF_INET;
    a->sin_port = htons(uint16_t(std::atoi(port.c_str())));
    inet_pton(AF_INET, ip.c_str(), &a->sin_addr);
    s->server_len = sizeof(sockaddr_in);
  }
  s->tcp = o.tcp;
  s->fd = socket(family, (o.tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
  if (s->fd < 0) {
    std::fprintf(stderr, "session %d: socket: %s\n", i, std::strerror(errno));
    return nullptr;
  }
  int rcv = 1 << 20, one = 1;
  setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  // ICE-TCP: an active candidate connects to the server's passive one (on loopback at once).
  if (o.tcp && connect(s->fd, reinterpret_cast<const sockaddr*>(&s->server), s->server_len) != 0) {
    std::fprintf(stderr, "session %d: connect %s:%s: %s\n", i, ip.c_str(), port.c_str(), std::strerror(errno));
    return nullptr;
  }
  if (!o.tcp && o.sent_at && o.latency_sessions > 0 && i % std::max(1, o.count / o.latency_sessions) == 0) {
    s->sample = true;
    setsockopt(s->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  }
  if (o.tcp && o.sent_at && o.latency_sessions > 0 && i % std::max(1, o.count / o.latency_sessions) == 0)
    s->sample = true;
  fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
  Session* raw = s.get();
  s->dtls = std::make_unique<DtlsPeer>(ctx, "sha-256 " + attr(h.body, "fingerprint").substr(8),
                                       [raw](const uint8_t* d, size_t n) { raw->send(d, n); });
  if (!o.silent) s->check(g_get_monotonic_time());
  return s;
}

}  // namespace

LoadResult run_load(const LoadOptions& o) {
  LoadResult r;
  auto ctx = DtlsContext::create(true);
  if (!ctx) {
    std::fprintf(stderr, "dtls: %s\n", ctx.error().message.c_str());
    return r;
  }
  Shared sh{o};
  sh.real_minus_mono = g_get_real_time() - g_get_monotonic_time();
  const int threads = o.threads > 0 ? o.threads : std::clamp(o.count / 250, 1, 4);
  r.threads = threads;
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < threads; ++t) {
    workers.push_back(std::make_unique<Worker>(sh));
    workers.back()->start();
  }
  // Sessions start handshaking on their thread as soon as they are answered.
  int opened = 0;
  const int64_t post0 = g_get_monotonic_time();
  for (int i = 0; i < o.count; ++i) {
    ++r.sessions;
    if (o.max_pending > 0 && opened - sh.settled.load() >= o.max_pending) {
      ++r.pending_waits;
      for (const int64_t until = g_get_monotonic_time() + 5000000;
           opened - sh.settled.load() >= o.max_pending && g_get_monotonic_time() < until;)
        g_usleep(2000);
    }
    auto s = open_session(i, o, *ctx, r);
    if (!s) continue;
    workers[size_t(opened++ % threads)]->add(std::move(s));
    if (o.ramp_ms > 0) g_usleep(gulong(o.ramp_ms) * 1000);
  }
  r.post_seconds = double(g_get_monotonic_time() - post0) / 1e6;
  std::printf("ready sessions=%d threads=%d\n", opened, threads);  // tools/bench-webrtc.sh starts measuring here
  std::fflush(stdout);
  // The measured window (o.seconds) starts once every session is connected (at most 30 s of
  // handshakes: a loaded machine is slow to do hundreds of them).
  const int64_t connect_deadline = g_get_monotonic_time() + 30 * 1000000;
  while (!o.silent && sh.settled.load() < opened && g_get_monotonic_time() < connect_deadline) g_usleep(10000);
  const int64_t end = g_get_monotonic_time() + int64_t(o.seconds) * 1000000;
  sh.end.store(end);
  std::printf("window-start connected=%d\n", sh.settled.load());  // tools/bench-webrtc.sh measures from here
  std::fflush(stdout);
  auto cpu_us = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return int64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
  };
  const int64_t cpu0 = cpu_us(), wall0 = g_get_monotonic_time();
  while (g_get_monotonic_time() < end) g_usleep(10000);
  r.client_cores = double(cpu_us() - cpu0) / double(std::max<int64_t>(1, g_get_monotonic_time() - wall0));
  for (auto& w : workers) w->join();
  std::printf("window-end\n");  // ... to here
  std::fflush(stdout);
  if (o.before_end) o.before_end();
  r.video_packets_min = UINT64_MAX;
  r.video_kbps_min = 1e18;
  for (auto& w : workers) {
    r.dropped += w->stats().dropped;
    r.unmatched += w->stats().unmatched;
    r.client_loop_ms_max = std::max(r.client_loop_ms_max, double(w->stats().loop_us_max) / 1000.0);
    r.latency_ms.insert(r.latency_ms.end(), w->stats().latency_ms.begin(), w->stats().latency_ms.end());
    for (auto& s : w->sessions()) {
      if (s->connected) {
        ++r.connected;
        r.handshake_ms.push_back(double(s->connected_us - s->posted_us) / 1000.0);
      }
      if (s->ice_ok) ++r.ice_answered;
      if (s->video.keyframe_first) ++r.keyframe_first;
      // A hole still open at the end is a gap.
      s->video.gaps = s->video.missing.size();
      s->audio.gaps = s->audio.missing.size();
      r.repaired += s->video.repaired + s->audio.repaired;
      if (s->video.seen && s->video.gaps == 0 && s->audio.gaps == 0) ++r.gap_free;
      if (s->audio.packets > 0) ++r.with_audio;
      r.gaps += s->video.gaps + s->audio.gaps;
      r.video_packets_total += s->video.packets;
      r.audio_packets_total += s->audio.packets;
      r.video_packets_min = std::min(r.video_packets_min, s->video.packets);
      const double kbps = double(s->video.bytes) * 8 / 1000 / std::max(1, o.seconds);
      r.video_kbps_min = std::min(r.video_kbps_min, kbps);
      r.video_kbps_mean += kbps / double(opened);
      if (o.silent) continue;
      if (o.vanish)
        s->dtls->forget();  // no close_notify, no DELETE: the server must time the session out
      else if (http_send("DELETE", s->location) == 200)
        ++r.deleted;
    }
  }
  if (opened == 0) {
    r.video_packets_min = 0;
    r.video_kbps_min = 0;
  }
  return r;
}

std::string describe(const LoadResult& r) {
  std::ostringstream s;
  s << "sessions=" << r.sessions << " answered=" << r.answered << " connected=" << r.connected
    << " keyframe_first=" << r.keyframe_first << " gap_free=" << r.gap_free << " with_audio=" << r.with_audio
    << " gaps=" << r.gaps << " dropped=" << r.dropped << " repaired=" << r.repaired
    << " video_packets_min=" << r.video_packets_min << " video_packets_total=" << r.video_packets_total
    << " audio_packets_total=" << r.audio_packets_total << " deleted=" << r.deleted
    << " video_kbps_min=" << int(r.video_kbps_min) << " video_kbps_mean=" << int(r.video_kbps_mean)
    << " threads=" << r.threads;
  char cores[32];
  std::snprintf(cores, sizeof cores, "%.2f", r.client_cores);
  s << " client_cores=" << cores;
  {
    std::vector<double> h = r.handshake_ms;
    std::sort(h.begin(), h.end());
    auto at = [&](double p) {
      return h.empty() ? -1.0 : h[std::min(h.size() - 1, size_t(p * double(h.size() - 1) + 0.5))];
    };
    char b[200];
    std::snprintf(b, sizeof b,
                  " ice_answered=%d handshake_ms_p50=%.0f handshake_ms_p95=%.0f handshake_ms_max=%.0f "
                  "post_seconds=%.1f pending_waits=%llu client_loop_ms_max=%.0f",
                  r.ice_answered, at(0.5), at(0.95), h.empty() ? -1.0 : h.back(), r.post_seconds,
                  static_cast<unsigned long long>(r.pending_waits), r.client_loop_ms_max);
    s << b;
  }
  if (!r.latency_ms.empty() || r.unmatched) {
    std::vector<double> v = r.latency_ms;
    std::sort(v.begin(), v.end());
    auto at = [&](double p) {
      return v.empty() ? -1.0 : v[std::min(v.size() - 1, size_t(p * double(v.size() - 1) + 0.5))];
    };
    char b[160];
    std::snprintf(
        b, sizeof b, " latency_ms_p50=%.1f latency_ms_p95=%.1f latency_ms_max=%.1f latency_samples=%zu unmatched=%llu",
        at(0.5), at(0.95), v.empty() ? -1.0 : v.back(), v.size(), static_cast<unsigned long long>(r.unmatched));
    s << b;
  }
  return s.str();
}

}  // namespace estuary::rtcclient
