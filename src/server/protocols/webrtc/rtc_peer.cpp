// Owns: RtcPeer (see rtc_peer.h).
#include "server/protocols/webrtc/rtc_peer.h"

#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include <cstring>

#include "common/control_thread.h"
#include "common/log.h"
#include "server/protocols/webrtc/sdp_text.h"

namespace estuary::webrtc {
namespace {

using estuary::post_to_control;
using PromiseFn = std::function<void(GstPromise*)>;

// A promise whose reply handler runs on webrtcbin's thread; fn must only read the reply and post.
GstPromise* make_promise(PromiseFn fn) {
  return gst_promise_new_with_change_func([](GstPromise* p, gpointer d) { (*static_cast<PromiseFn*>(d))(p); },
                                          new PromiseFn(std::move(fn)),
                                          [](gpointer d) { delete static_cast<PromiseFn*>(d); });
}

std::string promise_error(GstPromise* p) {
  if (gst_promise_wait(p) != GST_PROMISE_RESULT_REPLIED) return "no reply";
  const GstStructure* reply = gst_promise_get_reply(p);
  if (!reply || !gst_structure_has_field(reply, "error")) return "";
  GError* err = nullptr;
  gst_structure_get(reply, "error", G_TYPE_ERROR, &err, nullptr);
  std::string msg = err ? err->message : "error";
  if (err) g_error_free(err);
  return msg.empty() ? "error" : msg;
}

std::string description_text(GstWebRTCSessionDescription* desc) {
  if (!desc || !desc->sdp) return "";
  gchar* text = gst_sdp_message_as_text(desc->sdp);
  std::string out = text ? text : "";
  g_free(text);
  return out;
}

GstWebRTCSessionDescription* description_from(const std::string& text, GstWebRTCSDPType type) {
  GstSDPMessage* sdp = nullptr;
  if (gst_sdp_message_new_from_text(text.c_str(), &sdp) != GST_SDP_OK || !sdp) return nullptr;
  return gst_webrtc_session_description_new(type, sdp);  // takes sdp
}

using WeakPeer = std::weak_ptr<RtcPeer>;

void delete_weak(gpointer data, GClosure*) { delete static_cast<WeakPeer*>(data); }

bool has_property(gpointer object, const char* name) {
  return object && g_object_class_find_property(G_OBJECT_GET_CLASS(object), name) != nullptr;
}

}  // namespace

Result<std::shared_ptr<RtcPeer>> RtcPeer::create(std::string label, const IceSettings& ice, int latency_ms) {
  GstElement* webrtc = gst_element_factory_make("webrtcbin", "rtc");
  if (!webrtc)
    return Error{"webrtcbin is not available (install gstreamer1.0-plugins-bad and gstreamer1.0-nice)",
                 ErrorReason::internal, "webrtc"};
  Ref<GstElement> webrtc_ref = Ref<GstElement>::add_ref(webrtc);  // the pipeline takes the floating one
  g_object_set(webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, "latency", guint(latency_ms), nullptr);
  GstObject* agent = nullptr;
  g_object_get(webrtc, "ice-agent", &agent, nullptr);
  if (agent) {
    if (ice.port_min > 0 && has_property(agent, "min-rtp-port"))
      g_object_set(agent, "min-rtp-port", guint(ice.port_min), "max-rtp-port", guint(ice.port_max), nullptr);
    if (has_property(agent, "ice-tcp")) g_object_set(agent, "ice-tcp", gboolean(ice.ice_tcp), nullptr);
    for (const auto& ip : ice.interfaces) {
      gboolean ok = FALSE;
      g_signal_emit_by_name(agent, "add-local-ip-address", ip.c_str(), &ok);
      if (!ok) log_warn("", label, "rtc-ice", "cannot gather on interface " + ip);
    }
    // libnice's UPnP would try to map ports on the LAN's router: never wanted here.
    if (has_property(agent, "agent")) {
      GObject* nice = nullptr;
      g_object_get(agent, "agent", &nice, nullptr);
      if (nice && has_property(nice, "upnp")) g_object_set(nice, "upnp", FALSE, nullptr);
      if (nice) g_object_unref(nice);
    }
    gst_object_unref(agent);
  }
  GstElement* pipe = gst_pipeline_new(nullptr);
  gst_bin_add(GST_BIN(pipe), webrtc);
  auto managed = pipelines::ManagedPipeline::adopt("rtc:" + label, pipe);
  std::shared_ptr<RtcPeer> peer(new RtcPeer(std::move(label), std::move(managed), std::move(webrtc_ref)));
  peer->connect_signals();
  return peer;
}

RtcPeer::RtcPeer(std::string label, std::unique_ptr<pipelines::ManagedPipeline> pipeline, Ref<GstElement> webrtc)
    : label_(std::move(label)), pipeline_(std::move(pipeline)), webrtc_(std::move(webrtc)) {}

RtcPeer::~RtcPeer() { stop(); }

GstElement* RtcPeer::pipeline() const { return pipeline_ ? pipeline_->pipeline() : nullptr; }

void RtcPeer::connect_signals() {
  WeakPeer weak = weak_from_this();
  auto on_notify = +[](GObject*, GParamSpec* pspec, gpointer data) {
    WeakPeer w = *static_cast<WeakPeer*>(data);
    const bool gathering = std::strcmp(pspec->name, "ice-gathering-state") == 0;
    post_to_control([w, gathering]() {
      if (auto p = w.lock()) gathering ? p->on_gathering_changed() : p->on_state_changed();
    });
  };
  for (const char* sig : {"notify::ice-gathering-state", "notify::connection-state", "notify::ice-connection-state"}) {
    gulong id = g_signal_connect_data(webrtc_.get(), sig, G_CALLBACK(on_notify), new WeakPeer(weak), delete_weak,
                                      GConnectFlags(0));
    signals_.emplace_back(webrtc_.get(), id);
  }
  // Every packet from the peer passes a nicesrc inside webrtcbin: stamp it (liveness of the peer).
  auto on_element = +[](GstBin*, GstBin*, GstElement* element, gpointer data) {
    GstElementFactory* f = gst_element_get_factory(element);
    if (!f || std::strcmp(GST_OBJECT_NAME(f), "nicesrc") != 0) return;
    auto counters = *static_cast<std::shared_ptr<Counters>*>(data);
    GstPad* pad = gst_element_get_static_pad(element, "src");
    if (!pad) return;
    gst_pad_add_probe(
        pad, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
        [](GstPad*, GstPadProbeInfo* info, gpointer d) -> GstPadProbeReturn {
          auto* c = static_cast<Counters*>(static_cast<std::shared_ptr<Counters>*>(d)->get());
          uint64_t size = 0;
          if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER)
            size = gst_buffer_get_size(GST_PAD_PROBE_INFO_BUFFER(info));
          else
            size = gst_buffer_list_calculate_size(GST_PAD_PROBE_INFO_BUFFER_LIST(info));
          c->rx_bytes.fetch_add(size, std::memory_order_relaxed);
          c->last_rx_us.store(g_get_monotonic_time(), std::memory_order_relaxed);
          return GST_PAD_PROBE_OK;
        },
        new std::shared_ptr<Counters>(counters), [](gpointer d) { delete static_cast<std::shared_ptr<Counters>*>(d); });
    gst_object_unref(pad);
  };
  gulong id = g_signal_connect_data(
      pipeline(), "deep-element-added", G_CALLBACK(on_element), new std::shared_ptr<Counters>(counters_),
      [](gpointer d, GClosure*) { delete static_cast<std::shared_ptr<Counters>*>(d); }, GConnectFlags(0));
  signals_.emplace_back(pipeline(), id);

  pipelines::PipelineEvents ev;
  ev.on_error = [weak](const std::string& element, const std::string& message) {
    // The bus watch runs on the control thread, but the handler may destroy the peer: defer.
    post_to_control([weak, element, message]() {
      auto p = weak.lock();
      if (!p) return;
      if (p->answering_) p->fail_answer("WebRTC session failed: " + message, ErrorReason::internal);
      if (!p->failed_ && p->events_.on_failed) {
        p->failed_ = true;
        p->events_.on_failed("pipeline error in " + element + ": " + message);
      }
    });
  };
  ev.on_element_message = [weak](const GstStructure* s) {
    if (auto p = weak.lock(); p && p->events_.on_element_message) p->events_.on_element_message(s);
  };
  pipeline_->set_events(std::move(ev));
}

Status RtcPeer::start() { return pipeline_->start(); }

void RtcPeer::stop() {
  gather_timer_.reset();
  signals_.clear();
  if (pipeline_) pipeline_->stop();
}

void RtcPeer::answer(const std::string& offer_sdp, int gather_timeout_ms) {
  answering_ = true;
  GstWebRTCSessionDescription* offer = description_from(offer_sdp, GST_WEBRTC_SDP_TYPE_OFFER);
  if (!offer) return fail_answer("malformed SDP offer", ErrorReason::invalid);
  WeakPeer weak = weak_from_this();
  // Bounded wait for gathering: non-trickle clients need every candidate in the answer.
  GSource* t = g_timeout_source_new(guint(gather_timeout_ms));
  auto* box = new WeakPeer(weak);
  g_source_set_callback(
      t,
      [](gpointer d) -> gboolean {
        if (auto p = static_cast<WeakPeer*>(d)->lock()) {
          p->gather_timer_ = SourceGuard();  // finishing on its own
          if (p->answering_ && p->local_set_)
            p->finish_answer(true);
          else if (p->answering_)
            p->fail_answer("WebRTC negotiation did not complete in time", ErrorReason::internal);
        }
        return G_SOURCE_REMOVE;
      },
      box, [](gpointer d) { delete static_cast<WeakPeer*>(d); });
  g_source_attach(t, g_main_context_get_thread_default());
  gather_timer_ = SourceGuard(t);
  GstPromise* promise = make_promise([weak](GstPromise* p) {
    std::string err = promise_error(p);
    post_to_control([weak, err]() {
      if (auto peer = weak.lock()) peer->on_remote_set(err);
    });
  });
  g_signal_emit_by_name(webrtc_.get(), "set-remote-description", offer, promise);
  gst_promise_unref(promise);
  gst_webrtc_session_description_free(offer);
}

void RtcPeer::on_remote_set(const std::string& error) {
  if (!answering_) return;
  if (!error.empty()) return fail_answer("the offer was refused: " + error, ErrorReason::unprocessable);
  WeakPeer weak = weak_from_this();
  GstPromise* promise = make_promise([weak](GstPromise* p) {
    std::string err = promise_error(p);
    std::string sdp;
    if (err.empty()) {
      GstWebRTCSessionDescription* answer = nullptr;
      gst_structure_get(gst_promise_get_reply(p), "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, nullptr);
      sdp = description_text(answer);
      if (answer) gst_webrtc_session_description_free(answer);
      if (sdp.empty()) err = "no answer";
    }
    post_to_control([weak, sdp, err]() {
      if (auto peer = weak.lock()) peer->on_answer_created(sdp, err);
    });
  });
  g_signal_emit_by_name(webrtc_.get(), "create-answer", nullptr, promise);
  gst_promise_unref(promise);
}

void RtcPeer::on_answer_created(const std::string& sdp, const std::string& error) {
  if (!answering_) return;
  if (!error.empty()) return fail_answer("cannot answer the offer: " + error, ErrorReason::unprocessable);
  GstWebRTCSessionDescription* answer = description_from(sdp, GST_WEBRTC_SDP_TYPE_ANSWER);
  if (!answer) return fail_answer("webrtcbin produced an unreadable answer", ErrorReason::internal);
  WeakPeer weak = weak_from_this();
  GstPromise* promise = make_promise([weak](GstPromise* p) {
    std::string err = promise_error(p);
    post_to_control([weak, err]() {
      if (auto peer = weak.lock()) peer->on_local_set(err);
    });
  });
  g_signal_emit_by_name(webrtc_.get(), "set-local-description", answer, promise);
  gst_promise_unref(promise);
  gst_webrtc_session_description_free(answer);
}

void RtcPeer::on_local_set(const std::string& error) {
  if (!answering_) return;
  if (!error.empty()) return fail_answer("cannot apply the answer: " + error, ErrorReason::internal);
  local_set_ = true;
  on_gathering_changed();
}

void RtcPeer::on_gathering_changed() {
  if (!answering_ || !local_set_) return;
  GstWebRTCICEGatheringState state = GST_WEBRTC_ICE_GATHERING_STATE_NEW;
  g_object_get(webrtc_.get(), "ice-gathering-state", &state, nullptr);
  if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE) finish_answer(false);
}

void RtcPeer::finish_answer(bool timed_out) {
  GstWebRTCSessionDescription* local = nullptr;
  g_object_get(webrtc_.get(), "local-description", &local, nullptr);
  std::string sdp = description_text(local);
  if (local) gst_webrtc_session_description_free(local);
  if (sdp.empty()) return fail_answer("no local description", ErrorReason::internal);
  if (count_candidates(sdp) == 0)
    return fail_answer("no ICE candidate could be gathered (check [rtc] interfaces and the port range)",
                       ErrorReason::unavailable);
  if (timed_out) log_info("", label_, "rtc-gathering", "answering with the candidates gathered so far");
  answering_ = false;
  gather_timer_.reset();
  if (events_.on_answer) events_.on_answer(std::move(sdp));
}

void RtcPeer::fail_answer(const std::string& message, ErrorReason reason) {
  if (!answering_) return;
  answering_ = false;
  gather_timer_.reset();
  if (events_.on_answer) events_.on_answer(Error{message, reason, "webrtc"});
}

void RtcPeer::on_state_changed() {
  if (failed_) return;
  GstWebRTCPeerConnectionState pc = GST_WEBRTC_PEER_CONNECTION_STATE_NEW;
  GstWebRTCICEConnectionState ice = GST_WEBRTC_ICE_CONNECTION_STATE_NEW;
  g_object_get(webrtc_.get(), "connection-state", &pc, "ice-connection-state", &ice, nullptr);
  if (pc == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED && !connected_) {
    connected_ = true;
    if (events_.on_connected) events_.on_connected();
    return;
  }
  const char* why = nullptr;
  if (pc == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED) why = "connection failed (ICE or DTLS)";
  if (pc == GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED && connected_) why = "connection closed";
  if (ice == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED) why = "ICE failed";
  if (why && events_.on_failed) {
    failed_ = true;
    events_.on_failed(why);
  }
}

Status RtcPeer::add_candidate(int mline, const std::string& candidate) {
  if (mline < 0) return Error{"bad m-line", ErrorReason::unprocessable, "webrtc"};
  g_signal_emit_by_name(webrtc_.get(), "add-ice-candidate", guint(mline), candidate.c_str());
  return ok_status();
}

}  // namespace estuary::webrtc
