// Owns: libsrt's lifetime in the process (srt_startup/srt_cleanup), the one SRT listening socket
// (every stream and both directions share it), the handshake decision (libsrt calls it before
// accepting: stream id, per-app passphrase, reject reason) and the "srt-io" thread that waits on
// libsrt's own epoll (SRT sockets are not kernel descriptors), accepts callers, reads what
// publishers send and notices broken connections.
//
// Threads: the policy runs on libsrt's receive thread during the handshake; on_accept and the
// links' handlers run on srt-io. watch/unwatch and the accessors are thread-safe. Nothing here
// touches server state: the caller's callbacks post to the control thread.
#pragma once

#include <srt/srt.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "server/protocols/srt/link.h"

namespace estuary::srt {

struct ListenerOptions {
  std::string address = "0.0.0.0";
  int port = 10080;
  int latency_ms = 120;  // receiver and peer latency (TSBPD), inherited by accepted sockets
  int max_bw = -1;       // bytes/s; -1 = unlimited, 0 = relative to the input rate
  int peer_idle_timeout_ms = 5000;
  int max_bitrate_kbps = 20000;  // sizes each connection's buffers (latency + 1 s of it)
};

// What the policy answers for a caller, before libsrt accepts it.
struct HandshakeDecision {
  bool accept = false;
  int reject_code = 1400;  // SRT_REJX_* (access_control.h) when refused
  std::string reason;      // for the log
  std::string passphrase;  // "" = no encryption for this caller
  int pbkeylen = 16;
};
using HandshakePolicy = std::function<HandshakeDecision(const std::string& stream_id, const std::string& peer_ip)>;
// A caller passed the handshake; the link delivers nothing until its handlers are set.
using OnAccept = std::function<void(std::shared_ptr<Link> link)>;

class Listener {
 public:
  Listener();
  ~Listener();  // stops srt-io, closes the listener and every watched link
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  Status start(const ListenerOptions& options, HandshakePolicy policy, OnAccept on_accept);
  int port() const { return port_; }
  // Stops reading and watching the link (its socket stays open until the link is closed).
  void unwatch(const std::shared_ptr<Link>& link);
  size_t link_count() const;

 private:
  static int on_listen(void* self, SRTSOCKET ns, int hsversion, const struct sockaddr* peer, const char* streamid);
  void run();
  void accept_all();
  void read_all(const std::shared_ptr<Link>& link);
  void broken(const std::shared_ptr<Link>& link, const std::string& reason);
  void sample_stats();

  ListenerOptions options_;
  HandshakePolicy policy_;
  OnAccept on_accept_;
  SRTSOCKET socket_ = SRT_INVALID_SOCK;
  int eid_ = -1;
  int port_ = 0;
  bool started_srt_ = false;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::map<SRTSOCKET, std::shared_ptr<Link>> links_;
};

// "127.0.0.1" style text of an address (IPv4 or IPv6), "" if unknown.
std::string address_text(const struct sockaddr* addr);

}  // namespace estuary::srt
