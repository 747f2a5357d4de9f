// Owns: estuary-rtc load: N WHEP sessions from ONE thread without webrtcbin: per session a UDP
// socket (or, with tcp, an ICE-TCP connection to the answer's passive candidate, RFC 4571 framing), an offer (H.264 +
// Opus, recvonly), STUN binding checks (consent every 2 s), a DTLS client handshake and SRTP, on the same wire code as
// the server's shared engine. Each session's RTP is checked: the first video packet starts a keyframe, and sequence
// numbers have no gaps (loopback). With loss > 0 it drops that share of incoming RTP and sends NACKs: a gap counts only
// if it stays. Every second each session sends receiver reports answering the server's sender reports (its RTT). Must
// not know: the server's internals (it only speaks WHEP, ICE-lite, DTLS-SRTP).
#pragma once

#include <functional>
#include <string>

namespace estuary::rtcclient {

struct LoadOptions {
  std::string whep;  // endpoint URL
  int count = 1;
  int seconds = 10;     // of media, counted from when every session is connected (or 30 s passed)
  int ramp_ms = 0;      // pause between session starts
  double loss = 0;      // drop this share of incoming RTP (both tracks) and ask for it again with NACK
  bool vanish = false;  // end without DELETE (tests the server's silent-peer timeout)
  bool pli = false;     // each session sends one PLI once its video plays
  bool silent = false;  // POST only: no ICE, no DTLS, no DELETE (tests the server's connect timeout)
  bool tcp = false;     // ICE-TCP: connect to the answer's passive TCP candidate, RFC 4571 framing
  bool h265 = false;    // offer H265 video (an HEVC stream), keyframes checked as H.265 (RFC 7798)
  // Called once the window is over, while every session is still up (a test reads the server's API).
  std::function<void()> before_end;
};

struct LoadResult {
  int sessions = 0, answered = 0, connected = 0, keyframe_first = 0, gap_free = 0, with_audio = 0;
  int deleted = 0;
  uint64_t dropped = 0, repaired = 0;  // with loss: packets dropped on purpose, resent packets that filled a hole
  uint64_t video_packets_min = 0, video_packets_total = 0, audio_packets_total = 0, gaps = 0;
  double video_kbps_min = 0, video_kbps_mean = 0;  // RTP payload rate per session over the run
};

LoadResult run_load(const LoadOptions& options);
std::string describe(const LoadResult& r);

}  // namespace estuary::rtcclient
