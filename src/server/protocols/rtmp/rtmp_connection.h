// Owns: one RTMP TCP connection on the control thread: non-blocking reads into rtmp::Session,
// bounded buffered writes, handshake and idle timeouts (checked when the server ticks), and the
// publisher/player roles. Its socket is one watch in the server's epoll set (not a GSource of its own).
#pragma once

#include <gio/gio.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "common/epoll_set.h"
#include "common/gobject_ptr.h"
#include "fanout/fanout.h"
#include "pipelines/flv_ingest.h"
#include "server/control/ports.h"
#include "server/protocols/rtmp/session.h"

namespace estuary::server {

class RtmpServer;

class RtmpConnection final : public rtmp::SessionDelegate {
 public:
  // ip: the peer's address when the connection cannot tell (a TLS relay's socketpair); "" = ask it.
  RtmpConnection(RtmpServer& server, ControlPorts ports, fanout::Engine& engine, GSocketConnection* connection,
                 std::string id, std::string ip = "");
  ~RtmpConnection() override;
  // Starts reading: the socket joins the server's epoll set (none, or a refused watch, closes it).
  void start(EpollSet* epoll);
  // Enforces the deadlines (handshake, publisher idle, last words); the server calls it every 500 ms.
  void tick();
  const std::string& id() const { return id_; }

  // rtmp::SessionDelegate
  void on_connect(const rtmp::ConnectInfo& info) override;
  void on_publish_request(const rtmp::StreamRequest& request) override;
  void on_play_request(const rtmp::StreamRequest& request) override;
  void on_media(rtmp::MediaType type, uint32_t timestamp_ms, const uint8_t* payload, size_t size) override;
  void on_unpublish() override;

 private:
  void on_events(uint32_t events);
  void read_some();
  void flush();
  // Closes the connection (once) and tells the supervisor; the object is freed on a later loop turn.
  void close(const std::string& reason);
  void close_after_flush(const std::string& reason);
  void register_client(const rtmp::StreamRequest& request, const std::string& type, bool publish);
  // Why this player cannot play key ("" if it can): the stream's video needs enhanced RTMP and the
  // player did not declare its FourCC in connect (a legacy player would get tags it cannot read).
  std::string legacy_player_refusal(const std::string& key) const;
  void attach_player(fanout::ChannelPtr channel);
  // After admission (limits, IP rules, on_publish/on_play hooks) allowed the request.
  void start_publish(const rtmp::StreamRequest& request);
  void start_play();
  int64_t idle_ms() const;

  RtmpServer& server_;
  ControlPorts ports_;
  ConfigSlice<config::RtmpSection> rtmp_config_;
  ConfigSlice<config::BusSection> bus_config_;
  fanout::Engine& engine_;
  Ref<GSocketConnection> connection_;
  GSocket* socket_;  // owned by connection_
  int fd_;           // socket_'s descriptor
  std::string id_;
  std::string ip_;
  std::unique_ptr<rtmp::Session> session_;
  rtmp::ConnectInfo connect_info_;
  EpollWatch watch_;  // EPOLLIN always, EPOLLOUT while output waits
  std::vector<uint8_t> out_;
  size_t out_pos_ = 0;
  bool closed_ = false;
  bool closing_after_flush_ = false;
  std::string close_reason_;
  bool registered_ = false;
  bool publishing_ = false;
  bool handed_off_ = false;
  int64_t created_us_ = 0;
  int64_t last_media_us_ = 0;
  uint64_t bytes_received_ = 0;
  std::shared_ptr<std::atomic<uint64_t>> received_counter_ = std::make_shared<std::atomic<uint64_t>>(0);
  std::shared_ptr<std::atomic<uint64_t>> sent_counter_ = std::make_shared<std::atomic<uint64_t>>(0);
  std::unique_ptr<pipelines::FlvIngest> ingest_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // weak refs guard deferred callbacks
};

}  // namespace estuary::server
