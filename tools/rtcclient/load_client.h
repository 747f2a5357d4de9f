// Owns: estuary-rtc load: N WHEP sessions from a few client threads (sessions spread over them) without webrtcbin:
// per session a UDP
// socket (or, with tcp, an ICE-TCP connection to the answer's passive candidate, RFC 4571 framing), an offer (H.264 +
// Opus, recvonly), STUN binding checks (consent every 2 s), a DTLS client handshake and SRTP, on the same wire code as
// the server's shared engine. Each session's RTP is checked: the first video packet starts a keyframe, and sequence
// numbers have no gaps (loopback). With loss > 0 it drops that share of incoming RTP and sends NACKs: a gap counts only
// if it stays. Every second each session sends receiver reports answering the server's sender reports (its RTT). Must
// not know: the server's internals (it only speaks WHEP, ICE-lite, DTLS-SRTP).
// Cheap on purpose: UDP is read with recvmmsg in batches; with decrypt_all false only the packets it looks into are
// SRTP-decrypted (each track's first packet, the latency sessions' last packet of each access unit); the rest are
// checked by their RTP header (sequence, payload type) alone. Latency: with sent_at, up to latency_sessions sessions
// (spread over the threads) match the last 32 bytes of each access unit against the publisher's record, timed by the
// kernel's receive timestamp (SO_TIMESTAMPNS), so the client's own queueing is not counted.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace estuary::rtcclient {

struct LoadOptions {
  std::string whep;  // endpoint URL
  int count = 1;
  int seconds = 10;         // of media, counted from when every session is connected (or 30 s passed)
  int ramp_ms = 0;          // pause between session starts
  double loss = 0;          // drop this share of incoming RTP (both tracks) and ask for it again with NACK
  bool vanish = false;      // end without DELETE (tests the server's silent-peer timeout)
  bool pli = false;         // each session sends one PLI once its video plays
  bool silent = false;      // POST only: no ICE, no DTLS, no DELETE (tests the server's connect timeout)
  bool tcp = false;         // ICE-TCP: connect to the answer's passive TCP candidate, RFC 4571 framing
  bool h265 = false;        // offer H265 video (an HEVC stream), keyframes checked as H.265 (RFC 7798)
  bool ipv6 = false;        // use the answer's first IPv6 candidate (else its first IPv4 one)
  int threads = 0;          // client threads; 0: one per 250 sessions, at most 4
  bool decrypt_all = true;  // false: decrypt only what is looked into (see above)
  // The publisher's record: when the access unit ending with these bytes was sent (monotonic us, -1 unknown).
  std::function<int64_t(const uint8_t* tail, size_t n)> sent_at;
  int latency_sessions = 100;
  int first_post_wait_ms = 0;  // the first session's offer is tried again for this long until answered (201)
  // At most this many sessions answered and not yet connected (or failed) at a time: the next offer waits (at most
  // 5 s) for one to finish its handshake, so a loaded client does not start more handshakes than it can finish
  // before the server's session_timeout_ms. 0 = no bound.
  int max_pending = 0;
  // Called once the window is over, while every session is still up (a test reads the server's API).
  std::function<void()> before_end;
};

struct LoadResult {
  int sessions = 0, answered = 0, connected = 0, keyframe_first = 0, gap_free = 0, with_audio = 0;
  int deleted = 0;
  uint64_t dropped = 0, repaired = 0;  // with loss: packets dropped on purpose, resent packets that filled a hole
  uint64_t video_packets_min = 0, video_packets_total = 0, audio_packets_total = 0, gaps = 0;
  double video_kbps_min = 0, video_kbps_mean = 0;  // RTP payload rate per session over the run
  int threads = 0;
  double client_cores = 0;         // this process's CPU over the window (the threads and the publisher)
  std::vector<double> latency_ms;  // one per matched access unit (sent_at)
  uint64_t unmatched = 0;          // access units sent_at did not know
  // Per connected session: POST sent -> DTLS connected (ms); and how the offers were paced.
  std::vector<double> handshake_ms;
  int ice_answered = 0;           // sessions whose binding check the server answered (connected or not)
  double post_seconds = 0;        // from the first POST to the last answer
  uint64_t pending_waits = 0;     // offers that waited for max_pending
  double client_loop_ms_max = 0;  // the longest pass of a client thread over its sessions (poll to poll)
};

LoadResult run_load(const LoadOptions& options);
std::string describe(const LoadResult& r);

}  // namespace estuary::rtcclient
