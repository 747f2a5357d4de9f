// Owns: encoder selection and placeholder expansion (see encoder_select.h).
#include "pipelines/encoder_select.h"

#include <gst/gst.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "common/gobject_ptr.h"

namespace estuary::pipelines {
namespace {

bool klass_has(const std::string& klass, const char* word) { return klass.find(word) != std::string::npos; }

bool is_software_default(VideoCodec codec, const std::string& name) { return name == preferred_encoders(codec).back(); }

const char* placeholder_for(VideoCodec codec) { return codec == VideoCodec::h264 ? "@h264enc" : "@h265enc"; }

bool is_integer(const std::string& s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

bool is_generic_preset(const std::string& v) {
  return v == "fastest" || v == "fast" || v == "balanced" || v == "quality";
}

bool is_boundary(char c) { return std::isspace(static_cast<unsigned char>(c)) || c == '!'; }

}  // namespace

const char* video_codec_name(VideoCodec codec) { return codec == VideoCodec::h264 ? "h264" : "h265"; }

const std::vector<std::string>& preferred_encoders(VideoCodec codec) {
  static const std::vector<std::string> h264 = {"nvautogpuh264enc", "nvh264enc",  "vah264lpenc",
                                                "vah264enc",        "qsvh264enc", "x264enc"};
  static const std::vector<std::string> h265 = {"nvautogpuh265enc", "nvh265enc",  "vah265lpenc",
                                                "vah265enc",        "qsvh265enc", "x265enc"};
  return codec == VideoCodec::h264 ? h264 : h265;
}

std::vector<std::string> candidate_order(VideoCodec codec, const std::vector<EncoderFactoryInfo>& registry) {
  const auto& preferred = preferred_encoders(codec);
  auto registered = [&](const std::string& name) {
    return std::any_of(registry.begin(), registry.end(), [&](const EncoderFactoryInfo& f) { return f.name == name; });
  };
  std::vector<std::string> order;
  for (const auto& name : preferred) {
    if (!is_software_default(codec, name) && registered(name)) order.push_back(name);
  }
  std::vector<EncoderFactoryInfo> others;
  for (const auto& f : registry) {
    if (std::find(preferred.begin(), preferred.end(), f.name) == preferred.end()) others.push_back(f);
  }
  std::sort(others.begin(), others.end(), [](const EncoderFactoryInfo& a, const EncoderFactoryInfo& b) {
    bool ha = klass_has(a.klass, "Hardware"), hb = klass_has(b.klass, "Hardware");
    if (ha != hb) return ha;
    if (a.rank != b.rank) return a.rank > b.rank;
    return a.name < b.name;
  });
  for (const auto& f : others) {
    if (klass_has(f.klass, "Hardware")) order.push_back(f.name);
  }
  if (registered(preferred.back())) order.push_back(preferred.back());
  for (const auto& f : others) {
    if (!klass_has(f.klass, "Hardware")) order.push_back(f.name);
  }
  return order;
}

EncoderChoice select_encoder(VideoCodec codec, const std::vector<EncoderFactoryInfo>& registry,
                             const TestEncodeFn& test) {
  EncoderChoice choice;
  choice.codec = codec;
  std::vector<std::string> missing;
  for (const auto& name : preferred_encoders(codec)) {
    bool found =
        std::any_of(registry.begin(), registry.end(), [&](const EncoderFactoryInfo& f) { return f.name == name; });
    if (!found) missing.push_back(name);
  }
  const auto& preferred = preferred_encoders(codec);
  for (const auto& name : candidate_order(codec, registry)) {
    std::string error;
    if (!test(name, &error)) {
      choice.rejected.push_back(name + ": test encode failed" + (error.empty() ? "" : " (" + error + ")"));
      continue;
    }
    choice.element = name;
    choice.family = encoder_family(name);
    auto pos = std::find(preferred.begin(), preferred.end(), name);
    if (pos != preferred.end()) {
      choice.reason = "preference #" + std::to_string(pos - preferred.begin() + 1) + " of " +
                      std::to_string(preferred.size()) + ", passed a 5-frame test encode";
    } else {
      auto it =
          std::find_if(registry.begin(), registry.end(), [&](const EncoderFactoryInfo& f) { return f.name == name; });
      choice.reason = std::string("not on the preference list; chosen by ") +
                      (klass_has(it->klass, "Hardware") ? "klass Hardware and " : "") + "rank " +
                      std::to_string(it->rank) + ", passed a 5-frame test encode";
    }
    break;
  }
  if (choice.element.empty()) choice.reason = std::string("no working ") + video_codec_name(codec) + " encoder";
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    choice.reason += "; not registered: " + list;
  }
  if (!choice.rejected.empty()) {
    std::string list;
    for (const auto& r : choice.rejected) list += (list.empty() ? "" : "; ") + r;
    choice.reason += "; rejected: " + list;
  }
  return choice;
}

std::string encoder_family(const std::string& f) {
  if (f.rfind("nv", 0) == 0) return "nvenc";
  if (f.rfind("va", 0) == 0) return "va";
  if (f.rfind("qsv", 0) == 0) return "qsv";
  if (f == "x264enc") return "x264";
  if (f == "x265enc") return "x265";
  if (f == "openh264enc") return "openh264";
  return "other";
}

std::string map_encoder_properties(const std::string& factory,
                                   const std::vector<std::pair<std::string, std::string>>& props) {
  const std::string family = encoder_family(factory);
  std::string out = factory;
  auto add = [&out](const std::string& k, const std::string& v) { out += " " + k + "=" + v; };
  // preset and tune=latency both touch the speed/quality knob of most families, so each is
  // decided knowing the other: an explicit preset wins over the speed that tune=latency implies.
  std::string preset;
  bool latency = false;
  for (const auto& [key, value] : props) {
    if (key == "preset" && is_generic_preset(value)) preset = value;
    if (key == "tune" && value == "latency") latency = true;
  }
  for (const auto& [key, value] : props) {
    if (key == "bitrate" && is_integer(value)) {  // kbit/s
      if (family == "openh264")
        add("bitrate", std::to_string(std::strtoll(value.c_str(), nullptr, 10) * 1000));  // bit/s
      else if (family != "other")
        add("bitrate", value);
    } else if (key == "gop" && is_integer(value)) {  // frames between keyframes
      if (family == "x264" || family == "x265" || family == "va")
        add("key-int-max", value);
      else if (family == "nvenc" || family == "qsv" || family == "openh264")
        add("gop-size", value);
    } else if (key == "tune" && value == "latency") {
      if (family == "x264" || family == "x265") {
        add("tune", "zerolatency");
        if (preset.empty()) add("speed-preset", "veryfast");
      } else if (family == "nvenc") {
        add("preset", preset == "fastest" || preset == "fast" ? "low-latency-hp"
                      : preset == "balanced"                  ? "low-latency"
                                                              : "low-latency-hq");
        add("zerolatency", "true");
      } else if (family == "va") {
        add("b-frames", "0");
        if (preset.empty()) add("target-usage", "7");
      } else if (family == "qsv") {
        add("low-latency", "true");
        add("b-frames", "0");
      } else if (family == "openh264") {
        if (preset.empty()) add("complexity", "low");
      }
    } else if (key == "preset" && is_generic_preset(value)) {
      // fastest | fast | balanced | quality, mapped to each family's own scale.
      const int rank = value == "fastest" ? 0 : value == "fast" ? 1 : value == "balanced" ? 2 : 3;
      if (family == "x264" || family == "x265") {
        static const char* const speed[] = {"ultrafast", "veryfast", "medium", "slow"};
        add("speed-preset", speed[rank]);
      } else if (family == "nvenc") {
        static const char* const nv[] = {"hp", "hp", "default", "hq"};
        if (!latency) add("preset", nv[rank]);  // combined with latency in the tune branch
      } else if (family == "va" || family == "qsv") {
        static const char* const usage[] = {"7", "6", "4", "1"};  // 1 = best quality, 7 = fastest
        add("target-usage", usage[rank]);
      } else if (family == "openh264") {
        static const char* const complexity[] = {"low", "low", "medium", "high"};
        add("complexity", complexity[rank]);
      }
    } else {
      add(key, value);
    }
  }
  return out;
}

std::vector<EncoderFactoryInfo> list_gst_encoders(VideoCodec codec) {
  std::vector<EncoderFactoryInfo> out;
  GList* all = gst_element_factory_list_get_elements(
      GST_ELEMENT_FACTORY_TYPE_ENCODER | GST_ELEMENT_FACTORY_TYPE_MEDIA_VIDEO, GST_RANK_NONE);
  GstCaps* caps = gst_caps_from_string(codec == VideoCodec::h264 ? "video/x-h264" : "video/x-h265");
  GList* filtered = gst_element_factory_list_filter(all, caps, GST_PAD_SRC, FALSE);
  for (GList* l = filtered; l; l = l->next) {
    auto* f = GST_ELEMENT_FACTORY(l->data);
    const gchar* klass = gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS);
    out.push_back({GST_OBJECT_NAME(f), klass ? klass : "", gst_plugin_feature_get_rank(GST_PLUGIN_FEATURE(f))});
  }
  gst_plugin_feature_list_free(filtered);
  gst_plugin_feature_list_free(all);
  gst_caps_unref(caps);
  return out;
}

bool gst_test_encode(const std::string& factory, std::string* error, int timeout_ms) {
  std::string desc = "videotestsrc num-buffers=5 ! video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert ! " +
                     factory + " ! fakesink";
  GError* err = nullptr;
  GstElement* parsed = gst_parse_launch_full(desc.c_str(), nullptr, GST_PARSE_FLAG_FATAL_ERRORS, &err);
  if (parsed && g_object_is_floating(parsed)) gst_object_ref_sink(parsed);
  Ref<GstElement> pipeline = Ref<GstElement>::adopt(parsed);
  if (err) {
    if (error) *error = err->message;
    g_clear_error(&err);
    return false;
  }
  if (!pipeline) {
    if (error) *error = "could not build the test pipeline";
    return false;
  }
  Ref<GstBus> bus = Ref<GstBus>::adopt(gst_element_get_bus(pipeline.get()));
  bool ok = false;
  if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    if (error) *error = "cannot start";
  } else {
    GstMessage* msg = gst_bus_timed_pop_filtered(bus.get(), static_cast<GstClockTime>(timeout_ms) * GST_MSECOND,
                                                 GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    if (!msg) {
      if (error) *error = "timed out";
    } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      GError* e = nullptr;
      gst_message_parse_error(msg, &e, nullptr);
      if (error) *error = e ? e->message : "error";
      if (e) g_error_free(e);
    } else {
      ok = true;
    }
    if (msg) gst_message_unref(msg);
  }
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  return ok;
}

bool has_encoder_placeholder(const std::string& launch) {
  return launch.find("@h264enc") != std::string::npos || launch.find("@h265enc") != std::string::npos;
}

std::string expand_encoder_placeholders(const std::string& launch, const std::map<VideoCodec, EncoderChoice>& choices) {
  std::string out;
  size_t i = 0;
  while (i < launch.size()) {
    bool at_token_start = i == 0 || is_boundary(launch[i - 1]);
    VideoCodec codec = VideoCodec::h264;
    size_t len = 0;
    if (at_token_start && launch[i] == '@') {
      for (VideoCodec c : {VideoCodec::h264, VideoCodec::h265}) {
        std::string p = placeholder_for(c);
        if (launch.compare(i, p.size(), p) == 0 &&
            (i + p.size() == launch.size() || is_boundary(launch[i + p.size()]))) {
          codec = c;
          len = p.size();
        }
      }
    }
    if (len == 0) {
      out += launch[i++];
      continue;
    }
    // key=value tokens after the placeholder, up to the next "!" or a token without "=".
    size_t j = i + len;
    std::vector<std::pair<std::string, std::string>> props;
    while (true) {
      size_t k = j;
      while (k < launch.size() && std::isspace(static_cast<unsigned char>(launch[k]))) ++k;
      size_t start = k;
      bool quoted = false;
      while (k < launch.size() && (quoted || !is_boundary(launch[k]))) {
        if (launch[k] == '"') quoted = !quoted;
        ++k;
      }
      std::string token = launch.substr(start, k - start);
      size_t eq = token.find('=');
      if (token.empty() || eq == std::string::npos || eq == 0) break;
      props.emplace_back(token.substr(0, eq), token.substr(eq + 1));
      j = k;
    }
    auto it = choices.find(codec);
    if (it == choices.end() || it->second.element.empty()) {
      out += std::string("no-working-") + video_codec_name(codec) + "-encoder";
    } else {
      out += map_encoder_properties(it->second.element, props);
    }
    i = j;
  }
  return out;
}

// The AAC encoder the AAC bridges use: the best one installed (fdk first), avenc_aac as the fallback.
const char* aac_encoder_name() {
  for (const char* name : {"fdkaacenc", "avenc_aac", "voaacenc"}) {
    GstElementFactory* f = gst_element_factory_find(name);
    if (f) {
      gst_object_unref(f);
      return name;
    }
  }
  return "avenc_aac";
}

}  // namespace estuary::pipelines
