// Owns: the launch line of a push to another server (see push_launch.h).
#include "pipelines/push_launch.h"

#include "common/gobject_ptr.h"
#include "pipelines/stream_bus.h"

namespace estuary::pipelines {
namespace {

constexpr const char* kQueue = "queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000";

std::string lower_scheme(const std::string& url) {
  std::string s = url.substr(0, url.find(':'));
  for (char& c : s) c = g_ascii_tolower(c);
  return s;
}

}  // namespace

Result<std::string> push_launch(const std::string& key, const std::string& url) {
  Ref<GstCaps> video = bus_caps(key, "video");
  Ref<GstCaps> audio = bus_caps(key, "audio");
  auto caps_name = [](const Ref<GstCaps>& caps) -> std::string {
    return caps && !gst_caps_is_empty(caps.get()) ? gst_structure_get_name(gst_caps_get_structure(caps.get(), 0)) : "";
  };
  const std::string vname = caps_name(video), aname = caps_name(audio);
  const std::string scheme = lower_scheme(url);
  std::string launch = "estuarysrc name=src stream=" + key;
  if (scheme == "rtmp" || scheme == "rtmps") {
    // FLV in GStreamer 1.22 carries H.264 and AAC only.
    if (!vname.empty() && vname != "video/x-h264") return Error{"RTMP carries H.264 only, the stream has " + vname};
    const bool with_audio = aname == "audio/mpeg";
    if (vname.empty() && !with_audio) return Error{"no H.264 or AAC track to send over RTMP"};
    launch += " flvmux name=mux streamable=true ! rtmp2sink name=sink async-connect=true";
    if (!vname.empty())
      launch += std::string(" src.video ! ") + kQueue + " ! h264parse ! video/x-h264,stream-format=avc ! mux.video";
    if (with_audio) launch += std::string(" src.audio ! ") + kQueue + " ! aacparse ! mux.audio";
    return launch;
  }
  if (scheme == "srt") {
    launch += " mpegtsmux name=mux alignment=7 ! srtsink name=sink wait-for-connection=false";
    if (vname == "video/x-h264" || vname == "video/x-h265")
      launch += std::string(" src.video ! ") + kQueue + " ! " + (vname == "video/x-h265" ? "h265parse" : "h264parse") +
                " config-interval=-1 ! mux.";
    if (aname == "audio/mpeg") launch += std::string(" src.audio ! ") + kQueue + " ! aacparse ! mux.";
    if (aname == "audio/x-opus") launch += std::string(" src.audio ! ") + kQueue + " ! opusparse ! mux.";
    return launch;
  }
  return Error{"unsupported destination scheme " + scheme};
}

const char* push_url_property(const std::string& url) { return lower_scheme(url) == "srt" ? "uri" : "location"; }

}  // namespace estuary::pipelines
