// Owns: RtcSession (see rtc_session.h).
#include "server/protocols/webrtc/rtc_session.h"

#include <algorithm>
#include <cstdint>

#include "common/control_thread.h"
#include "common/log.h"
#include "server/control/http_routes.h"
#include "server/control/ingest_events.h"

namespace estuary::webrtc {
namespace {

constexpr int64_t kPliMinGapUs = 500 * 1000;  // keyframe requests to a publisher at most this often

const char* type_of(OfferRole role) { return role == OfferRole::publish ? "rtc-publish" : "rtc-play"; }

IceSettings ice_settings(const config::RtcSection& rc) {
  IceSettings ice;
  gchar** parts = g_strsplit_set(rc.interfaces.c_str(), " \t", -1);
  for (gchar** p = parts; *p; ++p)
    if (**p) ice.interfaces.emplace_back(*p);
  g_strfreev(parts);
  ice.port_min = rc.port_min;
  ice.port_max = rc.port_max;
  ice.ice_tcp = rc.ice_tcp;
  return ice;
}

// A shared-engine viewer's link for the API (the engine thread updates the counters).
api::RtcStatsView link_stats(const engine::ViewerCounters* c) {
  api::RtcStatsView v;
  if (!c) return v;
  constexpr auto r = std::memory_order_relaxed;
  const int64_t rtt = c->rtt_us.load(r);
  v.rtt_ms = rtt < 0 ? -1 : double(rtt) / 1000;
  v.fraction_lost = double(c->fraction_lost.load(r)) / 256;
  v.packets_lost = int64_t(c->packets_lost.load(r));
  v.packets_sent = int64_t(c->packets_sent.load(r));
  v.nacks = int64_t(c->nacks.load(r));
  v.retransmits = int64_t(c->retransmits.load(r));
  v.plis = int64_t(c->plis.load(r));
  v.firs = int64_t(c->firs.load(r));
  v.keyframes_from_ring = int64_t(c->keyframes_from_ring.load(r));
  v.remb_bps = int64_t(std::min<uint64_t>(c->remb_bps.load(r), INT64_MAX));
  v.twcc_feedback = int64_t(c->twcc.load(r));
  return v;
}

}  // namespace

RtcSession::RtcSession(Env env, SessionRequest request, SoupServerMessage* msg)
    : env_(std::move(env)),
      req_(std::move(request)),
      msg_(Ref<SoupServerMessage>::add_ref(msg)),
      created_us_(g_get_monotonic_time()) {}

RtcSession::~RtcSession() {
  msg_signals_.clear();
  if (msg_) {  // never leave a paused request behind
    soup_server_message_set_status(msg_.get(), 503, nullptr);
    soup_server_message_unpause(msg_.get());
  }
  whep_ = WhepMedia();
  whip_ = WhipMedia();
  if (ingest_ && !shared_ufrag_.empty() && env_.shared) env_.shared->remove_viewer(shared_ufrag_);
  ingest_.reset();
  peer_.reset();
}

void RtcSession::begin() {
  soup_server_message_pause(msg_.get());
  std::weak_ptr<RtcSession> weak = weak_from_this();
  // A client that gives up before the answer: its session goes with it.
  auto on_gone = +[](SoupServerMessage*, gpointer data) {
    std::weak_ptr<RtcSession> w = *static_cast<std::weak_ptr<RtcSession>*>(data);
    post_to_control([w]() {
      if (auto s = w.lock(); s && s->msg_) {
        s->msg_signals_.clear();
        s->msg_.reset();
        s->close("client went away before the answer");
      }
    });
  };
  for (const char* sig : {"disconnected", "finished"}) {
    gulong id = g_signal_connect_data(
        msg_.get(), sig, G_CALLBACK(on_gone), new std::weak_ptr<RtcSession>(weak),
        [](gpointer d, GClosure*) { delete static_cast<std::weak_ptr<RtcSession>*>(d); }, GConnectFlags(0));
    msg_signals_.emplace_back(msg_.get(), id);
  }

  server::Client c;
  c.id = req_.id;
  c.type = type_of(req_.role);
  c.publish = req_.role == OfferRole::publish;
  c.ip = req_.ip;
  c.app = req_.app;
  c.stream = req_.stream;
  c.query = req_.query;
  c.tc_url = "webrtc://" + req_.app;
  c.start_us = created_us_;
  c.kick = [weak]() {
    if (auto s = weak.lock()) s->close("kicked");
  };
  auto counters = counters_;
  c.bytes_sent = [counters, weak]() -> uint64_t {
    uint64_t n = counters->bytes_sent.load(std::memory_order_relaxed);
    if (auto s = weak.lock(); s && s->shared_counters_) n += s->shared_counters_->bytes_sent.load();
    return n;
  };
  c.bytes_received = [weak]() -> uint64_t {
    auto s = weak.lock();
    if (s && s->shared_counters_) return s->shared_counters_->bytes_received.load();
    return s && s->peer_ ? s->peer_->bytes_received() : 0;
  };
  if (env_.shared && (req_.role == OfferRole::play || env_.shared_whip))
    c.rtc_stats = [weak]() {
      auto s = weak.lock();
      return link_stats(s ? s->shared_counters_.get() : nullptr);
    };
  env_.ports->clients.add_client(std::move(c));
  registered_ = true;
  const auto action =
      req_.role == OfferRole::publish ? server::Admission::Action::publish : server::Admission::Action::play;
  env_.ports->admission.admit(req_.id, action, [weak](const server::Verdict& v) {
    auto s = weak.lock();
    if (!s || s->closed_) return;
    if (!v.allowed) return s->fail(v.http_status, "refused: " + v.reason);
    s->on_admitted();
  });
}

void RtcSession::on_admitted() {
  if (req_.role == OfferRole::publish) return start_publish();
  // Refuse what a feed cannot carry before starting one (422 with the reason).
  std::string audio_chain;
  Result<FeedInfo> plan = plan_feed(key(), env_.ports->settings.config(), &audio_chain);
  if (!plan) return fail(server::http_status_for(plan.error(), 503), plan.error().message);
  std::weak_ptr<RtcSession> weak = weak_from_this();
  const FeedInfo info = plan.value();
  // The feed is the stream's "rtc" output: the supervisor starts it with the first viewer and
  // lets it linger after the last one leaves (this client's removal tells it).
  Status st = env_.ports->play.begin_feed(req_.id, kRtcFeedFormat, [weak, info](Result<std::string> bus_stream) {
    auto s = weak.lock();
    if (!s || s->closed_) return;
    if (!bus_stream) return s->fail(server::http_status_for(bus_stream.error(), 503), bus_stream.error().message);
    FeedInfo feed = info;
    feed.bus_name = bus_stream.value();
    s->start_play(feed);
  });
  if (!st) return fail(server::http_status_for(st.error(), 503), st.error().message);
}

void RtcSession::start_publish() {
  std::weak_ptr<RtcSession> weak = weak_from_this();
  Status st = env_.ports->publish.begin_publish(req_.id, [weak]() -> int64_t {
    auto s = weak.lock();
    return s ? s->idle_ms() : 0;
  });
  if (!st) return fail(server::http_status_for(st.error(), 409), st.error().message);
  publishing_ = true;
  if (env_.shared && env_.shared_whip) return start_shared_publish();
  const auto& bus = *env_.ports->slice(&config::Config::bus);
  start_peer(
      [this, &bus](RtcPeer& peer) -> Status {
        auto media = build_whip_media(peer.pipeline(), peer.webrtcbin(), req_.plan, key(),
                                      uint64_t(bus.gop_cache_max_kb) * 1024);
        if (!media) return media.error();
        whip_ = std::move(*media);
        return ok_status();
      },
      100);
}

void RtcSession::start_play(const FeedInfo& feed) {
  if (rtc_feed_has_bframes(key()))
    return fail(422, "stream " + key() +
                         " has B-frames, which WebRTC cannot carry; publish without B-frames "
                         "(x264: -bf 0 or -tune zerolatency; OBS: profile baseline or main without B-frames)");
  if (env_.shared) return start_shared(feed);
  if (feed.hevc)
    return fail(422, "stream " + key() + " is H.265, which only [rtc] engine = shared sends to WebRTC viewers");
  const auto& bus = *env_.ports->slice(&config::Config::bus);
  std::weak_ptr<RtcSession> weak = weak_from_this();
  const std::string k = key();
  auto wanted = env_.keyframe_wanted;
  auto on_pli = [wanted, k]() {
    post_to_control([wanted, k]() {
      if (wanted) wanted(k);
    });
  };
  start_peer(
      [this, feed, &bus, on_pli](RtcPeer& peer) -> Status {
        auto media = build_whep_media(peer.pipeline(), peer.webrtcbin(), req_.plan, feed.bus_name,
                                      uint64_t(bus.subscriber_queue_ms) * 1000000ull, counters_, on_pli);
        if (!media) return media.error();
        whep_ = std::move(*media);
        return ok_status();
      },
      200);
}

engine::ViewerSpec RtcSession::shared_spec() {
  std::weak_ptr<RtcSession> weak = weak_from_this();
  engine::ViewerSpec spec;
  spec.label = req_.id;
  spec.key = key();
  spec.plan = req_.plan;
  spec.offer_sdp = req_.plan.filtered_sdp;
  spec.on_connected = [weak]() {
    post_to_control([weak]() {
      if (auto s = weak.lock()) s->on_connected();
    });
  };
  spec.on_failed = [weak](const std::string& reason) {
    post_to_control([weak, reason]() {
      if (auto s = weak.lock()) s->close(reason);
    });
  };
  auto wanted = env_.keyframe_wanted;
  const std::string k = key();
  spec.on_keyframe_request = [wanted, k]() {
    post_to_control([wanted, k]() {
      if (wanted) wanted(k);
    });
  };
  return spec;
}

void RtcSession::start_shared(const FeedInfo& feed) {
  engine::ViewerSpec spec = shared_spec();
  spec.feed = feed.bus_name;
  auto viewer = env_.shared->add_viewer(std::move(spec));
  if (!viewer) return fail(server::http_status_for(viewer.error(), 500), viewer.error().message);
  shared_ufrag_ = viewer->ufrag;
  shared_counters_ = viewer->counters;
  on_answer(viewer->answer_sdp);
}

// WHIP on the shared engine: the ingest pipeline first (its track count is known before media
// arrives), then the engine session whose RTP feeds it; the pipeline's feedback (NACK, PLI) goes to
// the engine's outbox from streaming threads, addressed by the session's ufrag.
void RtcSession::start_shared_publish() {
  const auto& bus = *env_.ports->slice(&config::Config::bus);
  auto target = std::make_shared<std::string>();  // the engine session's ufrag, set before the pipeline starts
  engine::SharedEngine* shared = env_.shared;     // outlives every session (the service closes them first)
  IngestFeedback fb;
  fb.keyframe = [shared, target]() { shared->request_keyframe(*target); };
  fb.resend = [shared, target](uint32_t ssrc, uint16_t seq) { shared->request_retransmission(*target, ssrc, seq); };
  auto ingest =
      EngineIngest::create(req_.id, req_.plan, key(), uint64_t(bus.gop_cache_max_kb) * 1024, 150, std::move(fb));
  if (!ingest) return fail(500, ingest.error().message);
  ingest_ = std::move(*ingest);
  std::weak_ptr<RtcSession> weak = weak_from_this();
  std::weak_ptr<bool> token(std::shared_ptr<bool>(shared_from_this(), &closed_));
  ingest_->pipeline().set_events(
      server::ingest_events(env_.ports->publish, req_.id, token, [weak](const std::string& reason) {
        if (auto s = weak.lock()) s->close(reason);
      }));
  engine::ViewerSpec spec = shared_spec();
  spec.publisher = true;
  spec.on_rtp = ingest_->input();
  auto session = env_.shared->add_viewer(std::move(spec));
  if (!session) return fail(server::http_status_for(session.error(), 500), session.error().message);
  shared_ufrag_ = session->ufrag;
  *target = session->ufrag;
  shared_counters_ = session->counters;
  Status st = ingest_->start();
  if (!st) return fail(500, st.error().message);
  on_answer(session->answer_sdp);
}

bool RtcSession::transport_connected() const {
  if (shared_counters_) return shared_counters_->connected.load() && connected_us_ != 0;
  return peer_ && peer_->connected();
}

int64_t RtcSession::last_rx_us() const {
  if (shared_counters_) return shared_counters_->last_rx_us.load(std::memory_order_relaxed);
  return peer_ ? peer_->last_rx_us() : 0;
}

void RtcSession::start_peer(const std::function<Status(RtcPeer&)>& build_media, int latency_ms) {
  const auto& rc = *env_.ports->slice(&config::Config::rtc);
  auto created = RtcPeer::create(req_.id, ice_settings(rc), latency_ms);
  if (!created) return fail(server::http_status_for(created.error(), 400), created.error().message);
  peer_ = std::move(*created);
  Status st = build_media(*peer_);
  if (!st) return fail(server::http_status_for(st.error(), 500), st.error().message);
  std::weak_ptr<RtcSession> weak = weak_from_this();
  RtcPeer::Events ev;
  ev.on_answer = [weak](Result<std::string> answer) {
    if (auto s = weak.lock()) s->on_answer(std::move(answer));
  };
  ev.on_connected = [weak]() {
    if (auto s = weak.lock()) s->on_connected();
  };
  ev.on_failed = [weak](const std::string& reason) {
    if (auto s = weak.lock()) s->msg_ ? s->fail(500, reason) : s->close(reason);
  };
  if (req_.role == OfferRole::publish) {
    // The bus sink's "stream ready" message makes the stream live for every output.
    std::weak_ptr<bool> token(std::shared_ptr<bool>(shared_from_this(), &closed_));
    auto ingest = server::ingest_events(env_.ports->publish, req_.id, token, [weak](const std::string& reason) {
      if (auto s = weak.lock()) s->close(reason);
    });
    ev.on_element_message = ingest.on_element_message;
  }
  peer_->set_events(std::move(ev));
  st = peer_->start();
  if (!st) return fail(500, st.error().message);
  peer_->answer(req_.plan.filtered_sdp, rc.gather_timeout_ms);
}

void RtcSession::on_answer(Result<std::string> answer) {
  if (closed_) return;
  if (!answer) return fail(server::http_status_for(answer.error(), 500), answer.error().message);
  if (req_.role == OfferRole::play && rtc_feed_has_bframes(key()))
    return fail(422, "stream " + key() + " has B-frames, which WebRTC cannot carry; publish without B-frames");
  std::string sdp = add_candidate_address(*answer, req_.candidate_ip);
  log_info(key(), req_.id, "rtc-answer",
           std::string(req_.role == OfferRole::publish ? "WHIP" : "WHEP") + " answered with " +
               std::to_string(count_candidates(sdp)) + " candidate(s)" +
               (req_.plan.note.empty() ? "" : "; " + req_.plan.note));
  respond(201, sdp, "application/sdp");
}

void RtcSession::on_connected() {
  if (closed_) return;
  connected_us_ = g_get_monotonic_time();
  log_info(key(), req_.id, "rtc-connected",
           std::string("ICE and DTLS connected after ") + std::to_string((connected_us_ - created_us_) / 1000) + " ms");
  if (req_.role == OfferRole::play) {
    start_whep_media(whep_);  // the GOP cache's keyframe goes out first
  } else {
    request_keyframe();
  }
}

void RtcSession::request_keyframe() {
  if (req_.role != OfferRole::publish || !transport_connected()) return;
  const int64_t now = g_get_monotonic_time();
  if (now - last_pli_us_ < kPliMinGapUs) return;
  last_pli_us_ = now;
  if (ingest_)
    env_.shared->request_keyframe(shared_ufrag_);
  else
    webrtc::request_keyframe(whip_);
}

void RtcSession::tick(int64_t now_us) {
  if (closed_) return;
  const auto& rc = *env_.ports->slice(&config::Config::rtc);
  const int64_t timeout_us = int64_t(rc.session_timeout_ms) * 1000;
  if (!transport_connected()) {
    if (now_us - created_us_ > timeout_us) {
      // On the shared engine, how far the peer got (which side was slow): bytes from it (STUN, DTLS) and to it.
      std::string seen;
      if (shared_counters_)
        seen = " (" + std::to_string(shared_counters_->bytes_received.load()) + " bytes from the peer, " +
               std::to_string(shared_counters_->bytes_sent.load()) + " to it)";
      close("not connected (ICE/DTLS) within " + std::to_string(rc.session_timeout_ms) + " ms" + seen);
    }
    return;
  }
  const int64_t heard = std::max(last_rx_us(), connected_us_);
  if (now_us - heard > timeout_us) {
    close("peer silent for " + std::to_string((now_us - heard) / 1000) + " ms (vanished without DELETE)");
    return;
  }
  if (req_.role == OfferRole::play && rtc_feed_has_bframes(key())) {
    close("the stream has B-frames, which WebRTC cannot carry");
    return;
  }
  if (req_.role == OfferRole::publish && rc.pli_interval_ms > 0 &&
      now_us - last_pli_us_ > int64_t(rc.pli_interval_ms) * 1000)
    request_keyframe();
}

int64_t RtcSession::idle_ms() const {
  int64_t since = std::max(created_us_, last_rx_us());
  return (g_get_monotonic_time() - since) / 1000;
}

Status RtcSession::add_candidates(const TrickleFragment& fragment) {
  if (!shared_ufrag_.empty()) {
    // ICE-lite: the viewer's checks tell the engine its address; candidates are checked, not used.
    if (!fragment.ice_ufrag.empty() && fragment.ice_ufrag != req_.plan.ice_ufrag)
      return Error{"ICE restart is not supported", ErrorReason::unprocessable, "webrtc"};
    for (const auto& c : fragment.candidates)
      if (c.mline >= int(req_.plan.media.size()))
        return Error{"candidate for an unknown m-line", ErrorReason::unprocessable, "webrtc"};
    return ok_status();
  }
  if (!peer_) return Error{"the session is not negotiated yet", ErrorReason::conflict, "webrtc"};
  if (!fragment.ice_ufrag.empty() && fragment.ice_ufrag != req_.plan.ice_ufrag)
    return Error{"ICE restart is not supported", ErrorReason::unprocessable, "webrtc"};
  for (const auto& c : fragment.candidates) {
    if (c.mline >= int(req_.plan.media.size()))
      return Error{"candidate for an unknown m-line", ErrorReason::unprocessable, "webrtc"};
    Status st = peer_->add_candidate(c.mline, c.candidate);
    if (!st) return st;
  }
  return ok_status();
}

void RtcSession::respond(int status, const std::string& body, const std::string& content_type) {
  if (!msg_) return;
  msg_signals_.clear();
  SoupServerMessage* m = msg_.get();
  soup_server_message_set_status(m, guint(status), nullptr);
  soup_server_message_set_response(m, content_type.c_str(), SOUP_MEMORY_COPY, body.data(), body.size());
  SoupMessageHeaders* h = soup_server_message_get_response_headers(m);
  server::set_cors_headers(m, false, "POST, OPTIONS");
  soup_message_headers_replace(h, "Access-Control-Expose-Headers", "Location, ETag, Link");
  soup_message_headers_replace(h, "Cache-Control", "no-store");
  if (status == 201) {
    soup_message_headers_replace(h, "Location", location().c_str());
    soup_message_headers_replace(h, "ETag", ("\"" + req_.plan.ice_ufrag + "\"").c_str());
  }
  soup_server_message_unpause(m);
  msg_.reset();
}

void RtcSession::fail(int status, const std::string& reason) {
  if (closed_) return;
  log_warn(key(), req_.id, "rtc-refused", std::to_string(status) + " " + reason);
  respond(status, reason + "\n");
  close(reason);
}

void RtcSession::close(const std::string& reason) {
  if (closed_) return;
  auto self = shared_from_this();  // the registry may hold the last reference
  closed_ = true;
  if (msg_) respond(503, "session closed: " + reason + "\n");
  whep_ = WhepMedia();
  whip_ = WhipMedia();
  if (ingest_ && !shared_ufrag_.empty() && env_.shared) {  // no more RTP into the pipeline, then down
    env_.shared->remove_viewer(shared_ufrag_);
    shared_ufrag_.clear();
  }
  if (ingest_) ingest_->stop();
  if (peer_) peer_->stop();  // the bus sink unpublishes before the supervisor forgets the stream
  if (registered_) {
    registered_ = false;
    env_.ports->clients.remove_client(req_.id, reason);
  } else {
    log_info(key(), req_.id, "rtc-close", reason);
  }
  peer_.reset();
  ingest_.reset();
  if (!shared_ufrag_.empty() && env_.shared) env_.shared->remove_viewer(shared_ufrag_);
  shared_ufrag_.clear();
  if (env_.forget) env_.forget(req_.id);
}

}  // namespace estuary::webrtc
