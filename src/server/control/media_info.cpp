// Owns: caps → API media descriptions (see media_info.h).
#include "server/control/media_info.h"

#include <string>

namespace estuary::server {
namespace {
std::string str_field(const GstStructure* s, const char* name) {
  const char* v = gst_structure_get_string(s, name);
  return v ? v : "";
}
// "constrained-baseline" -> "Constrained Baseline", "high" -> "High" (SRS spelling).
std::string title_case(std::string v) {
  bool up = true;
  for (char& c : v) {
    if (c == '-') {
      c = ' ';
      up = true;
    } else if (up) {
      c = char(g_ascii_toupper(c));
      up = false;
    }
  }
  return v;
}
}  // namespace

api::VideoView video_view_from_caps(GstCaps* caps) {
  api::VideoView v;
  if (!caps || gst_caps_is_empty(caps)) return v;
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  const std::string name = gst_structure_get_name(s);
  v.codec = name == "video/x-h264"   ? "H264"
            : name == "video/x-h265" ? "H265"
            : name == "video/x-av1"  ? "AV1"
            : name == "video/x-vp9"  ? "VP9"
                                     : name;
  v.profile = title_case(str_field(s, "profile"));
  v.level = str_field(s, "level");
  gst_structure_get_int(s, "width", &v.width);
  gst_structure_get_int(s, "height", &v.height);
  return v;
}

api::AudioView audio_view_from_caps(GstCaps* caps) {
  api::AudioView a;
  if (!caps || gst_caps_is_empty(caps)) return a;
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  const std::string name = gst_structure_get_name(s);
  int version = 0;
  gst_structure_get_int(s, "mpegversion", &version);
  if (name == "audio/mpeg")
    a.codec = version == 1 ? "MP3" : "AAC";
  else if (name == "audio/x-opus")
    a.codec = "Opus";
  else
    a.codec = name;
  gst_structure_get_int(s, "rate", &a.sample_rate);
  gst_structure_get_int(s, "channels", &a.channels);
  std::string profile = str_field(s, "profile");
  a.profile = profile == "lc" ? "LC" : profile == "he-aac" ? "HE" : profile;
  return a;
}

}  // namespace estuary::server
