// Owns: the SRT server on the control thread: the listener (one UDP port for every stream and both
// directions) and the sender thread, the handshake policy's view of server state (stream id rules,
// per-app passphrases, streams busy with a live publisher; refreshed from the control thread so the
// handshake thread never touches the supervisor), and every SRT connection until it leaves.
#pragma once

#include <glib.h>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "common/gobject_ptr.h"
#include "common/result.h"
#include "server/config/config.h"
#include "server/control/ports.h"
#include "server/protocols/srt/listener.h"
#include "server/protocols/srt/sender.h"

namespace estuary::server {

class SrtConnection;

class SrtServer {
 public:
  explicit SrtServer(ControlPorts ports);
  ~SrtServer();
  SrtServer(const SrtServer&) = delete;
  SrtServer& operator=(const SrtServer&) = delete;

  // Listens with the [srt] section of the running configuration.
  Status listen();
  int port() const { return listener_ ? listener_->port() : 0; }
  // Drops a connection object (called by the connection itself; freed on the next loop turn).
  void forget(const std::string& id);

  srt::Listener& listener() { return *listener_; }
  srt::Sender& sender() { return *sender_; }

 private:
  // What the handshake thread may know; replaced whole, never modified.
  struct Snapshot {
    config::SrtSection srt;
    std::map<std::string, config::SrtSection> apps;
    std::set<std::string> busy;  // streams a new publisher would be refused for
  };
  static gboolean on_refresh(gpointer self);
  void refresh();
  srt::HandshakeDecision decide(const std::string& stream_id, const std::string& peer_ip) const;
  void on_accepted(std::shared_ptr<srt::Link> link);

  ControlPorts ports_;
  ConfigSlice<config::SrtSection> srt_config_;
  ConfigSlice<std::map<std::string, config::SrtSection>> app_srt_config_;  // [srt:APP] overrides
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_;
  SourceGuard refresh_timer_;
  std::map<std::string, std::unique_ptr<SrtConnection>> connections_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  // Declared last: destroyed first, so their threads stop before the connections go.
  std::unique_ptr<srt::Sender> sender_;
  std::unique_ptr<srt::Listener> listener_;
};

}  // namespace estuary::server
