// Owns: the RTSP output (gst-rtsp-server, default port 8554): rtsp://host:port/app/stream for every
// live stream, one shared media per stream whose pipeline reads the stream bus (estuarysrc starts at
// the cached keyframe), UDP and TCP transports. Mounts are created on demand when a client DESCRIBEs
// a live stream (404 otherwise) and removed, with their clients closed, when the stream ends.
// RTSP clients appear in the supervisor's client registry as type "rtsp-play". The server's
// sockets and every GstRTSPClient run on the control thread's main context.
#pragma once

#include <memory>
#include <string>

#include "common/gobject_ptr.h"
#include "common/result.h"

namespace estuary::server {

class Supervisor;

class RtspServer {
 public:
  // supervisor must outlive the RtspServer.
  explicit RtspServer(Supervisor& supervisor);
  ~RtspServer();
  RtspServer(const RtspServer&) = delete;
  RtspServer& operator=(const RtspServer&) = delete;

  // Binds address:port (port 0 picks a free one; see port()) and attaches to the main context.
  Status listen(const std::string& address, int port);
  int port() const { return port_; }

  struct State;  // shared with the C callbacks (public only so the .cpp can name it)

 private:
  std::shared_ptr<State> state_;
  SourceGuard source_;
  SourceGuard sweep_;
  unsigned long connected_id_ = 0;
  int port_ = 0;
};

}  // namespace estuary::server
