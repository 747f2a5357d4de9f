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

bool is_integer(const std::string& s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

bool is_generic_preset(const std::string& v) {
  return v == "fastest" || v == "fast" || v == "balanced" || v == "quality";
}

}  // namespace

const char* video_codec_name(VideoCodec codec) { return codec == VideoCodec::h264 ? "h264" : "h265"; }

const std::vector<std::string>& preferred_encoders(VideoCodec codec) {
  static const std::vector<std::string> h264 = {"nvautogpuh264enc", "nvh264enc",  "vah264lpenc",
                                                "vah264enc",        "qsvh264enc", "x264enc"};
  static const std::vector<std::string> h265 = {"nvautogpuh265enc", "nvh265enc",  "vah265lpenc",
                                                "vah265enc",        "qsvh265enc", "x265enc"};
  return codec == VideoCodec::h264 ? h264 : h265;
}

std::vector<std::string> candidate_order(VideoCodec codec, const std::vector<EncoderFactoryInfo>& registry,
                                         const SelectionOptions& options) {
  const auto& preferred = preferred_encoders(codec);
  auto registered = [&](const std::string& name) {
    return std::any_of(registry.begin(), registry.end(), [&](const EncoderFactoryInfo& f) { return f.name == name; });
  };
  std::vector<std::string> order;
  auto add = [&](const std::string& name) {
    bool excluded = std::find(options.exclude.begin(), options.exclude.end(), name) != options.exclude.end();
    if (!excluded && std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
  };
  for (const auto& name : options.prefer) {
    if (registered(name)) add(name);
  }
  for (const auto& name : preferred) {
    if (!is_software_default(codec, name) && registered(name)) add(name);
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
    if (klass_has(f.klass, "Hardware")) add(f.name);
  }
  if (registered(preferred.back())) add(preferred.back());
  for (const auto& f : others) {
    if (!klass_has(f.klass, "Hardware")) add(f.name);
  }
  return order;
}

std::string check_device(const std::string& device) {
  if (device.empty() || is_integer(device)) return "";
  const std::string node = "/dev/dri/renderD";
  if (device.rfind(node, 0) == 0 && is_integer(device.substr(node.size()))) return "";
  return "device \"" + device + "\" is neither a CUDA device index (0, 1, ...) nor a /dev/dri/renderD<N> path";
}

std::string factory_on_device(const std::string& factory, const std::string& device) {
  if (device.empty()) return factory;
  const bool cuda = is_integer(device);
  const bool nvidia = factory.rfind("nv", 0) == 0 || factory.rfind("cuda", 0) == 0;
  const bool va = factory.rfind("va", 0) == 0;
  const bool qsv = factory.rfind("qsv", 0) == 0;
  if (!nvidia && !va && !qsv) return factory;  // software: any device
  if (nvidia != cuda && !qsv) return "";
  if (qsv) return "";  // QSV numbers its devices by enumeration order, which a path or CUDA index does not give
  if (nvidia) {
    if (factory.rfind("nvautogpu", 0) == 0 || factory.rfind("cuda", 0) == 0 || device == "0") return factory;
    // nvh264enc -> nvh264device1enc, nvcudah264enc -> nvcudah264device1enc, nvh264dec -> nvh264device1dec
    for (const char* suffix : {"enc", "dec"}) {
      const std::string sfx = suffix;
      if (factory.size() > sfx.size() && factory.compare(factory.size() - sfx.size(), sfx.size(), sfx) == 0)
        return factory.substr(0, factory.size() - sfx.size()) + "device" + device + sfx;
    }
    return factory;
  }
  // VA: the first render node (renderD128) keeps the plain name, others get their node's name.
  const std::string node = device.substr(std::string("/dev/dri/").size());
  if (node == "renderD128") return factory;
  return "va" + node + factory.substr(2);
}

Props device_properties(const std::string& factory, const std::string& device) {
  if (!is_integer(device)) return {};
  if (factory.rfind("nvautogpu", 0) == 0 || factory == "cudaupload" || factory == "cudaconvertscale" ||
      factory == "cudadownload")
    return {{"cuda-device-id", device}};
  return {};
}

EncoderChoice select_encoder(VideoCodec codec, const std::vector<EncoderFactoryInfo>& registry,
                             const TestEncodeFn& test, const SelectionOptions& options,
                             const PropertyListFn& properties) {
  EncoderChoice choice;
  choice.codec = codec;
  auto registered = [&](const std::string& name) {
    return std::any_of(registry.begin(), registry.end(), [&](const EncoderFactoryInfo& f) { return f.name == name; });
  };
  std::vector<std::string> missing;
  for (const auto& name : preferred_encoders(codec)) {
    if (!registered(name)) missing.push_back(name);
  }
  const auto& preferred = preferred_encoders(codec);
  for (const auto& base : candidate_order(codec, registry, options)) {
    std::string name = factory_on_device(base, options.device);
    if (name.empty()) {
      choice.rejected.push_back(base + ": cannot use device " + options.device);
      continue;
    }
    if (name != base && !registered(name)) {
      choice.rejected.push_back(base + ": no " + name + " registered for device " + options.device);
      continue;
    }
    Props fixed = device_properties(name, options.device);
    if (properties) {
      std::vector<std::string> names;
      if (!properties(name, &names)) {
        choice.rejected.push_back(name + ": cannot read its properties");
        continue;
      }
      std::string problem = check_mapped_properties(name, names);
      if (problem.empty()) {
        for (const auto& [key, value] : fixed) {
          if (std::find(names.begin(), names.end(), key) == names.end())
            problem = name + " has no property \"" + key + "\" (needed for device " + options.device + ")";
        }
      }
      if (!problem.empty()) {
        choice.rejected.push_back(name + ": " + problem);
        continue;
      }
    }
    std::string fragment = name;
    for (const auto& [key, value] : fixed) fragment += " " + key + "=" + value;
    std::string error;
    if (!test(fragment, &error)) {
      choice.rejected.push_back(name + ": test encode failed" + (error.empty() ? "" : " (" + error + ")"));
      continue;
    }
    choice.element = name;
    choice.family = encoder_family(name);
    choice.fixed = fixed;
    auto pos = std::find(preferred.begin(), preferred.end(), base);
    if (std::find(options.prefer.begin(), options.prefer.end(), base) != options.prefer.end()) {
      choice.reason = "named in [encoders] prefer, passed a 5-frame test encode";
    } else if (pos != preferred.end()) {
      choice.reason = "preference #" + std::to_string(pos - preferred.begin() + 1) + " of " +
                      std::to_string(preferred.size()) + ", passed a 5-frame test encode";
    } else {
      auto it =
          std::find_if(registry.begin(), registry.end(), [&](const EncoderFactoryInfo& f) { return f.name == base; });
      choice.reason = std::string("not on the preference list; chosen by ") +
                      (klass_has(it->klass, "Hardware") ? "klass Hardware and " : "") + "rank " +
                      std::to_string(it->rank) + ", passed a 5-frame test encode";
    }
    if (!options.device.empty()) choice.reason += ", on device " + options.device;
    break;
  }
  if (choice.element.empty()) choice.reason = std::string("no working ") + video_codec_name(codec) + " encoder";
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    choice.reason += "; not registered: " + list;
  }
  if (!options.exclude.empty()) {
    std::string list;
    for (const auto& m : options.exclude) list += (list.empty() ? "" : ", ") + m;
    choice.reason += "; excluded: " + list;
  }
  if (!choice.rejected.empty()) {
    std::string list;
    for (const auto& r : choice.rejected) list += (list.empty() ? "" : "; ") + r;
    choice.reason += "; rejected: " + list;
  }
  return choice;
}

std::string encoder_family(const std::string& f) {
  if (f.rfind("nvautogpu", 0) == 0 || f.rfind("nvcuda", 0) == 0 || f.rfind("nvd3d11", 0) == 0) return "nvenc";
  if (f.rfind("nv", 0) == 0) return "nvenc-legacy";
  if (f.rfind("va", 0) == 0) return "va";
  if (f.rfind("qsv", 0) == 0) return "qsv";
  if (f == "x264enc") return "x264";
  if (f == "x265enc") return "x265";
  if (f == "openh264enc") return "openh264";
  return "other";
}

std::vector<std::string> mapped_property_names(const std::string& factory) {
  std::vector<std::string> names;
  auto collect = [&](const Props& props) {
    std::string fragment = map_encoder_properties(factory, props);
    size_t i = fragment.find(' ');
    while (i != std::string::npos) {
      size_t eq = fragment.find('=', i);
      std::string key = fragment.substr(i + 1, eq - i - 1);
      if (std::find(names.begin(), names.end(), key) == names.end()) names.push_back(key);
      i = fragment.find(' ', eq);
    }
  };
  for (const char* preset : {"fastest", "fast", "balanced", "quality"}) {
    collect({{"bitrate", "1000"}, {"gop", "30"}, {"tune", "latency"}, {"preset", preset}});
    collect({{"preset", preset}});
  }
  collect({{"bitrate", "1000"}, {"gop", "30"}, {"tune", "latency"}});
  return names;
}

std::string check_mapped_properties(const std::string& factory, const std::vector<std::string>& real_properties) {
  for (const auto& name : mapped_property_names(factory)) {
    if (std::find(real_properties.begin(), real_properties.end(), name) == real_properties.end())
      return "the " + encoder_family(factory) + " mapping sets property \"" + name + "\", which " + factory +
             " does not have";
  }
  return "";
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
      else if (family == "nvenc" || family == "nvenc-legacy" || family == "qsv" || family == "openh264")
        add("gop-size", value);
    } else if (key == "tune" && value == "latency") {
      if (family == "x264" || family == "x265") {
        add("tune", "zerolatency");
        if (preset.empty()) add("speed-preset", "veryfast");
      } else if (family == "nvenc" || family == "nvenc-legacy") {
        add("preset", preset == "fastest" || preset == "fast" ? "low-latency-hp"
                      : preset == "balanced"                  ? "low-latency"
                                                              : "low-latency-hq");
        // 1.22's GstNvEncoder (nvautogpu*, nvcuda*) calls it zero-reorder-delay; nvh264enc zerolatency.
        add(family == "nvenc" ? "zero-reorder-delay" : "zerolatency", "true");
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
      } else if (family == "nvenc" || family == "nvenc-legacy") {
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

bool run_test_pipeline(const std::string& desc, std::string* error, int timeout_ms) {
  GError* err = nullptr;
  GstElement* parsed = gst_parse_launch_full(desc.c_str(), nullptr, GST_PARSE_FLAG_FATAL_ERRORS, &err);
  Ref<GstElement> pipeline = parsed ? Ref<GstElement>::adopt_floating(parsed) : Ref<GstElement>();
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

bool gst_test_encode(const std::string& factory, std::string* error, int timeout_ms) {
  return run_test_pipeline(
      "videotestsrc num-buffers=5 ! video/x-raw,width=320,height=240,framerate=30/1 ! "
      "videoconvert ! " +
          factory + " ! fakesink",
      error, timeout_ms);
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
