// Owns: the WHIP/WHEP test client (see rtc_client.h).
#include "rtc_client.h"
#include <algorithm>

#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <libsoup/soup.h>

#include <chrono>
#include <cstring>

namespace estuary::rtcclient {
namespace {

std::string description_text(GstWebRTCSessionDescription* desc) {
  if (!desc || !desc->sdp) return "";
  gchar* t = gst_sdp_message_as_text(desc->sdp);
  std::string out = t ? t : "";
  g_free(t);
  return out;
}

int64_t now_us() { return g_get_monotonic_time(); }

}  // namespace

HttpResult http_post(const std::string& url, const std::string& body, const std::string& content_type,
                     const std::string& bearer) {
  HttpResult r;
  SoupSession* session = soup_session_new_with_options("timeout", 10, nullptr);
  SoupMessage* msg = soup_message_new("POST", url.c_str());
  if (!msg) {
    g_object_unref(session);
    return r;
  }
  GBytes* req = g_bytes_new(body.data(), body.size());
  soup_message_set_request_body_from_bytes(msg, content_type.empty() ? nullptr : content_type.c_str(), req);
  g_bytes_unref(req);
  if (!bearer.empty())
    soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization", ("Bearer " + bearer).c_str());
  GError* err = nullptr;
  GBytes* bytes = soup_session_send_and_read(session, msg, nullptr, &err);
  r.status = err ? 0 : int(soup_message_get_status(msg));
  g_clear_error(&err);
  if (bytes) {
    gsize n = 0;
    const char* d = static_cast<const char*>(g_bytes_get_data(bytes, &n));
    r.body.assign(d ? d : "", n);
    g_bytes_unref(bytes);
  }
  SoupMessageHeaders* h = soup_message_get_response_headers(msg);
  if (const char* loc = soup_message_headers_get_one(h, "Location")) {
    GUri* base = g_uri_parse(url.c_str(), G_URI_FLAGS_NONE, nullptr);
    GUri* abs = base ? g_uri_parse_relative(base, loc, G_URI_FLAGS_NONE, nullptr) : nullptr;
    if (abs) {
      gchar* s = g_uri_to_string(abs);
      r.location = s;
      g_free(s);
      g_uri_unref(abs);
    }
    if (base) g_uri_unref(base);
  }
  if (const char* ct = soup_message_headers_get_content_type(h, nullptr)) r.content_type = ct;
  g_object_unref(msg);
  g_object_unref(session);
  return r;
}

int http_send(const std::string& method, const std::string& url, const std::string& body,
              const std::string& content_type) {
  SoupSession* session = soup_session_new_with_options("timeout", 10, nullptr);
  SoupMessage* msg = soup_message_new(method.c_str(), url.c_str());
  if (!msg) {
    g_object_unref(session);
    return 0;
  }
  if (!body.empty() || !content_type.empty()) {
    GBytes* req = g_bytes_new(body.data(), body.size());
    soup_message_set_request_body_from_bytes(msg, content_type.empty() ? nullptr : content_type.c_str(), req);
    g_bytes_unref(req);
  }
  GError* err = nullptr;
  GBytes* bytes = soup_session_send_and_read(session, msg, nullptr, &err);
  int status = err ? 0 : int(soup_message_get_status(msg));
  if (status >= 400 && bytes) {  // the reason, for test logs
    gsize n = 0;
    const char* text = static_cast<const char*>(g_bytes_get_data(bytes, &n));
    g_printerr("%s %s -> %d: %.*s\n", method.c_str(), url.c_str(), status, int(std::min<gsize>(n, 300)), text);
  }
  g_clear_error(&err);
  if (bytes) g_bytes_unref(bytes);
  g_object_unref(msg);
  g_object_unref(session);
  return status;
}

Peer::Peer(PeerOptions options) : options_(std::move(options)) {}

Peer::~Peer() {
  close(false);
  if (pipeline_) gst_object_unref(pipeline_);
  if (webrtc_) gst_object_unref(webrtc_);
}

bool Peer::build(const std::string& launch) {
  GError* err = nullptr;
  pipeline_ = gst_parse_launch_full(launch.c_str(), nullptr, GST_PARSE_FLAG_FATAL_ERRORS, &err);
  if (err || !pipeline_) {
    error_ = err ? err->message : "cannot build pipeline";
    g_clear_error(&err);
    if (pipeline_) gst_object_unref(pipeline_);
    pipeline_ = nullptr;
    return false;
  }
  gst_object_ref_sink(pipeline_);
  if (!GST_IS_PIPELINE(pipeline_)) {  // a launch line of one element returns that element
    GstElement* bin = gst_pipeline_new(nullptr);
    gst_bin_add(GST_BIN(bin), pipeline_);
    gst_object_unref(pipeline_);
    pipeline_ = GST_ELEMENT(gst_object_ref_sink(bin));
  }
  webrtc_ = gst_bin_get_by_name(GST_BIN(pipeline_), "rtc");
  if (!webrtc_) {
    error_ = "no webrtcbin named rtc";
    return false;
  }
  g_object_set(webrtc_, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, "latency", guint(options_.latency_ms),
               nullptr);
  GstObject* agent = nullptr;
  g_object_get(webrtc_, "ice-agent", &agent, nullptr);
  if (agent) {
    if (!options_.local_ip.empty()) {
      gboolean ok = FALSE;
      g_signal_emit_by_name(agent, "add-local-ip-address", options_.local_ip.c_str(), &ok);
    }
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(agent), "agent")) {
      GObject* nice = nullptr;
      g_object_get(agent, "agent", &nice, nullptr);
      if (nice) {
        g_object_set(nice, "upnp", FALSE, nullptr);
        g_object_unref(nice);
      }
    }
    gst_object_unref(agent);
  }
  g_signal_connect(webrtc_, "on-negotiation-needed", G_CALLBACK(&Peer::on_negotiation_needed), this);
  g_signal_connect(webrtc_, "notify::ice-gathering-state", G_CALLBACK(&Peer::on_notify), this);
  g_signal_connect(webrtc_, "notify::connection-state", G_CALLBACK(&Peer::on_notify), this);
  g_signal_connect(webrtc_, "pad-added", G_CALLBACK(&Peer::on_pad_added), this);
  return true;
}

void Peer::on_negotiation_needed(GstElement*, gpointer self) {
  auto* p = static_cast<Peer*>(self);
  std::lock_guard<std::mutex> lock(p->mutex_);
  p->negotiation_needed_ = true;
  p->cond_.notify_all();
}

void Peer::on_notify(GObject*, GParamSpec*, gpointer self) {
  auto* p = static_cast<Peer*>(self);
  GstWebRTCPeerConnectionState state = GST_WEBRTC_PEER_CONNECTION_STATE_NEW;
  g_object_get(p->webrtc_, "connection-state", &state, nullptr);
  if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED) p->connected_ = true;
  std::lock_guard<std::mutex> lock(p->mutex_);
  p->cond_.notify_all();
}

void Peer::on_pad_added(GstElement*, GstPad* pad, gpointer self) {
  if (GST_PAD_DIRECTION(pad) == GST_PAD_SRC) static_cast<Peer*>(self)->on_pad(pad);
}

bool Peer::wait_for(const std::function<bool()>& done, int timeout_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  return cond_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&]() {
    lock.unlock();
    bool d = done();
    lock.lock();
    return d;
  });
}

int Peer::negotiate(const std::string& endpoint, const std::string& bearer) {
  if (!pipeline_) return 0;
  prepare();
  if (gst_element_set_state(pipeline_, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    error_ = "pipeline does not start";
    return 0;
  }
  if (!wait_for([this]() { return negotiation_needed_; }, options_.timeout_ms)) {
    error_ = "no negotiation-needed";
    return 0;
  }
  GstPromise* promise = gst_promise_new();
  g_signal_emit_by_name(webrtc_, "create-offer", nullptr, promise);
  gst_promise_wait(promise);
  GstWebRTCSessionDescription* offer = nullptr;
  const GstStructure* reply = gst_promise_get_reply(promise);
  if (reply) gst_structure_get(reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, nullptr);
  gst_promise_unref(promise);
  if (!offer) {
    error_ = "no offer";
    return 0;
  }
  promise = gst_promise_new();
  g_signal_emit_by_name(webrtc_, "set-local-description", offer, promise);
  gst_promise_wait(promise);
  gst_promise_unref(promise);
  gst_webrtc_session_description_free(offer);
  wait_for(
      [this]() {
        GstWebRTCICEGatheringState s = GST_WEBRTC_ICE_GATHERING_STATE_NEW;
        g_object_get(webrtc_, "ice-gathering-state", &s, nullptr);
        return s == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE;
      },
      options_.timeout_ms);
  GstWebRTCSessionDescription* local = nullptr;
  g_object_get(webrtc_, "local-description", &local, nullptr);
  offer_ = description_text(local);
  if (local) gst_webrtc_session_description_free(local);
  http_ = http_post(endpoint, offer_, "application/sdp", bearer);
  if (http_.status != 201) {
    error_ = "HTTP " + std::to_string(http_.status) + ": " + http_.body;
    return http_.status;
  }
  GstSDPMessage* sdp = nullptr;
  if (gst_sdp_message_new_from_text(http_.body.c_str(), &sdp) != GST_SDP_OK) {
    error_ = "unreadable answer";
    return 0;
  }
  GstWebRTCSessionDescription* answer = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
  promise = gst_promise_new();
  g_signal_emit_by_name(webrtc_, "set-remote-description", answer, promise);
  gst_promise_wait(promise);
  gst_promise_unref(promise);
  gst_webrtc_session_description_free(answer);
  return http_.status;
}

bool Peer::wait_connected(int timeout_ms) {
  return wait_for([this]() { return connected_.load(); }, timeout_ms);
}

void Peer::close(bool send_delete) {
  if (closed_) return;
  closed_ = true;
  if (send_delete && !http_.location.empty()) http_send("DELETE", http_.location);
  if (pipeline_) gst_element_set_state(pipeline_, GST_STATE_NULL);
}

WhipPublisher::WhipPublisher(PublisherOptions o) : Peer(o) {
  std::string launch = "webrtcbin name=rtc ";
  if (o.video)
    launch += "videotestsrc is-live=true pattern=ball ! video/x-raw,width=" + std::to_string(o.width) +
              ",height=" + std::to_string(o.height) + ",framerate=" + std::to_string(o.fps) +
              "/1 ! videoconvert ! x264enc name=venc tune=zerolatency speed-preset=ultrafast bitrate=" +
              std::to_string(o.bitrate_kbps) + " key-int-max=" + std::to_string(o.key_int) +
              " ! video/x-h264,profile=constrained-baseline ! rtph264pay name=vpay pt=102 config-interval=-1 "
              "aggregate-mode=zero-latency ! application/x-rtp,media=video,encoding-name=H264,payload=102 ! rtc. ";
  if (o.audio)
    launch +=
        "audiotestsrc is-live=true wave=sine freq=440 ! audioconvert ! audioresample ! opusenc ! rtpopuspay pt=111 ! "
        "application/x-rtp,media=audio,encoding-name=OPUS,payload=111 ! rtc. ";
  if (!build(launch)) return;
  if (o.video) {
    GstElement* enc = gst_bin_get_by_name(GST_BIN(pipeline_), "venc");
    GstPad* pad = gst_element_get_static_pad(enc, "src");
    gst_pad_add_probe(
        pad, GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad*, GstPadProbeInfo* info, gpointer d) -> GstPadProbeReturn {
          if (!GST_BUFFER_FLAG_IS_SET(GST_PAD_PROBE_INFO_BUFFER(info), GST_BUFFER_FLAG_DELTA_UNIT))
            static_cast<std::shared_ptr<std::atomic<uint64_t>>*>(d)->get()->fetch_add(1);
          return GST_PAD_PROBE_OK;
        },
        new std::shared_ptr<std::atomic<uint64_t>>(keyframes_),
        [](gpointer d) { delete static_cast<std::shared_ptr<std::atomic<uint64_t>>*>(d); });
    gst_object_unref(pad);
    gst_object_unref(enc);
  }
  if (o.video && o.loss > 0) {  // loss on the way out: dropped after sequence numbers are given
    GstElement* pay = gst_bin_get_by_name(GST_BIN(pipeline_), "vpay");
    GstPad* pad = gst_element_get_static_pad(pay, "src");
    gst_pad_add_probe(
        pad, GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad*, GstPadProbeInfo*, gpointer d) -> GstPadProbeReturn {
          return g_random_double() < *static_cast<double*>(d) ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
        },
        new double(o.loss), [](gpointer d) { delete static_cast<double*>(d); });
    gst_object_unref(pad);
    gst_object_unref(pay);
  }
}

WhepViewer::WhepViewer(ViewerOptions o) : Peer(o), vopts_(std::move(o)) {
  stats_->on_access_unit = vopts_.on_access_unit;
  build("webrtcbin name=rtc");
}

void WhepViewer::prepare() {
  if (vopts_.video) {
    std::string caps =
        "application/x-rtp,media=video,encoding-name=H264,clock-rate=90000,payload=" + std::to_string(vopts_.video_pt) +
        ",packetization-mode=(string)1,profile-level-id=(string)" + vopts_.profile_level_id;
    if (vopts_.level_asymmetry) caps += ",level-asymmetry-allowed=(string)1";
    GstCaps* c = gst_caps_from_string(caps.c_str());
    GstWebRTCRTPTransceiver* t = nullptr;
    g_signal_emit_by_name(webrtc_, "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, c, &t);
    gst_caps_unref(c);
    if (t) gst_object_unref(t);
  }
  if (vopts_.audio) {
    GstCaps* c = gst_caps_from_string(
        "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=111,encoding-params=(string)2");
    GstWebRTCRTPTransceiver* t = nullptr;
    g_signal_emit_by_name(webrtc_, "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, c, &t);
    gst_caps_unref(c);
    if (t) gst_object_unref(t);
  }
}

void WhepViewer::on_pad(GstPad* pad) {
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (!caps) return;
  const char* media = gst_structure_get_string(gst_caps_get_structure(caps, 0), "media");
  const bool video = media && std::strcmp(media, "video") == 0;
  gst_caps_unref(caps);
  std::string launch = video ? "rtph264depay ! video/x-h264,stream-format=byte-stream,alignment=au ! identity "
                               "name=au"
                             : "rtpopusdepay ! identity name=au";
  if (video && vopts_.decode) launch += " ! h264parse ! avdec_h264 ! identity name=frames";
  if (!video) launch += " ! opusdec";
  launch += " ! fakesink sync=false async=false";
  GError* err = nullptr;
  GstElement* bin = gst_parse_bin_from_description(launch.c_str(), TRUE, &err);
  if (!bin) {
    g_clear_error(&err);
    return;
  }
  gst_bin_add(GST_BIN(pipeline_), bin);
  gst_element_sync_state_with_parent(bin);
  GstPad* sink = gst_element_get_static_pad(bin, "sink");
  gst_pad_link(pad, sink);
  gst_object_unref(sink);
  auto add = [&](const char* name, GstPadProbeCallback cb) {
    GstElement* e = gst_bin_get_by_name(GST_BIN(bin), name);
    if (!e) return;
    GstPad* p = gst_element_get_static_pad(e, "src");
    gst_pad_add_probe(p, GST_PAD_PROBE_TYPE_BUFFER, cb, new std::shared_ptr<Stats>(stats_),
                      [](gpointer d) { delete static_cast<std::shared_ptr<Stats>*>(d); });
    gst_object_unref(p);
    gst_object_unref(e);
  };
  if (video) {
    add("au", [](GstPad*, GstPadProbeInfo* info, gpointer d) -> GstPadProbeReturn {
      Stats* s = static_cast<std::shared_ptr<Stats>*>(d)->get();
      GstBuffer* b = GST_PAD_PROBE_INFO_BUFFER(info);
      const bool key = !GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DELTA_UNIT);
      const int64_t t = now_us();
      if (s->video_units.fetch_add(1) == 0) {
        s->first_key = key ? 1 : 0;
        s->first_unit_us = t;
      }
      const gsize size = gst_buffer_get_size(b);
      s->video_bytes.fetch_add(size);
      if (s->on_access_unit && size >= 32) {
        uint8_t tail[32];
        gst_buffer_extract(b, size - 32, tail, 32);
        s->on_access_unit(tail, 32, t, key);
      }
      return GST_PAD_PROBE_OK;
    });
    add("frames", [](GstPad*, GstPadProbeInfo*, gpointer d) -> GstPadProbeReturn {
      static_cast<std::shared_ptr<Stats>*>(d)->get()->video_frames.fetch_add(1);
      return GST_PAD_PROBE_OK;
    });
  } else {
    add("au", [](GstPad*, GstPadProbeInfo*, gpointer d) -> GstPadProbeReturn {
      static_cast<std::shared_ptr<Stats>*>(d)->get()->audio_buffers.fetch_add(1);
      return GST_PAD_PROBE_OK;
    });
  }
}

}  // namespace estuary::rtcclient
