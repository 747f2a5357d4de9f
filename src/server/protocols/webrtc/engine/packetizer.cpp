// Owns: Packetizer (see packetizer.h).
#include "server/protocols/webrtc/engine/packetizer.h"

#include <cstring>

#include "server/protocols/webrtc/engine/rtp_wire.h"

namespace estuary::webrtc::engine {
namespace {

struct RingProbe {
  std::shared_ptr<PacketRing> ring;
  bool video = false;
  bool hevc = false;
  std::function<void()> wake;
};

bool push_buffer(RingProbe* p, GstBuffer* buf) {
  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READ)) return true;
  const bool key =
      p->video && (p->hevc ? h265_keyframe_start(map.data, map.size) : h264_keyframe_start(map.data, map.size));
  p->ring->push(map.data, map.size, key, g_get_monotonic_time());
  gst_buffer_unmap(buf, &map);
  return true;
}

GstPadProbeReturn on_packets(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* p = static_cast<RingProbe*>(data);
  if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
    push_buffer(p, GST_PAD_PROBE_INFO_BUFFER(info));
  } else if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    gst_buffer_list_foreach(
        GST_PAD_PROBE_INFO_BUFFER_LIST(info),
        [](GstBuffer** b, guint, gpointer d) -> gboolean { return push_buffer(static_cast<RingProbe*>(d), *b); }, p);
  }
  if (p->wake) p->wake();
  return GST_PAD_PROBE_OK;
}

// Links a new estuarysrc pad to the matching chain's queue (streaming thread).
void on_source_pad(GstElement* src, GstPad* pad, gpointer) {
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (!caps) caps = gst_pad_query_caps(pad, nullptr);
  const char* name = caps && !gst_caps_is_empty(caps) ? gst_structure_get_name(gst_caps_get_structure(caps, 0)) : "";
  const char* target = g_str_has_prefix(name, "video/") ? "vq" : g_str_has_prefix(name, "audio/") ? "aq" : nullptr;
  if (caps) gst_caps_unref(caps);
  if (!target) return;
  GstElement* bin = GST_ELEMENT(gst_element_get_parent(src));
  if (!bin) return;
  GstElement* q = gst_bin_get_by_name(GST_BIN(bin), target);
  if (q) {
    GstPad* sink = gst_element_get_static_pad(q, "sink");
    if (sink && !gst_pad_is_linked(sink)) gst_pad_link(pad, sink);
    if (sink) gst_object_unref(sink);
    gst_object_unref(q);
  }
  gst_object_unref(bin);
}

}  // namespace

Result<std::unique_ptr<Packetizer>> Packetizer::create(const std::string& feed, uint64_t queue_ns,
                                                       std::function<void()> wake, bool hevc) {
  std::unique_ptr<Packetizer> p(new Packetizer());
  const std::string launch =
      "estuarysrc name=src stream=\"" + feed + "\" catch-up=true max-queue-time=" + std::to_string(queue_ns) +
      " queue name=vq max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000 ! " +
      (hevc ? "rtph265pay" : "rtph264pay") + " name=vpay pt=" + std::to_string(kVideoPt) +
      " mtu=1200 config-interval=-1 aggregate-mode=zero-latency ! fakesink sync=false async=false "
      "queue name=aq max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000 ! rtpopuspay name=apay pt=" +
      std::to_string(kAudioPt) + " mtu=1200 ! fakesink sync=false async=false";
  GError* err = nullptr;
  GstElement* pipe = gst_parse_launch_full(launch.c_str(), nullptr, GST_PARSE_FLAG_FATAL_ERRORS, &err);
  if (!pipe || err) {
    std::string why = err ? err->message : "unknown";
    if (err) g_error_free(err);
    if (pipe) gst_object_unref(pipe);
    return Error{"cannot build the RTP payloading pipeline of " + feed + ": " + why, ErrorReason::internal, "webrtc"};
  }
  if (g_object_is_floating(pipe)) gst_object_ref_sink(pipe);
  p->pipeline_ = Ref<GstElement>::adopt(pipe);
  GstElement* src = gst_bin_get_by_name(GST_BIN(pipe), "src");
  g_signal_connect(src, "pad-added", G_CALLBACK(on_source_pad), nullptr);
  gst_object_unref(src);
  for (auto [name, ring, video] : {std::tuple{"vpay", p->video_, true}, std::tuple{"apay", p->audio_, false}}) {
    GstElement* pay = gst_bin_get_by_name(GST_BIN(pipe), name);
    GstPad* pad = gst_element_get_static_pad(pay, "src");
    gst_pad_add_probe(pad, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST), on_packets,
                      new RingProbe{ring, video, hevc, wake}, [](gpointer d) { delete static_cast<RingProbe*>(d); });
    gst_object_unref(pad);
    gst_object_unref(pay);
  }
  if (gst_element_set_state(pipe, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    return Error{"the RTP payloading pipeline of " + feed + " would not start", ErrorReason::internal, "webrtc"};
  return p;
}

Packetizer::~Packetizer() {
  if (pipeline_) gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
}

}  // namespace estuary::webrtc::engine
