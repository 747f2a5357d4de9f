// Owns: the shared WebRTC engine for WHEP viewers and WHIP publishers: ONE UDP socket ([rtc] port) for every session
// and one engine thread; with `tcp_port`, ICE-TCP connections on one TCP port too (RFC 6544 passive candidates, RFC
// 4571 framing, a handshake deadline and an idle timeout). Datagrams are demultiplexed (RFC 7983) and routed by the
// STUN USERNAME's ufrag, then by the 5-tuple the last valid binding request came from (a viewer whose address changes
// keeps its session). Per viewer only: ICE-lite (we answer binding requests, the viewer controls), a DTLS-SRTP
// handshake, SRTP, its own SSRC and sequence numbers over the shared packet rings (starting at a keyframe), RTCP sender
// reports, NACK (resent from the ring), PLI/FIR (answered from the ring when it holds a newer keyframe than the viewer
// got, else forwarded), REMB, TWCC and receiver reports (parsed, counted; RTT from LSR/DLSR). Media work (payloading)
// happens once per stream in Packetizer. A publisher (WHIP) is the same session with the direction reversed: SRTP/SRTCP
// unprotected, its RTP demultiplexed by payload type to on_rtp (the session's ingest pipeline), and RTCP back to it:
// receiver reports once a second, transport-cc feedback every 50 ms when the answer accepted the offer's
// transport-wide-cc extension (Settings::twcc), generic NACKs and PLIs queued from any thread (request_keyframe,
// request_retransmission) into an outbox that the engine thread drains (never the engine's lock).
// UDP sends go through one UdpBatch per pass (sendmmsg; with Settings::gso, a viewer's consecutive equal-size
// datagrams as one UDP_SEGMENT message).
//
// Threads: add_viewer/remove_viewer and the packetizer map run on the control thread; the engine
// thread owns the socket and the viewers' transport state under one mutex, held for one pass (never across a
// blocking call). Adds and viewer removals are queued (a small lock) and applied at the start of the next pass, so
// the control thread never waits for a busy engine; a publisher's removal takes the mutex (its on_rtp must stop
// before its pipeline goes). Viewer callbacks run on the engine thread and must only post.
// Must not know: HTTP, the supervisor, admission (RtcSession does that).
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "server/protocols/webrtc/sdp_offer.h"

namespace estuary::webrtc::engine {

class DtlsContext;
class Packetizer;
struct Viewer;
struct TcpConn;
class UdpBatch;

struct ViewerCounters {
  std::atomic<bool> connected{false};
  std::atomic<int64_t> last_rx_us{0};
  std::atomic<uint64_t> bytes_sent{0}, bytes_received{0};
  std::atomic<uint64_t> packets_sent{0}, nacks{0}, retransmits{0}, keyframe_requests{0};
  std::atomic<uint32_t> fraction_lost{0};  // of the last receiver report, /256
  // The peer's RTCP: RTT (-1 = not measured yet), cumulative loss over our tracks, feedback by kind.
  std::atomic<int64_t> rtt_us{-1};
  std::atomic<uint64_t> packets_lost{0}, plis{0}, firs{0}, rembs{0}, twcc{0}, remb_bps{0};
  std::atomic<uint64_t> keyframes_from_ring{0};  // keyframe requests the packet ring answered
  std::atomic<uint64_t> packets_received{0};     // RTP from a publisher, decrypted
};

struct ViewerSpec {
  std::string label;  // session id (logs)
  std::string key;    // app/stream (logs)
  std::string feed;   // bus stream of the shared feed ("app/x@rtc")
  OfferPlan plan;
  std::string offer_sdp;                                     // for the peer's ICE credentials and fingerprint
  std::string extra_candidate;                               // ?eip= / [rtc] candidate ("" = none)
  std::function<void()> on_connected;                        // engine thread: post only
  std::function<void(const std::string& reason)> on_failed;  // engine thread: post only
  std::function<void()> on_keyframe_request;                 // engine thread: post only
  // A WHIP publisher (no feed; a recvonly answer): each decrypted RTP packet of the plan's payload
  // types, on the engine thread under its lock: must not block (appsrc with a bounded, leaky queue).
  bool publisher = false;
  std::function<void(const uint8_t* rtp, size_t len, bool video)> on_rtp;
};

struct ViewerHandle {
  std::string ufrag;  // our ufrag: the routing key
  std::string answer_sdp;
  std::shared_ptr<ViewerCounters> counters;
};

class SharedEngine {
 public:
  struct Settings {
    int port = 8000;
    // Advertised host addresses, IPv4 and IPv6 ("" = every interface's IPv4 and global IPv6 addresses).
    std::vector<std::string> interfaces;
    uint64_t queue_ns = 0;        // the packetizers' subscriber queue bound
    int tcp_port = 0;             // ICE-TCP (RFC 6544 passive, RFC 4571 framing); 0 = none
    int tcp_handshake_ms = 5000;  // a TCP connection without a valid binding request by then is closed
    int tcp_idle_ms = 30000;      // one silent this long is closed
    bool gso = false;             // UDP GSO (UDP_SEGMENT) for a viewer's consecutive equal-size datagrams
    bool twcc = true;             // transport-cc for WHIP publishers that offer it (answer + feedback)
  };
  static Result<std::unique_ptr<SharedEngine>> create(const Settings& settings);
  ~SharedEngine();
  SharedEngine(const SharedEngine&) = delete;
  SharedEngine& operator=(const SharedEngine&) = delete;

  // Control thread. Errors: reason invalid (HTTP 400) for a bad offer, internal otherwise.
  Result<ViewerHandle> add_viewer(ViewerSpec spec);
  void remove_viewer(const std::string& ufrag);
  size_t viewer_count();
  // A publisher's feedback, from any thread (GStreamer streaming threads included): queued without
  // the engine's lock, built and sent on the engine thread's next pass. PLIs at most every 500 ms.
  void request_keyframe(const std::string& ufrag);
  void request_retransmission(const std::string& ufrag, uint32_t ssrc, uint16_t seq);  // ssrc 0: the video's
  int port() const { return port_; }
  int tcp_port() const { return tcp_port_; }

 private:
  struct Feed;
  SharedEngine() = default;
  void run();
  // conn: the ICE-TCP connection the packet came on (nullptr: a UDP datagram).
  void handle_datagram(uint8_t* data, size_t len, const struct sockaddr_storage& from, socklen_t fromlen, int64_t now,
                       TcpConn* conn = nullptr);
  void send_udp(const struct sockaddr_storage& to, socklen_t tolen, const uint8_t* data, size_t len);
  void read_udp(uint8_t* buf, int max);  // up to max datagrams waiting on the UDP socket, handled
  void accept_tcp(int64_t now);
  bool read_tcp(TcpConn& c, int64_t now);  // false: close it
  bool write_tcp(TcpConn& c);              // false: close it
  void close_tcp(int fd);
  void tcp_timers(int64_t now);
  void pump(Viewer& v, int64_t now);
  void receive_rtp(Viewer& v, uint8_t* data, size_t len, int64_t now);
  void drain_outbox(int64_t now);
  void send_pli(Viewer& v, int64_t now);
  void publisher_reports(Viewer& v, int64_t now);
  void send_to(Viewer& v, const uint8_t* data, size_t len);
  uint8_t* next_slot();                                          // the batch's next buffer (kSlot bytes)
  void commit_slot(Viewer& v, const uint8_t* slot, size_t len);  // queues it to v's path
  void flush();
  void slow_pass(int64_t started);  // logs the slowest pass of every 10 s when over 100 ms
  void wake();
  void release_feed(const std::string& feed);

  int fd_ = -1;
  int wake_fd_ = -1;
  int port_ = 0;
  int tcp_fd_ = -1;
  int tcp_port_ = 0;
  bool ipv6_ = false;                            // the sockets are dual-stack (IPv6 candidates can be offered)
  std::map<int, std::unique_ptr<TcpConn>> tcp_;  // by fd; engine thread, under mu_
  Settings settings_;
  std::shared_ptr<DtlsContext> dtls_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::atomic<int> control_waiting_{0};         // control-thread callers waiting for mu_ (the engine yields to them)
  std::unique_lock<std::mutex> control_lock();  // mu_, for the control thread
  void apply_control();                         // under mu_: the queued adds and removals
  void erase_viewer(const std::string& ufrag);  // under mu_
  // Control thread only: every session added and not removed (ufrag -> its feed, publisher or not).
  std::map<std::string, std::pair<std::string, bool>> control_index_;
  std::map<std::string, std::shared_ptr<Viewer>> by_ufrag_;
  std::map<std::string, std::shared_ptr<Viewer>> by_addr_;  // 5-tuple key
  std::map<std::string, std::unique_ptr<Feed>> feeds_;      // control thread (under mu_ for the rings)
  std::unique_ptr<UdpBatch> batch_;                         // engine thread, under mu_
  bool gso_error_logged_ = false;
  int64_t slowest_pass_us_ = 0, slow_log_us_ = 0;  // engine thread
  struct Feedback {
    std::string ufrag;
    bool keyframe = false;  // else a NACK of (ssrc, seq)
    uint32_t ssrc = 0;
    uint16_t seq = 0;
  };
  std::mutex out_mu_;  // the outbox and the queued adds/removals; taken after mu_, never before it
  std::vector<Feedback> outbox_;
  std::vector<std::shared_ptr<Viewer>> adds_;  // under out_mu_: added on the control thread, not yet in by_ufrag_
  std::vector<std::string> removals_;          // under out_mu_: viewers (not publishers) removed, by ufrag
};

}  // namespace estuary::webrtc::engine
