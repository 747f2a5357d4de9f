// Owns: one WHIP publisher or WHEP viewer from POST to close: its client record in the supervisor
// (types "rtc-publish" / "rtc-play", kick closes it), admission (limits, IP rules, on_publish/on_play
// hooks → 403/503), begin_publish for WHIP (the RTMP rules: a live stream is busy → 409, a silent one
// is taken over), the shared feed for WHEP, the webrtcbin peer and its media or the shared engine's session (and
// for WHIP its ingest pipeline), the paused HTTP request
// answered once the answer has its candidates, keyframe requests, and the timeouts (not connected in
// time, peer silent). Control thread only; C callbacks reach it through weak references.
#pragma once

#include <libsoup/soup.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/gobject_ptr.h"
#include "server/control/ports.h"
#include "server/protocols/webrtc/engine/shared_engine.h"
#include "server/protocols/webrtc/rtc_feed.h"
#include "server/protocols/webrtc/rtc_ingest.h"
#include "server/protocols/webrtc/rtc_media.h"
#include "server/protocols/webrtc/rtc_peer.h"
#include "server/protocols/webrtc/sdp_offer.h"
#include "server/protocols/webrtc/sdp_text.h"

namespace estuary::webrtc {

struct SessionRequest {
  OfferRole role = OfferRole::publish;
  std::string id;
  std::string secret;  // part of the session URL, so knowing a client id is not enough to end it
  std::string app, stream;
  std::string query;  // for hooks ("token=...")
  std::string ip;
  std::string candidate_ip;  // extra host candidate for the answer ("" = none)
  OfferPlan plan;
};

class RtcSession : public std::enable_shared_from_this<RtcSession> {
 public:
  struct Env {
    server::ControlPorts* ports = nullptr;                        // the service's, which outlives its sessions
    std::function<void(const std::string& id)> forget;            // drop from the service's registry
    std::function<void(const std::string& key)> keyframe_wanted;  // a viewer of key asked for one
    engine::SharedEngine* shared = nullptr;                       // WHEP viewers go through it when set (the service's)
    bool shared_whip = false;  // WHIP publishers go through `shared` too (an ingest pipeline fed by the engine)
  };
  RtcSession(Env env, SessionRequest request, SoupServerMessage* msg);
  ~RtcSession();

  // Registers the client and starts admission; the HTTP request is answered later.
  void begin();
  // Ends the session (idempotent): pipeline down, client removed, feed released.
  void close(const std::string& reason);
  // Trickle ICE (PATCH). Error::code is the HTTP status.
  Status add_candidates(const TrickleFragment& fragment);
  // Timeouts and periodic keyframe requests; called about twice a second.
  void tick(int64_t now_us);
  void request_keyframe();

  const std::string& id() const { return req_.id; }
  const std::string& secret() const { return req_.secret; }
  std::string key() const { return req_.app + "/" + req_.stream; }
  OfferRole role() const { return req_.role; }
  bool closed() const { return closed_; }
  std::string location() const { return "/rtc/v1/session/" + req_.id + "/" + req_.secret; }
  std::vector<std::string> mids() const {
    std::vector<std::string> out;
    for (const auto& m : req_.plan.media) out.push_back(m.mid);
    return out;
  }

 private:
  void on_admitted();
  void start_publish();
  void start_play(const FeedInfo& feed);
  void start_shared(const FeedInfo& feed);
  void start_shared_publish();
  engine::ViewerSpec shared_spec();
  bool transport_connected() const;
  int64_t last_rx_us() const;
  void start_peer(const std::function<Status(RtcPeer&)>& build_media, int latency_ms);
  void on_answer(Result<std::string> answer);
  void on_connected();
  void respond(int status, const std::string& body, const std::string& content_type = "text/plain");
  void fail(int status, const std::string& reason);
  int64_t idle_ms() const;

  Env env_;
  SessionRequest req_;
  Ref<SoupServerMessage> msg_;  // the POST, paused until the answer (or an error) is ready
  std::vector<SignalGuard> msg_signals_;
  std::shared_ptr<RtcPeer> peer_;
  std::string shared_ufrag_;  // the shared engine's viewer ("" = none)
  std::shared_ptr<engine::ViewerCounters> shared_counters_;
  std::unique_ptr<EngineIngest> ingest_;  // a WHIP publisher on the shared engine
  WhipMedia whip_;
  WhepMedia whep_;
  std::shared_ptr<MediaCounters> counters_ = std::make_shared<MediaCounters>();
  bool registered_ = false;
  bool publishing_ = false;
  bool closed_ = false;
  int64_t created_us_ = 0;
  int64_t connected_us_ = 0;
  int64_t last_pli_us_ = 0;
};

}  // namespace estuary::webrtc
