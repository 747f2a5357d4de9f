// Owns: a minimal stand-in media server used to test the load tool and to benchmark the fan-out
// engine without GStreamer: RTMP publish ingest (handshake, connect/createStream/publish, chunk
// stream -> FLV tags), and HTTP-FLV and RTMP play served by fanout::Engine from one FLV channel
// and one RTMP-chunk channel per stream. Not a product: 127.0.0.1 only, no auth, no hooks.
//
// Threads: one control thread (epoll: listeners, request parsing, RTMP command exchange, ingest,
// Channel::push) plus the engine's own threads.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "fanout/fanout.h"

namespace estuary::fanout::standin {

struct Config {
  int rtmp_port = 0;  // 0 = ephemeral
  int http_port = 0;
  EngineConfig engine;
  ChannelLimits limits;
  bool mark_video = true;  // mark video packets Packet::video (frame-aligned batching, EngineConfig::write_batch_ms)
};

class Server {
 public:
  Server();
  ~Server();
  bool start(const Config& config, std::string* error);
  void stop();
  int rtmp_port() const { return rtmp_port_; }
  int http_port() const { return http_port_; }
  size_t viewer_count() const;
  // Stats of the stream's FLV channel (zeros when the stream does not exist).
  ChannelStats flv_stats(const std::string& app_stream) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rtmp_port_ = 0;
  int http_port_ = 0;
};

}  // namespace estuary::fanout::standin
