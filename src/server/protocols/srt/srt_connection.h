// Owns: one SRT connection on the control thread, from accept to disconnect: its client record,
// admission (limits, IP rules, on_publish/on_play hooks), then either the publisher role (MPEG-TS
// into a TsIngest pipeline, idle detection for takeover and for a vanished peer) or the player role
// (the stream's shared TS channel played by the SRT sender thread). Data from the I/O thread comes
// through a bounded inbox drained on the control thread.
#pragma once

#include <glib.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/gobject_ptr.h"
#include "pipelines/ts_ingest.h"
#include "server/control/ports.h"
#include "server/protocols/srt/link.h"
#include "server/protocols/srt/stream_id.h"

namespace estuary::server {

class SrtServer;

class SrtConnection {
 public:
  SrtConnection(SrtServer& server, ControlPorts ports, std::shared_ptr<srt::Link> link, srt::StreamId stream_id,
                std::string id);
  ~SrtConnection();
  SrtConnection(const SrtConnection&) = delete;
  SrtConnection& operator=(const SrtConnection&) = delete;

  void start();
  // Closes the connection (once) and tells the supervisor; the object is freed on a later loop turn.
  void close(const std::string& reason);
  const std::string& id() const { return id_; }

 private:
  // Received bytes waiting for the control thread; one post at a time drains it.
  struct Inbox {
    std::mutex mu;
    std::vector<uint8_t> data;
    bool posted = false;
    uint64_t dropped = 0;
  };
  static gboolean on_timer(gpointer self);
  void drain();
  void start_publish();
  void start_play();
  void attach_player(fanout::ChannelPtr channel);
  int64_t idle_ms() const;

  SrtServer& server_;
  ControlPorts ports_;
  ConfigSlice<config::SrtSection> srt_config_;
  ConfigSlice<config::BusSection> bus_config_;
  std::shared_ptr<srt::Link> link_;
  srt::StreamId stream_id_;
  std::string id_;
  std::shared_ptr<Inbox> inbox_ = std::make_shared<Inbox>();
  std::unique_ptr<pipelines::TsIngest> ingest_;
  SourceGuard timer_;
  int64_t created_us_ = 0;
  int64_t publish_since_us_ = 0;
  bool closed_ = false;
  bool publishing_ = false;
  bool playing_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // weak refs guard deferred callbacks
};

}  // namespace estuary::server
