// Owns: the RTSP server's state shared by its play side (rtsp_server.cpp) and its publish side
// (rtsp_publish.cpp): the ports, the mounts, the per-connection records, and the helpers both use
// (signal user data, paths, kicking a client). Private to this folder. Control thread only.
#pragma once

#include <gst/rtsp-server/rtsp-server.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/gobject_ptr.h"
#include "server/control/ports.h"
#include "server/net/connection_limits.h"
#include "server/protocols/rtsp/rtsp_server.h"

namespace estuary::server {

struct RtspPublisher;  // rtsp_publish.h

struct RtspServer::State {
  std::unique_ptr<ControlPorts> ports;
  bool alive = true;
  Ref<GstRTSPServer> server;
  struct Mount {
    std::string launch;
  };
  std::map<std::string, Mount> mounts;  // play mounts by "app/stream"
  // Record mounts by "app/stream" (one per ANNOUNCE; borrowed, compared only).
  std::map<std::string, GstRTSPMediaFactory*> record_mounts;
  struct ClientInfo {
    std::string id;   // "" until the client DESCRIBEs a live stream or is admitted to publish
    std::string key;  // "app/stream"
    std::unique_ptr<PerIpSlot> slot;
    SourceGuard deadline;  // a request (then the next, until a session exists) must arrive by then
    bool in_session = false;
    std::shared_ptr<RtspPublisher> publisher;  // set from ANNOUNCE on
    // A DESCRIBE of a stream that is not live yet waits ([play] wait_ms, an edge's pull): the
    // request is held, its placeholder answer swallowed, and it is handled again once the feed is
    // ready or refused. feed: unset while waiting, then ok or the error.
    std::unique_ptr<GstRTSPMessage, decltype(&gst_rtsp_message_free)> held_describe{nullptr, gst_rtsp_message_free};
    bool swallow_response = false;
    std::optional<Status> feed;
    SourceGuard resume_timer;  // polls for the stream's first media before the held DESCRIBE resumes
  };
  ConnectionLimitsSource limits;
  std::shared_ptr<PerIpConnections> per_ip;
  std::map<GstRTSPClient*, ClientInfo> clients;  // borrowed: erased on "closed"
};

using RtspStatePtr = std::shared_ptr<RtspServer::State>;

// Signal user data: a strong reference to the state, released by the closure's destroy notify.
inline gpointer box_state(const RtspStatePtr& st) { return new RtspStatePtr(st); }
inline void unbox_state(gpointer data, GClosure*) { delete static_cast<RtspStatePtr*>(data); }
inline RtspServer::State& state_of(gpointer data) { return **static_cast<RtspStatePtr*>(data); }
// Connects handler to instance's signal with a strong reference to the state as its user data.
inline gulong connect_with_state(gpointer instance, const char* signal, GCallback handler, const RtspStatePtr& st) {
  return g_signal_connect_data(instance, signal, handler, box_state(st), unbox_state, GConnectFlags(0));
}

// "/app/stream" (an optional trailing "/") -> app, stream; false unless both are valid names.
bool split_rtsp_path(const char* abspath, std::string* app, std::string* stream);
// The client's address ("" if unknown).
std::string rtsp_client_ip(GstRTSPClient* client);
// A weak reference to the client (it may be closed and gone when a callback runs).
std::shared_ptr<GWeakRef> weak_rtsp_client(GstRTSPClient* client);
// A kick for the client record: closes the connection if it still exists ("closed" then removes it).
std::function<void()> rtsp_kick(GstRTSPClient* client);
// Closes the connection from the main loop (not inside the signal or callback that asks for it).
void close_rtsp_client_later(GstRTSPClient* client);

}  // namespace estuary::server
