// Owns: the single-threaded WHEP load client (see load_client.h).
#include "load_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <glib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
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
  sockaddr_in server{};
  std::unique_ptr<DtlsPeer> dtls;
  bool ice_ok = false, connected = false, failed = false;
  int64_t next_check_us = 0, next_report_us = 0;
  bool pli_sent = false;
  Track video, audio;
  ~Session() {
    dtls.reset();
    if (fd >= 0) close(fd);
  }
  void send(const uint8_t* d, size_t n) {
    if (!tcp) {
      (void)!sendto(fd, d, n, 0, reinterpret_cast<const sockaddr*>(&server), sizeof server);
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

void on_rtp(Session& s, uint8_t* data, int len) {
  if (!s.dtls->unprotect_rtp(data, &len) || len < 12) return;
  const int pt = data[1] & 0x7F;
  const uint16_t seq = uint16_t(data[2] << 8 | data[3]);
  Track& t = pt == kVideoPt ? s.video : s.audio;
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

}  // namespace

LoadResult run_load(const LoadOptions& o) {
  LoadResult r;
  auto ctx = DtlsContext::create(true);
  if (!ctx) {
    std::fprintf(stderr, "dtls: %s\n", ctx.error().message.c_str());
    return r;
  }
  std::vector<std::unique_ptr<Session>> sessions;
  for (int i = 0; i < o.count; ++i) {
    auto s = std::make_unique<Session>();
    ++r.sessions;
    s->ufrag = token(8);
    s->pwd = token(24);
    s->h265 = o.h265;
    HttpResult h = http_post(o.whep, offer_sdp(s->ufrag, s->pwd, (*ctx)->fingerprint(), o.h265), "application/sdp");
    if (h.status != 201) {
      std::fprintf(stderr, "session %d: POST -> %d %s\n", i, h.status, h.body.substr(0, 200).c_str());
      continue;
    }
    ++r.answered;
    s->location = h.location;
    s->server_ufrag = attr(h.body, "ice-ufrag");
    s->server_pwd = attr(h.body, "ice-pwd");
    // "a=candidate:1 1 udp|tcp PRIO IP PORT typ host ...": the first one of the transport asked for.
    const std::string want = o.tcp ? "tcp" : "udp";
    std::string f, comp, proto, prio, ip, port;
    for (size_t at = 0; (at = h.body.find("a=candidate:", at)) != std::string::npos && proto != want; ++at) {
      std::istringstream cand(h.body.substr(at + 12, h.body.find_first_of("\r\n", at) - at - 12));
      cand >> f >> comp >> proto >> prio >> ip >> port;
    }
    if (proto != want) {
      std::fprintf(stderr, "session %d: no %s candidate in the answer\n", i, want.c_str());
      continue;
    }
    s->server.sin_family = AF_INET;
    s->server.sin_port = htons(uint16_t(std::atoi(port.c_str())));
    inet_pton(AF_INET, ip.c_str(), &s->server.sin_addr);
    s->tcp = o.tcp;
    s->fd = socket(AF_INET, (o.tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
    int rcv = 1 << 20;
    setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    // ICE-TCP: an active candidate connects to the server's passive one (on loopback at once).
    if (o.tcp && connect(s->fd, reinterpret_cast<const sockaddr*>(&s->server), sizeof s->server) != 0) {
      std::fprintf(stderr, "session %d: connect %s:%s: %s\n", i, ip.c_str(), port.c_str(), std::strerror(errno));
      continue;
    }
    fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
    Session* raw = s.get();
    s->dtls = std::make_unique<DtlsPeer>(*ctx, "sha-256 " + attr(h.body, "fingerprint").substr(8),
                                         [raw](const uint8_t* d, size_t n) { raw->send(d, n); });
    if (!o.silent) s->check(g_get_monotonic_time());
    sessions.push_back(std::move(s));
    if (o.ramp_ms > 0) g_usleep(gulong(o.ramp_ms) * 1000);
  }
  std::printf("ready sessions=%zu\n", sessions.size());  // tools/bench-webrtc.sh starts measuring here
  std::fflush(stdout);
  std::vector<pollfd> fds(sessions.size());
  for (size_t i = 0; i < sessions.size(); ++i) fds[i] = {sessions[i]->fd, POLLIN, 0};
  // The measured window (o.seconds) starts once every session is connected (at most 30 s of
  // handshakes: a loaded machine is slow to do hundreds of them).
  const int64_t connect_deadline = g_get_monotonic_time() + 30 * 1000000;
  int64_t end = INT64_MAX;
  // One packet from the server (a datagram, or a frame of the ICE-TCP stream).
  auto on_packet = [&](Session& s, size_t i, uint8_t* data, size_t n, int64_t now) {
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
        if (s.dtls->feed(data, n) == DtlsPeer::State::connected) s.connected = true;
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
        if (o.loss > 0 && s.video.seen && s.audio.seen && now < end - 500000 && g_random_double() < o.loss) {
          ++r.dropped;  // injected loss: as if the network lost it
          break;
        }
        on_rtp(s, data, int(n));
        break;
      default:
        break;
    }
  };
  uint8_t buf[16384];
  while (g_get_monotonic_time() < end) {
    poll(fds.data(), nfds_t(fds.size()), 20);
    const int64_t now = g_get_monotonic_time();
    if (end == INT64_MAX) {
      size_t up = 0;
      for (auto& s : sessions) up += s->connected || s->failed;
      if (up == sessions.size() || now > connect_deadline || o.silent) end = now + int64_t(o.seconds) * 1000000;
    }
    for (size_t i = 0; i < sessions.size(); ++i) {
      Session& s = *sessions[i];
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        for (int k = 0; k < 64; ++k) {
          const ssize_t n = recv(s.fd, buf, sizeof buf, MSG_DONTWAIT);
          if (n <= 0) {
            if (s.tcp && (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) && !s.failed) {
              s.failed = true;  // the server closed the connection
              std::fprintf(stderr, "session %zu: the ICE-TCP connection ended\n", i);
              fds[i].fd = -1;
            }
            break;
          }
          if (!s.tcp) {
            on_packet(s, i, buf, size_t(n), now);
          } else if (!s.frames.feed(buf, size_t(n), [&](uint8_t* p, size_t len) { on_packet(s, i, p, len, now); })) {
            s.failed = true;
            std::fprintf(stderr, "session %zu: a bad RFC 4571 frame from the server\n", i);
            break;
          }
        }
      }
      if (s.tcp) s.flush();
      if (o.silent) continue;
      if (now >= s.next_check_us) s.check(now);
      if (s.connected) {
        if (!s.video.missing.empty()) send_nacks(s, s.video, now);
        if (!s.audio.missing.empty()) send_nacks(s, s.audio, now);
        if (o.pli && !s.pli_sent && s.video.seen) {
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
  }
  if (o.before_end) o.before_end();
  r.video_packets_min = UINT64_MAX;
  r.video_kbps_min = 1e18;
  for (auto& s : sessions) {
    if (s->connected) ++r.connected;
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
    r.video_kbps_mean += kbps / double(sessions.size());
    if (o.silent) continue;
    if (o.vanish)
      s->dtls->forget();  // no close_notify, no DELETE: the server must time the session out
    else if (http_send("DELETE", s->location) == 200)
      ++r.deleted;
  }
  if (sessions.empty()) {
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
    << " video_kbps_min=" << int(r.video_kbps_min) << " video_kbps_mean=" << int(r.video_kbps_mean);
  return s.str();
}

}  // namespace estuary::rtcclient
