// Owns: EngineIngest (see rtc_ingest.h).
#include "server/protocols/webrtc/rtc_ingest.h"

#include <gst/app/gstappsrc.h>

#include <cstring>

#include "common/gobject_ptr.h"

namespace estuary::webrtc {
namespace {

constexpr guint64 kAppsrcMaxBytes = 4 << 20;  // ~16 s of 2 Mb/s video: only a stalled pipeline fills it

// The upstream events of a track's appsrc: the jitter buffer's retransmission requests and keyframe
// requests from downstream.
GstPadProbeReturn on_upstream(GstPad*, GstPadProbeInfo* info, gpointer data) {
  const auto& fb = *static_cast<std::shared_ptr<IngestFeedback>*>(data)->get();
  GstEvent* ev = GST_PAD_PROBE_INFO_EVENT(info);
  const GstStructure* s = gst_event_get_structure(ev);
  if (!s || GST_EVENT_TYPE(ev) != GST_EVENT_CUSTOM_UPSTREAM) return GST_PAD_PROBE_OK;
  if (gst_structure_has_name(s, "GstRTPRetransmissionRequest")) {
    guint seq = 0, ssrc = 0;
    if (!gst_structure_get_uint(s, "ssrc", &ssrc)) ssrc = 0;  // 1.22 leaves it out: the track's SSRC
    if (fb.resend && gst_structure_get_uint(s, "seqnum", &seq)) fb.resend(ssrc, uint16_t(seq));
    return GST_PAD_PROBE_DROP;
  }
  if (gst_structure_has_name(s, "GstForceKeyUnit")) {
    if (fb.keyframe) fb.keyframe();
    return GST_PAD_PROBE_DROP;
  }
  return GST_PAD_PROBE_OK;
}

// appsrc ! rtpjitterbuffer ! head, for one track; the appsrc (owned by the bin) or nullptr.
GstElement* add_source(GstElement* pipeline, const MediaPlan& m, GstElement* head, int jitter_ms,
                       const std::shared_ptr<IngestFeedback>& feedback) {
  const bool video = m.kind == "video";
  GstElement* src = gst_element_factory_make("appsrc", video ? "video_rtp" : "audio_rtp");
  GstElement* jb = gst_element_factory_make("rtpjitterbuffer", nullptr);
  if (!src || !jb) {
    if (src) gst_object_unref(gst_object_ref_sink(src));
    if (jb) gst_object_unref(gst_object_ref_sink(jb));
    return nullptr;
  }
  GstCaps* caps = gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING, m.kind.c_str(), "clock-rate",
                                      G_TYPE_INT, video ? 90000 : 48000, "encoding-name", G_TYPE_STRING,
                                      video ? "H264" : "OPUS", "payload", G_TYPE_INT, m.pt, nullptr);
  if (video) gst_caps_set_simple(caps, "packetization-mode", G_TYPE_STRING, "1", nullptr);
  g_object_set(src, "caps", caps, "is-live", TRUE, "format", GST_FORMAT_TIME, "do-timestamp", TRUE, "block", FALSE,
               "max-bytes", kAppsrcMaxBytes, nullptr);
  gst_caps_unref(caps);
  gst_util_set_object_arg(G_OBJECT(src), "leaky-type", "upstream");  // full: the newest packet is dropped
  g_object_set(jb, "latency", guint(jitter_ms), "do-lost", TRUE, "do-retransmission", gboolean(video), nullptr);
  if (video && g_object_class_find_property(G_OBJECT_GET_CLASS(head), "request-keyframe"))
    g_object_set(head, "request-keyframe", TRUE, nullptr);  // a lost frame asks the publisher for a keyframe
  gst_bin_add_many(GST_BIN(pipeline), src, jb, nullptr);
  if (!gst_element_link_many(src, jb, head, nullptr)) return nullptr;
  GstPad* pad = gst_element_get_static_pad(src, "src");
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_upstream, new std::shared_ptr<IngestFeedback>(feedback),
                    [](gpointer d) { delete static_cast<std::shared_ptr<IngestFeedback>*>(d); });
  gst_object_unref(pad);
  return src;
}

}  // namespace

struct EngineIngest::Sources {
  Ref<GstElement> video, audio;  // appsrc
};

Result<std::unique_ptr<EngineIngest>> EngineIngest::create(const std::string& label, const OfferPlan& plan,
                                                           const std::string& stream_key, uint64_t gop_cache_bytes,
                                                           int jitter_ms, IngestFeedback feedback) {
  std::unique_ptr<EngineIngest> in(new EngineIngest());
  GstElement* pipe = gst_pipeline_new(nullptr);
  in->pipeline_ = pipelines::ManagedPipeline::adopt("rtc-ingest:" + label, pipe);
  auto media = build_whip_chains(pipe, plan, stream_key, gop_cache_bytes);
  if (!media) return media.error();
  in->media_ = *media;
  in->sources_ = std::make_shared<Sources>();
  auto fb = std::make_shared<IngestFeedback>(std::move(feedback));
  for (int index : {plan.video, plan.audio}) {
    if (index < 0) continue;
    const MediaPlan& m = plan.media[size_t(index)];
    const bool video = m.kind == "video";
    GstElement* head = video ? in->media_.video_depay.get() : in->media_.audio_depay.get();
    GstElement* src = head ? add_source(pipe, m, head, jitter_ms, fb) : nullptr;
    if (!src) return Error{"cannot build the WHIP " + m.kind + " RTP source", ErrorReason::internal, "webrtc"};
    (video ? in->sources_->video : in->sources_->audio) = Ref<GstElement>::add_ref(src);
  }
  return in;
}

EngineIngest::~EngineIngest() { stop(); }

std::function<void(const uint8_t*, size_t, bool)> EngineIngest::input() const {
  std::shared_ptr<Sources> sources = sources_;
  return [sources](const uint8_t* rtp, size_t len, bool video) {
    GstElement* src = video ? sources->video.get() : sources->audio.get();
    if (!src) return;
    GstBuffer* buf = gst_buffer_new_memdup(rtp, len);
    gst_app_src_push_buffer(GST_APP_SRC(src), buf);  // takes the buffer; drops it when full or stopped
  };
}

Status EngineIngest::start() { return pipeline_->start(); }

void EngineIngest::stop() {
  if (pipeline_) pipeline_->stop();
}

}  // namespace estuary::webrtc
