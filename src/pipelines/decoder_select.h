// Owns: decoder selection for the `@h264dec` / `@h265dec` launch-line placeholders: NVDEC
// (nvh264dec / nvh265dec), then VA (vah264dec / vah265dec), then libav (avdec_h264 / avdec_h265),
// adjusted by `[encoders] prefer / exclude / device` and confirmed by a short test decode; and the
// families that decide how `@scale` keeps frames in GPU memory between decode, scale and encode.
// Pure over an abstract registry and a test-decode function (unit-testable); the GStreamer-backed
// pieces are separate functions. Control thread, at startup (the test decode blocks briefly).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "pipelines/encoder_select.h"

namespace estuary::pipelines {

struct DecoderChoice {
  VideoCodec codec = VideoCodec::h264;
  std::string element;  // chosen factory, "" when nothing works
  std::string family;   // "nvdec", "va", "software"
  std::string reason;
  std::vector<std::string> rejected;
};

// NVDEC, VA, then libav.
const std::vector<std::string>& preferred_decoders(VideoCodec codec);
// "nvdec" (nv*dec), "va" (va*dec), "software" (anything else).
std::string decoder_family(const std::string& factory);

// Runs a short test decode with the named factory; false (and *error) when it does not work.
using TestDecodeFn = std::function<bool(const std::string& factory, std::string* error)>;

// `registered`: factory names present in the registry (per-device names included). Tries
// options.prefer entries that are decoders of this codec, then preferred_decoders(), each moved to
// options.device (factory_on_device) and not in options.exclude; the first that passes `test` wins.
DecoderChoice select_decoder(VideoCodec codec, const std::vector<std::string>& registered, const TestDecodeFn& test,
                             const SelectionOptions& options = {});

// Names among the preferred decoders (and their per-device names) that the GStreamer registry has.
std::vector<std::string> list_gst_decoders(VideoCodec codec, const SelectionOptions& options = {});
// 5 frames of videotestsrc encoded with the software encoder, parsed and decoded by `factory`
// into fakesink, bounded by timeout_ms.
bool gst_test_decode(VideoCodec codec, const std::string& factory, std::string* error, int timeout_ms = 5000);

// The launch fragment of `@scale width=W height=H` between a decoder of `decoder_family` and an
// encoder of `encoder_family`: CUDA memory end to end for NVDEC and/or NVENC (cudaupload once for a
// software decoder, cudadownload for a software encoder), VA memory for VA to VA (vapostproc),
// videoscale + videoconvert otherwise. `device` pins the CUDA elements (cuda-device-id).
std::string scale_fragment(const std::string& decoder_family, const std::string& encoder_family,
                           const std::string& width, const std::string& height, const std::string& device = "");

}  // namespace estuary::pipelines
