// Owns: master playlist rendering and codec strings (see abr_master.h).
#include "server/outputs/hls/abr_master.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace estuary::server {
namespace {

std::string str_field(const GstStructure* s, const char* name) {
  const char* v = gst_structure_get_string(s, name);
  return v ? v : "";
}

// First bytes of a caps' codec_data buffer (up to n), empty if none.
std::vector<uint8_t> codec_data(const GstStructure* s, size_t n) {
  const GValue* v = gst_structure_get_value(s, "codec_data");
  if (!v || !GST_VALUE_HOLDS_BUFFER(v)) return {};
  GstBuffer* buf = gst_value_get_buffer(v);
  std::vector<uint8_t> out(std::min(n, gst_buffer_get_size(buf)));
  gst_buffer_extract(buf, 0, out.data(), out.size());
  return out;
}

// "3.1" -> 31, "4" -> 40, "1b" -> 9 (the value Apple's tools write for level 1b).
int h264_level_idc(const std::string& level) {
  if (level == "1b") return 9;
  char* end = nullptr;
  double v = std::strtod(level.c_str(), &end);
  if (end == level.c_str() || v <= 0) return 0;
  return int(std::lround(v * 10));
}

std::string hex2(int v) {
  char b[3];
  std::snprintf(b, sizeof b, "%02x", v & 0xff);
  return b;
}

std::string h264_string(const GstStructure* s) {
  auto cd = codec_data(s, 4);
  if (cd.size() == 4 && cd[0] == 1) return "avc1." + hex2(cd[1]) + hex2(cd[2]) + hex2(cd[3]);
  struct P {
    const char* name;
    int idc, constraints;
  };
  static const P profiles[] = {{"constrained-baseline", 0x42, 0xc0},
                               {"baseline", 0x42, 0x00},
                               {"main", 0x4d, 0x40},
                               {"extended", 0x58, 0x00},
                               {"high", 0x64, 0x00},
                               {"high-10", 0x6e, 0x00},
                               {"high-4:2:2", 0x7a, 0x00},
                               {"high-4:4:4", 0xf4, 0x00}};
  const std::string profile = str_field(s, "profile");
  const int level = h264_level_idc(str_field(s, "level"));
  for (const P& p : profiles)
    if (profile == p.name && level > 0) return "avc1." + hex2(p.idc) + hex2(p.constraints) + hex2(level);
  return "";
}

std::string h265_string(const GstStructure* s) {
  // hvcC: byte 1 = profile_space(2) tier(1) profile_idc(5); bytes 2..5 compatibility flags;
  // byte 12 = level_idc. Only the common Main / Main 10 forms are spelled from caps fields.
  auto cd = codec_data(s, 13);
  if (cd.size() == 13 && cd[0] == 1) {
    const int profile = cd[1] & 0x1f;
    const bool high_tier = cd[1] & 0x20;
    uint32_t compat = uint32_t(cd[2]) << 24 | uint32_t(cd[3]) << 16 | uint32_t(cd[4]) << 8 | cd[5];
    uint32_t reversed = 0;  // RFC 6381 writes the 32 flags in reverse bit order
    for (int i = 0; i < 32; ++i)
      if (compat & (1u << i)) reversed |= 1u << (31 - i);
    char b[64];
    std::snprintf(b, sizeof b, "hvc1.%d.%X.%c%d.B0", profile, reversed, high_tier ? 'H' : 'L', cd[12]);
    return b;
  }
  const std::string profile = str_field(s, "profile");
  const int level = int(std::lround(std::strtod(str_field(s, "level").c_str(), nullptr) * 30));
  const char tier = str_field(s, "tier") == "high" ? 'H' : 'L';
  if (level <= 0) return "";
  if (profile == "main") return "hvc1.1.6." + std::string(1, tier) + std::to_string(level) + ".B0";
  if (profile == "main-10") return "hvc1.2.4." + std::string(1, tier) + std::to_string(level) + ".B0";
  return "";
}

}  // namespace

std::string render_master_playlist(std::vector<AbrVariant> variants) {
  std::stable_sort(variants.begin(), variants.end(),
                   [](const AbrVariant& a, const AbrVariant& b) { return a.bandwidth > b.bandwidth; });
  std::string out = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n";
  for (const auto& v : variants) {
    out += "#EXT-X-STREAM-INF:BANDWIDTH=" + std::to_string(std::max<uint64_t>(v.bandwidth, 1));
    if (v.width > 0 && v.height > 0) out += ",RESOLUTION=" + std::to_string(v.width) + "x" + std::to_string(v.height);
    if (v.frame_rate > 0) {
      char fr[32];
      std::snprintf(fr, sizeof fr, "%.3f", v.frame_rate);
      out += std::string(",FRAME-RATE=") + fr;
    }
    if (!v.codecs.empty()) out += ",CODECS=\"" + v.codecs + "\"";
    out += "\n" + v.uri + "\n";
  }
  return out;
}

std::string video_codec_string(const GstCaps* caps) {
  if (!caps || gst_caps_is_empty(caps)) return "";
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  if (gst_structure_has_name(s, "video/x-h264")) return h264_string(s);
  if (gst_structure_has_name(s, "video/x-h265")) return h265_string(s);
  return "";
}

std::string audio_codec_string(const GstCaps* caps) {
  if (!caps || gst_caps_is_empty(caps)) return "";
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  if (gst_structure_has_name(s, "audio/x-opus")) return "opus";
  if (!gst_structure_has_name(s, "audio/mpeg")) return "";
  int version = 0;
  gst_structure_get_int(s, "mpegversion", &version);
  if (version == 1) return "mp4a.40.34";
  // AudioSpecificConfig: the first 5 bits are the audio object type.
  auto cd = codec_data(s, 1);
  if (!cd.empty() && (cd[0] >> 3) > 0 && (cd[0] >> 3) < 31) return "mp4a.40." + std::to_string(cd[0] >> 3);
  const std::string profile = str_field(s, "profile");
  if (profile == "he-aac") return "mp4a.40.5";
  if (profile == "he-aac-v2") return "mp4a.40.29";
  if (profile == "main") return "mp4a.40.1";
  return "mp4a.40.2";
}

double caps_frame_rate(const GstCaps* caps) {
  if (!caps || gst_caps_is_empty(caps)) return 0;
  int n = 0, d = 0;
  if (!gst_structure_get_fraction(gst_caps_get_structure(caps, 0), "framerate", &n, &d) || n <= 0 || d <= 0) return 0;
  return double(n) / double(d);
}

}  // namespace estuary::server
