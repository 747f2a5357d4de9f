// Owns: the WebRTC endpoints on the API port and the registry of live sessions.
//   WHIP  POST /rtc/v1/whip/?app=A&stream=S   (short form POST /whip/A/S)
//   WHEP  POST /rtc/v1/whep/?app=A&stream=S   (short form POST /whep/A/S; SRS's /rtc/v1/whip-play/ too)
//         body application/sdp → 201 Created, application/sdp answer, Location /rtc/v1/session/ID/SECRET
//   DELETE that Location ends the session; PATCH it with application/trickle-ice-sdpfrag adds
//   candidates; OPTIONS everywhere answers CORS preflight. ?eip=IP adds that address as a candidate
//   for one request (SRS); [rtc] candidate does it for all.
// Offers are validated (sdp_offer.h) before a session or webrtcbin exists. A WHEP offer for a stream
// that is not live but is produced on demand (a pulled source, a cluster edge's pull) is held while
// the stream starts (OutputControl::await_stream, [play] wait_ms), then served or answered 404.
// Control thread only.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/gobject_ptr.h"
#include "server/control/http_routes.h"
#include "server/control/ports.h"
#include "server/protocols/webrtc/engine/shared_engine.h"
#include "server/protocols/webrtc/rtc_feed.h"
#include "server/protocols/webrtc/rtc_session.h"

namespace estuary::webrtc {

class RtcService {
 public:
  // waits (optional): holds WHEP offers for on-demand streams until they are live.
  RtcService(server::ControlPorts ports, server::PathRoutes& api, server::OutputControl* waits = nullptr);
  ~RtcService();
  // The shared engine's UDP port (0 = WHEP viewers use webrtcbin).
  int shared_port() const { return shared_ ? shared_->port() : 0; }
  RtcService(const RtcService&) = delete;
  RtcService& operator=(const RtcService&) = delete;

  size_t session_count() const { return sessions_.size(); }

 private:
  void serve_endpoint(SoupServerMessage* msg, const char* path, GHashTable* query, OfferRole role,
                      const std::string& prefix);
  // The offer for app/stream once the play stream (if any) is live; query_for_hooks and eip come
  // from the request's query.
  void serve_offer(SoupServerMessage* msg, OfferRole role, const std::string& app, const std::string& stream,
                   const std::string& query_for_hooks, const std::string& eip);
  // Holds a WHEP offer for an on-demand stream until it is live; false: not held (answered).
  void await_then_serve(SoupServerMessage* msg, const std::string& app, const std::string& stream,
                        const std::string& query_for_hooks, const std::string& eip);
  void serve_session(SoupServerMessage* msg, const char* path);
  void on_tick();
  void on_keyframe_wanted(const std::string& key);
  void on_feed_lost(const std::string& key, const std::string& reason);
  std::string configured_candidate();

  server::ControlPorts ports_;
  server::ConfigSlice<config::RtcSection> rtc_config_;
  server::PathRoutes& api_;
  server::OutputControl* waits_;
  std::map<std::string, std::shared_ptr<RtcSession>> sessions_;  // by id
  SourceGuard tick_;
  std::string resolved_candidate_;                // [rtc] candidate after name/$VAR resolution
  std::string resolving_;                         // the setting being resolved (to notice a SIGHUP change)
  std::unique_ptr<engine::SharedEngine> shared_;  // [rtc] engine = shared: every WHEP viewer
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace estuary::webrtc
