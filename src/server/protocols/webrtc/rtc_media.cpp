// Owns: WHIP/WHEP media elements around webrtcbin (see rtc_media.h).
#include "server/protocols/webrtc/rtc_media.h"
#include "pipelines/encoder_select.h"

#include <gst/webrtc/webrtc.h>

#include <cstring>
#include <vector>

namespace estuary::webrtc {
namespace {

GstElement* make(const char* factory, const char* name = nullptr) { return gst_element_factory_make(factory, name); }

// Adds elements to bin and links them in order; false if any is missing or a link fails.
bool add_chain(GstElement* bin, const std::vector<GstElement*>& chain) {
  for (GstElement* e : chain)
    if (!e) {
      release_unadded(chain);
      return false;
    }
  for (GstElement* e : chain) gst_bin_add(GST_BIN(bin), e);
  for (size_t i = 1; i < chain.size(); ++i)
    if (!gst_element_link(chain[i - 1], chain[i])) return false;
  return true;
}

GstElement* caps_filter(const char* caps) {
  GstElement* f = make("capsfilter");
  if (!f) return nullptr;
  GstCaps* c = gst_caps_from_string(caps);
  g_object_set(f, "caps", c, nullptr);
  gst_caps_unref(c);
  return f;
}

// Links `from`'s src pad to a new request pad of estuarysink.
bool link_to_bus_sink(GstElement* from, GstElement* sink) {
  GstPad* src = gst_element_get_static_pad(from, "src");
  GstPad* pad = gst_element_request_pad_simple(sink, "sink_%u");
  bool ok = src && pad && gst_pad_link(src, pad) == GST_PAD_LINK_OK;
  if (src) gst_object_unref(src);
  if (pad) gst_object_unref(pad);
  return ok;
}

// Which ingest chain a webrtcbin src pad belongs to (pad-added runs on a streaming thread).
struct WhipLinks {
  Ref<GstElement> video;  // first element of each chain
  Ref<GstElement> audio;
};

void on_whip_pad(GstElement* webrtc, GstPad* pad, gpointer data) {
  auto* links = static_cast<WhipLinks*>(data);
  if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (!caps) caps = gst_pad_query_caps(pad, nullptr);
  const char* media =
      caps && !gst_caps_is_empty(caps) ? gst_structure_get_string(gst_caps_get_structure(caps, 0), "media") : nullptr;
  GstElement* target = nullptr;
  if (media && std::strcmp(media, "video") == 0) target = links->video.get();
  if (media && std::strcmp(media, "audio") == 0) target = links->audio.get();
  if (caps) gst_caps_unref(caps);
  GstElement* sink_owner = target;
  if (!sink_owner) {
    // Not a track we answered for: drain it so the RTP session never sees not-linked.
    GstElement* bin = GST_ELEMENT(gst_element_get_parent(webrtc));
    GstElement* fake = make("fakesink");
    if (bin && fake) {
      g_object_set(fake, "async", FALSE, "sync", FALSE, nullptr);
      gst_bin_add(GST_BIN(bin), fake);
      gst_element_sync_state_with_parent(fake);
      sink_owner = fake;
    }
    if (bin) gst_object_unref(bin);
    if (!sink_owner) return;
  }
  GstPad* sinkpad = gst_element_get_static_pad(sink_owner, "sink");
  if (sinkpad && !gst_pad_is_linked(sinkpad)) gst_pad_link(pad, sinkpad);
  if (sinkpad) gst_object_unref(sinkpad);
}

// Codec preferences of a WHEP transceiver: exactly the offer's chosen payload type, so webrtcbin
// binds the linked pad to that m-line.
GstCaps* preference_caps(const MediaPlan& m) {
  GstCaps* caps = gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING, m.kind.c_str(), "encoding-name",
                                      G_TYPE_STRING, m.encoding.c_str(), "clock-rate", G_TYPE_INT, m.clock_rate,
                                      "payload", G_TYPE_INT, m.pt, nullptr);
  if (m.encoding == "H264") {
    gst_caps_set_simple(caps, "packetization-mode", G_TYPE_STRING, "1", nullptr);
    if (!m.profile_level_id.empty())
      gst_caps_set_simple(caps, "profile-level-id", G_TYPE_STRING, m.profile_level_id.c_str(), nullptr);
    if (m.level_asymmetry) gst_caps_set_simple(caps, "level-asymmetry-allowed", G_TYPE_STRING, "1", nullptr);
  }
  return caps;
}

// Requests webrtcbin's sink pad for m-line m and makes its transceiver send exactly m's codec.
GstPad* request_sink(GstElement* webrtc, const MediaPlan& m) {
  GstPadTemplate* templ = gst_element_get_pad_template(webrtc, "sink_%u");
  const std::string name = "sink_" + std::to_string(m.index);
  GstPad* pad = gst_element_request_pad(webrtc, templ, name.c_str(), nullptr);
  if (!pad) return nullptr;
  GstWebRTCRTPTransceiver* trans = nullptr;
  g_object_get(pad, "transceiver", &trans, nullptr);
  if (trans) {
    GstCaps* caps = preference_caps(m);
    g_object_set(trans, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, "codec-preferences", caps, nullptr);
    gst_caps_unref(caps);
    gst_object_unref(trans);
  }
  return pad;
}

struct WhepLinks {
  Ref<GstElement> video;  // queues fed by estuarysrc's pads
  Ref<GstElement> audio;
};

void on_whep_source_pad(GstElement*, GstPad* pad, gpointer data) {
  auto* links = static_cast<WhepLinks*>(data);
  const gchar* name = GST_PAD_NAME(pad);
  GstElement* target = std::strcmp(name, "video") == 0   ? links->video.get()
                       : std::strcmp(name, "audio") == 0 ? links->audio.get()
                                                         : nullptr;
  if (!target) return;  // a track this viewer did not ask for stays unlinked (estuarysrc tolerates it)
  GstPad* sinkpad = gst_element_get_static_pad(target, "sink");
  if (sinkpad && !gst_pad_is_linked(sinkpad)) gst_pad_link(pad, sinkpad);
  if (sinkpad) gst_object_unref(sinkpad);
}

struct ProbeData {
  std::shared_ptr<MediaCounters> counters;
  std::function<void()> on_keyframe_request;
};

}  // namespace

Result<WhipMedia> build_whip_chains(GstElement* pipeline, const OfferPlan& plan, const std::string& stream_key,
                                    uint64_t gop_cache_bytes) {
  GstElement* sink = make("estuarysink", "bussink");
  if (!sink) return Error{"estuarysink is not registered", ErrorReason::internal, "webrtc"};
  g_object_set(sink, "stream", stream_key.c_str(), "gop-cache-max-bytes", guint64(gop_cache_bytes), nullptr);
  gst_bin_add(GST_BIN(pipeline), sink);
  WhipMedia media;
  if (plan.video >= 0) {
    GstElement* depay = make("rtph264depay");
    GstElement* parse = make("h264parse");
    GstElement* caps = caps_filter("video/x-h264,stream-format=avc,alignment=au");
    if (!add_chain(pipeline, {depay, parse, caps}) || !link_to_bus_sink(caps, sink))
      return Error{"cannot build the H.264 ingest chain", ErrorReason::internal, "webrtc"};
    media.video_depay = Ref<GstElement>::add_ref(depay);
  }
  if (plan.audio >= 0) {
    GstElement* depay = make("rtpopusdepay");
    GstElement* dec = make("opusdec");
    GstElement* conv = make("audioconvert");
    GstElement* res = make("audioresample");
    GstElement* raw = caps_filter("audio/x-raw,rate=48000,channels=2");
    GstElement* enc = make(pipelines::aac_encoder_name());
    GstElement* parse = make("aacparse");
    if (enc && g_object_class_find_property(G_OBJECT_GET_CLASS(enc), "bitrate"))
      g_object_set(enc, "bitrate", 128000, nullptr);
    if (dec) g_object_set(dec, "plc", TRUE, nullptr);  // concealment keeps AAC timestamps continuous over losses
    if (!add_chain(pipeline, {depay, dec, conv, res, raw, enc, parse}) || !link_to_bus_sink(parse, sink))
      return Error{"cannot build the Opus to AAC ingest chain", ErrorReason::internal, "webrtc"};
    media.audio_depay = Ref<GstElement>::add_ref(depay);
  }
  return media;
}

Result<WhipMedia> build_whip_media(GstElement* pipeline, GstElement* webrtc, const OfferPlan& plan,
                                   const std::string& stream_key, uint64_t gop_cache_bytes) {
  auto media = build_whip_chains(pipeline, plan, stream_key, gop_cache_bytes);
  if (!media) return media.error();
  auto links = new WhipLinks();
  links->video = media->video_depay;
  links->audio = media->audio_depay;
  g_signal_connect_data(
      webrtc, "pad-added", G_CALLBACK(on_whip_pad), links,
      [](gpointer d, GClosure*) { delete static_cast<WhipLinks*>(d); }, GConnectFlags(0));
  return media;
}

void request_keyframe(const WhipMedia& media) {
  if (!media.video_depay) return;
  GstPad* src = gst_element_get_static_pad(media.video_depay.get(), "src");
  if (!src) return;
  GstEvent* ev = gst_event_new_custom(
      GST_EVENT_CUSTOM_UPSTREAM,
      gst_structure_new("GstForceKeyUnit", "running-time", GST_TYPE_CLOCK_TIME, GST_CLOCK_TIME_NONE, "all-headers",
                        G_TYPE_BOOLEAN, TRUE, "count", G_TYPE_UINT, 0u, nullptr));
  gst_pad_send_event(src, ev);
  gst_object_unref(src);
}

Result<WhepMedia> build_whep_media(GstElement* pipeline, GstElement* webrtc, const OfferPlan& plan,
                                   const std::string& feed, uint64_t queue_ns, std::shared_ptr<MediaCounters> counters,
                                   std::function<void()> on_keyframe_request) {
  GstElement* src = make("estuarysrc", "src");
  if (!src) return Error{"estuarysrc is not registered", ErrorReason::internal, "webrtc"};
  // catch-up: webrtcbin sends on the clock, so the GOP cache must not be replayed at its own pace.
  g_object_set(src, "stream", feed.c_str(), "max-queue-time", guint64(queue_ns), "catch-up", TRUE, nullptr);
  gst_element_set_locked_state(src, TRUE);
  gst_bin_add(GST_BIN(pipeline), src);
  auto* links = new WhepLinks();
  auto probe = std::make_shared<ProbeData>(ProbeData{std::move(counters), std::move(on_keyframe_request)});
  // Each probe holds its own reference: pads may be finalized in any order.
  auto probe_ref = [&probe]() -> gpointer { return new std::shared_ptr<ProbeData>(probe); };
  auto probe_unref = [](gpointer d) { delete static_cast<std::shared_ptr<ProbeData>*>(d); };
  auto count_bytes = [](GstPad*, GstPadProbeInfo* info, gpointer d) -> GstPadProbeReturn {
    auto* p = static_cast<std::shared_ptr<ProbeData>*>(d)->get();
    uint64_t n = (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER)
                     ? gst_buffer_get_size(GST_PAD_PROBE_INFO_BUFFER(info))
                     : gst_buffer_list_calculate_size(GST_PAD_PROBE_INFO_BUFFER_LIST(info));
    p->counters->bytes_sent.fetch_add(n, std::memory_order_relaxed);
    return GST_PAD_PROBE_OK;
  };
  Status status = ok_status();
  for (const MediaPlan& m : plan.media) {
    if (!m.serve) continue;
    const bool video = m.kind == "video";
    GstElement* queue = make("queue");
    GstElement* pay = make(video ? "rtph264pay" : "rtpopuspay");
    GstElement* last = pay;
    std::vector<GstElement*> chain{queue, pay};
    if (queue)
      g_object_set(queue, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time", guint64(2 * GST_SECOND),
                   nullptr);
    if (pay) g_object_set(pay, "pt", guint(m.pt), "mtu", 1200u, nullptr);
    if (video && pay) {
      g_object_set(pay, "config-interval", -1, nullptr);
      gst_util_set_object_arg(G_OBJECT(pay), "aggregate-mode", "zero-latency");
      // profile-level-id as offered: it labels the stream for the viewer's decoder choice.
      GstElement* setter = make("capssetter");
      if (setter) {
        std::string caps = "application/x-rtp,packetization-mode=(string)1";
        if (!m.profile_level_id.empty()) caps += ",profile-level-id=(string)" + m.profile_level_id;
        GstCaps* c = gst_caps_from_string(caps.c_str());
        g_object_set(setter, "caps", c, nullptr);
        gst_caps_unref(c);
      }
      chain.push_back(setter);
      last = setter;
    }
    if (!add_chain(pipeline, chain)) {
      status = Error{"cannot build the WebRTC " + m.kind + " sender", ErrorReason::internal, "webrtc"};
      break;
    }
    GstPad* sinkpad = request_sink(webrtc, m);
    GstPad* srcpad = gst_element_get_static_pad(last, "src");
    const bool linked = sinkpad && srcpad && gst_pad_link(srcpad, sinkpad) == GST_PAD_LINK_OK;
    if (srcpad) {
      gst_pad_add_probe(srcpad, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
                        count_bytes, probe_ref(), probe_unref);
      gst_object_unref(srcpad);
    }
    if (sinkpad) gst_object_unref(sinkpad);
    if (!linked) {
      status = Error{"cannot link the WebRTC " + m.kind + " sender", ErrorReason::internal, "webrtc"};
      break;
    }
    if (video) {
      // The viewer's PLI/FIR arrive as upstream force-key-unit events: report them.
      GstPad* qsink = gst_element_get_static_pad(queue, "src");
      gst_pad_add_probe(
          qsink, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM,
          [](GstPad*, GstPadProbeInfo* info, gpointer d) -> GstPadProbeReturn {
            GstEvent* ev = GST_PAD_PROBE_INFO_EVENT(info);
            const GstStructure* s = gst_event_get_structure(ev);
            if (GST_EVENT_TYPE(ev) == GST_EVENT_CUSTOM_UPSTREAM && s && gst_structure_has_name(s, "GstForceKeyUnit")) {
              auto* p = static_cast<std::shared_ptr<ProbeData>*>(d)->get();
              p->counters->keyframe_requests.fetch_add(1, std::memory_order_relaxed);
              if (p->on_keyframe_request) p->on_keyframe_request();
            }
            return GST_PAD_PROBE_OK;
          },
          probe_ref(), probe_unref);
      gst_object_unref(qsink);
      links->video = Ref<GstElement>::add_ref(queue);
    } else {
      links->audio = Ref<GstElement>::add_ref(queue);
    }
  }
  g_signal_connect_data(
      src, "pad-added", G_CALLBACK(on_whep_source_pad), links,
      [](gpointer d, GClosure*) { delete static_cast<WhepLinks*>(d); }, GConnectFlags(0));
  if (!status) return status.error();
  WhepMedia media;
  media.source = Ref<GstElement>::add_ref(src);
  return media;
}

void start_whep_media(WhepMedia& media) {
  if (!media.source) return;
  gst_element_set_locked_state(media.source.get(), FALSE);
  gst_element_sync_state_with_parent(media.source.get());
}

}  // namespace estuary::webrtc
