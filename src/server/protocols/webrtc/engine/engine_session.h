// Owns: the shared engine's per-session state (internal to engine/: shared_engine.cpp and
// engine_publisher.cpp): a session's tracks, its ICE-TCP connection and the session itself (a WHEP
// viewer, or a WHIP publisher with its reception statistics). Engine thread, under the engine's lock.
// Must not know: anything outside the engine.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "server/protocols/webrtc/engine/dtls.h"
#include "server/protocols/webrtc/engine/packet_ring.h"
#include "server/protocols/webrtc/engine/rtp_receiver.h"
#include "server/protocols/webrtc/engine/sdp_answer.h"
#include "server/protocols/webrtc/engine/shared_engine.h"
#include "server/protocols/webrtc/engine/tcp_framing.h"
#include "server/protocols/webrtc/engine/twcc.h"
#include "server/protocols/webrtc/engine/udp_batch.h"

namespace estuary::webrtc::engine {

constexpr int64_t kKeyframeRequestGapUs = 500 * 1000;  // PLIs to one peer at most this often
constexpr size_t kTcpOutMax = 256 << 10;  // queued for one ICE-TCP connection (beyond the kernel's buffer; ~1 s
                                          // at 2 Mb/s); beyond it packets are dropped
constexpr size_t kMaxOutbox = 4096;       // queued publisher feedback; beyond it requests are dropped
constexpr int64_t kReceiverReportUs = 1000 * 1000;
constexpr int64_t kTwccFeedbackUs = 50 * 1000;  // transport-cc feedback to a publisher at most this often

struct Track {
  std::shared_ptr<PacketRing> ring;
  bool video = false;
  int pt = -1;
  uint32_t ssrc = 0;
  uint32_t clock = 90000;
  bool started = false;
  uint64_t cursor = 0;      // next ring index to send
  uint64_t base_index = 0;  // first index of the current run (after a start or a jump)
  uint16_t next_seq = 0;
  uint32_t last_ts = 0;
  int64_t last_arrival_us = 0;
  uint32_t packets = 0, octets = 0;
  int64_t next_sr_us = 0;
  uint32_t lost = 0;  // cumulative, from the peer's last report block on this SSRC
  int twcc_ext = 0;   // a publisher's transport-wide-cc extension id on this track (0 = no feedback)
};

// An ICE-TCP connection: frames in (bounded), frames out (bounded queue, whole packets dropped beyond
// it: a TCP viewer that cannot keep up loses packets like a UDP one, NACK may repair them).
struct TcpConn {
  int fd = -1;
  sockaddr_storage peer{};
  socklen_t peer_len = 0;
  std::string key;  // "tcp|" + address: the 5-tuple key of its viewer
  FrameReader reader{kSlot};
  std::vector<uint8_t> out;
  size_t out_off = 0;
  int64_t opened_us = 0, last_rx_us = 0;
  bool bound = false;    // a binding request with valid integrity came on it
  bool closing = false;  // its viewer was removed: close once the queue is written
  TcpConn() = default;
  TcpConn(const TcpConn&) = delete;
  TcpConn& operator=(const TcpConn&) = delete;
  ~TcpConn() {
    if (fd >= 0) close(fd);
  }
  void queue(const uint8_t* data, size_t len) {
    if (out.size() - out_off + len + 2 > kTcpOutMax) return;
    append_frame(out, data, len);
  }
};

struct Viewer {
  ViewerSpec spec;
  std::string ufrag, pwd;
  OfferCredentials remote;
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  std::string addr_key;
  std::unique_ptr<DtlsPeer> dtls;
  TcpConn* tcp = nullptr;  // the path is this ICE-TCP connection (else UDP to addr)
  bool connected = false;
  bool failed = false;
  Track video, audio;
  std::shared_ptr<ViewerCounters> counters = std::make_shared<ViewerCounters>();
  int64_t last_pli_us = 0;
  RtpReceiver rx;  // a publisher's sources
  int64_t next_rr_us = 0;
  TwccRecorder twcc;  // a publisher's transport-wide sequence numbers, until reported
  int64_t next_twcc_us = 0;
};

}  // namespace estuary::webrtc::engine
