// Owns: decoder selection and the @scale fragment (see decoder_select.h).
#include "pipelines/decoder_select.h"

#include <gst/gst.h>

#include <algorithm>

namespace estuary::pipelines {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string with_device(const std::string& element, const std::string& device) {
  std::string out = element;
  for (const auto& [key, value] : device_properties(element, device)) out += " " + key + "=" + value;
  return out;
}

bool is_nvidia_encoder(const std::string& family) { return family == "nvenc" || family == "nvenc-legacy"; }

}  // namespace

const std::vector<std::string>& preferred_decoders(VideoCodec codec) {
  static const std::vector<std::string> h264 = {"nvh264dec", "vah264dec", "avdec_h264"};
  static const std::vector<std::string> h265 = {"nvh265dec", "vah265dec", "avdec_h265"};
  return codec == VideoCodec::h264 ? h264 : h265;
}

std::string decoder_family(const std::string& f) {
  if (f.rfind("nv", 0) == 0) return "nvdec";
  if (f.rfind("va", 0) == 0) return "va";
  return "software";
}

DecoderChoice select_decoder(VideoCodec codec, const std::vector<std::string>& registered, const TestDecodeFn& test,
                             const SelectionOptions& options) {
  DecoderChoice choice;
  choice.codec = codec;
  const auto& preferred = preferred_decoders(codec);
  // prefer may name encoders and the other codec's decoders too: keep this codec's decoders
  // (nvh264dec, varenderD129h264dec, avdec_h264).
  const std::string codec_name = video_codec_name(codec);
  std::vector<std::string> order;
  for (const auto& name : options.prefer) {
    const bool decoder =
        name.find(codec_name) != std::string::npos &&
        (name.rfind("avdec_", 0) == 0 || (name.size() > 3 && name.compare(name.size() - 3, 3, "dec") == 0));
    if (decoder && !contains(order, name)) order.push_back(name);
  }
  for (const auto& name : preferred)
    if (!contains(order, name)) order.push_back(name);
  for (const auto& base : order) {
    if (contains(options.exclude, base)) continue;
    std::string name = factory_on_device(base, options.device);
    if (name.empty()) {
      choice.rejected.push_back(base + ": cannot use device " + options.device);
      continue;
    }
    if (!contains(registered, name)) {
      if (contains(preferred, base) && name == base) continue;  // simply not installed here
      choice.rejected.push_back(name + ": not registered");
      continue;
    }
    std::string error;
    if (!test(name, &error)) {
      choice.rejected.push_back(name + ": test decode failed" + (error.empty() ? "" : " (" + error + ")"));
      continue;
    }
    choice.element = name;
    choice.family = decoder_family(name);
    auto pos = std::find(preferred.begin(), preferred.end(), base);
    choice.reason = contains(options.prefer, base) ? std::string("named in [encoders] prefer")
                    : pos != preferred.end() ? "preference #" + std::to_string(pos - preferred.begin() + 1) + " of " +
                                                   std::to_string(preferred.size())
                                             : std::string("listed");
    choice.reason += ", passed a 5-frame test decode";
    if (!options.device.empty()) choice.reason += ", on device " + options.device;
    break;
  }
  if (choice.element.empty()) choice.reason = std::string("no working ") + video_codec_name(codec) + " decoder";
  std::string missing;
  for (const auto& name : preferred)
    if (!contains(registered, name)) missing += (missing.empty() ? "" : ", ") + name;
  if (!missing.empty()) choice.reason += "; not registered: " + missing;
  if (!choice.rejected.empty()) {
    std::string list;
    for (const auto& r : choice.rejected) list += (list.empty() ? "" : "; ") + r;
    choice.reason += "; rejected: " + list;
  }
  return choice;
}

std::vector<std::string> list_gst_decoders(VideoCodec codec, const SelectionOptions& options) {
  std::vector<std::string> names = preferred_decoders(codec);
  for (const auto& p : options.prefer) names.push_back(p);
  std::vector<std::string> out;
  for (const auto& base : names) {
    for (const std::string& name : {base, factory_on_device(base, options.device)}) {
      if (name.empty() || contains(out, name)) continue;
      GstElementFactory* f = gst_element_factory_find(name.c_str());
      if (!f) continue;
      gst_object_unref(f);
      out.push_back(name);
    }
  }
  return out;
}

bool gst_test_decode(VideoCodec codec, const std::string& factory, std::string* error, int timeout_ms) {
  const bool h264 = codec == VideoCodec::h264;
  return run_test_pipeline(
      std::string("videotestsrc num-buffers=5 ! video/x-raw,width=320,height=240,framerate=30/1 ! ") +
          (h264 ? "x264enc ! h264parse ! " : "x265enc ! h265parse ! ") + factory + " ! fakesink",
      error, timeout_ms);
}

std::string scale_fragment(const std::string& decoder_family, const std::string& encoder_family,
                           const std::string& width, const std::string& height, const std::string& device) {
  const std::string size = "width=" + width + ",height=" + height;
  const std::string cuda_caps = "video/x-raw(memory:CUDAMemory)," + size;
  if (decoder_family == "nvdec" && is_nvidia_encoder(encoder_family))
    return with_device("cudaconvertscale", device) + " ! " + cuda_caps;
  if (decoder_family == "nvdec")
    return with_device("cudaconvertscale", device) + " ! " + cuda_caps + " ! " + with_device("cudadownload", device) +
           " ! videoconvert";
  if (is_nvidia_encoder(encoder_family))
    return with_device("cudaupload", device) + " ! " + with_device("cudaconvertscale", device) + " ! " + cuda_caps;
  std::string postproc = factory_on_device("vapostproc", device);  // varenderD129postproc on a second node
  if (postproc.empty()) postproc = "vapostproc";
  if (decoder_family == "va" && encoder_family == "va") return postproc + " ! video/x-raw(memory:VAMemory)," + size;
  if (decoder_family == "va") return postproc + " ! video/x-raw," + size + " ! videoconvert";
  return "videoscale ! video/x-raw," + size + " ! videoconvert";
}

}  // namespace estuary::pipelines
