// Owns: the RTSP output (gst-rtsp-server, default port 8554): rtsp://host:port/app/stream for every
// live stream, one shared media per stream whose pipeline reads the stream bus (estuarysrc starts at
// the cached keyframe), UDP and TCP transports. A mount is the stream's "rtsp" output: the first
// DESCRIBE of a live stream starts it, and the supervisor's slot lifecycle removes it, closing its
// clients, after the linger or when the stream ends. A DESCRIBE of a stream not live yet waits as a
// player does ([play] wait_ms, an on-demand source, an edge's pull): the request is kept and handled
// again when the wait ends (then 404 if the stream did not come), the main loop never blocked.
// RTSP clients appear in the supervisor's client registry as type "rtsp-play"; publishers on the same
// port (ANNOUNCE/RECORD) as "rtsp-publish" (rtsp_publish.h). The server's
// sockets and every GstRTSPClient run on the control thread's main context.
#pragma once

#include <memory>
#include <string>

#include "common/gobject_ptr.h"
#include "common/result.h"
#include "server/net/connection_limits.h"

namespace estuary::server {

struct ControlPorts;

class RtspServer {
 public:
  // The ports' owner (the control plane) must outlive the RtspServer.
  explicit RtspServer(ControlPorts ports);
  ~RtspServer();
  RtspServer(const RtspServer&) = delete;
  RtspServer& operator=(const RtspServer&) = delete;

  // Deadlines for each client's requests and the per-address cap (see connection_limits.h).
  void set_connection_limits(ConnectionLimitsSource limits, std::shared_ptr<PerIpConnections> per_ip);
  // Binds address:port (port 0 picks a free one; see port()) and attaches to the main context.
  Status listen(const std::string& address, int port);
  int port() const { return port_; }

  struct State;  // shared with the C callbacks (public only so the .cpp can name it)
  std::weak_ptr<State> state() const { return state_; }

 private:
  std::shared_ptr<State> state_;
  SourceGuard source_;
  unsigned long connected_id_ = 0;
  int port_ = 0;
};

// Registers the "rtsp" output kind: the stream's mount on `server`, run by the supervisor's slot
// lifecycle (mounted on the first DESCRIBE, unmounted after the linger or when the stream ends).
void register_rtsp_output(RtspServer& server);

}  // namespace estuary::server
