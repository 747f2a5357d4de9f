// Owns: hardware encoder selection for the `@h264enc` / `@h265enc` launch-line placeholders: the
// preference list (NVENC, VA, QSV, then x264/x265) adjusted by `[encoders] prefer / exclude /
// device`, confirmation by a short test encode and by checking the mapped property names against
// the element's real property list, klass "Hardware" + rank as the fallback order for encoders
// not on the list, mapping of the generic
// properties (bitrate in kbit/s, gop in frames, tune=latency, preset=fastest|fast|balanced|quality)
// to each encoder family's names, and the expansion of placeholders in a launch line. Selection is
// pure over an abstract registry and a test-encode function so it can be unit-tested; the
// GStreamer-backed pieces are separate functions.
// Runs on the control thread (the test encode blocks for a bounded time; call it at startup).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace estuary::pipelines {

enum class VideoCodec { h264, h265 };
const char* video_codec_name(VideoCodec codec);  // "h264", "h265"

// One encoder element factory as the selector sees it.
struct EncoderFactoryInfo {
  std::string name;   // factory name, e.g. "x264enc"
  std::string klass;  // e.g. "Codec/Encoder/Video/Hardware"
  unsigned rank = 0;
};

// Runs a short test encode with the named factory; false (and *error) when it does not work.
using TestEncodeFn = std::function<bool(const std::string& factory, std::string* error)>;

using Props = std::vector<std::pair<std::string, std::string>>;

struct EncoderChoice {
  VideoCodec codec = VideoCodec::h264;
  std::string element;                // chosen factory, "" when nothing works
  std::string family;                 // see encoder_family()
  std::string reason;                 // human-readable: why this one, what was skipped and why
  std::vector<std::string> rejected;  // "name: why" for every candidate tried and refused
  Props fixed;                        // properties set on every use (the device: cuda-device-id=N)
};

// `[encoders]` settings, shared by encoder and decoder selection.
struct SelectionOptions {
  std::vector<std::string> prefer;   // factories tried first, in this order (if registered)
  std::vector<std::string> exclude;  // factories never chosen
  std::string device;                // "" = default; "N" = CUDA device N; "/dev/dri/renderDN" = that VA device
};

// "" if device is "", a CUDA device index or a /dev/dri/renderD<N> path; otherwise the problem.
std::string check_device(const std::string& device);

// The factory that runs `factory` on `device`, following GStreamer's per-device registration
// (nvh264enc -> nvh264device1enc, nvh264dec -> nvh264device1dec, vah264enc -> varenderD129h264enc,
// qsvh264enc -> qsvh264device1enc); nvautogpu*enc keep their name (see device_properties). "" when
// the family cannot use that kind of device (a CUDA index for VA, a render node for NVIDIA). Software
// elements run anywhere and keep their name.
std::string factory_on_device(const std::string& factory, const std::string& device);
// Properties that pin `factory` to `device` (nvautogpuh264enc: cuda-device-id=N; cudaconvertscale and
// cudaupload: cuda-device-id=N).
Props device_properties(const std::string& factory, const std::string& device);

// Names of a factory's properties (the real element's, or a list from its documentation in tests);
// false when the element cannot be looked up.
using PropertyListFn = std::function<bool(const std::string& factory, std::vector<std::string>* names)>;

// The preference list, best first (the last entry is the software encoder).
const std::vector<std::string>& preferred_encoders(VideoCodec codec);

// The order in which candidates are tried: options.prefer (registered ones, in order), then the
// registered preferred encoders in preference order, except that the software one (x264enc/x265enc)
// goes after the encoders off the list whose klass contains "Hardware"; other software encoders come
// last. Off-list encoders are sorted by rank, then name. options.exclude are left out.
std::vector<std::string> candidate_order(VideoCodec codec, const std::vector<EncoderFactoryInfo>& registry,
                                         const SelectionOptions& options = {});

// Tries the candidates in order (each moved to options.device) and returns the first whose mapped
// properties all exist on the element (when `properties` is given) and that passes `test`.
EncoderChoice select_encoder(VideoCodec codec, const std::vector<EncoderFactoryInfo>& registry,
                             const TestEncodeFn& test, const SelectionOptions& options = {},
                             const PropertyListFn& properties = nullptr);

// The encoder family of a factory name: "nvenc" (nvautogpu*/nvcuda*/nvd3d11* enc, GStreamer 1.22's
// GstNvEncoder), "nvenc-legacy" (nvh264enc, nvh265enc and their per-device names), "va", "qsv",
// "x264", "x265", "openh264", "other".
std::string encoder_family(const std::string& factory);

// Every property name the mapping can set on `factory` (all generic keys and presets combined).
std::vector<std::string> mapped_property_names(const std::string& factory);
// "" when the element has every property the mapping sets; otherwise a message naming the element
// and the first missing property.
std::string check_mapped_properties(const std::string& factory, const std::vector<std::string>& real_properties);

// The launch fragment for `factory` with the generic properties mapped: bitrate (kbit/s), gop
// (frames), tune=latency, preset=fastest|fast|balanced|quality (x264 ultrafast/veryfast/medium/
// slow, NVENC hp/default/hq or the low-latency variants, VA/QSV target-usage 7/6/4/1, openh264
// complexity); tune=latency also turns frame reordering off (NVENC zero-reorder-delay, legacy NVENC
// zerolatency, VA/QSV b-frames=0, QSV low-latency). Other key=value pairs are passed through
// unchanged. For family "other" the generic ones are dropped (their meaning is unknown).
std::string map_encoder_properties(const std::string& factory,
                                   const std::vector<std::pair<std::string, std::string>>& props);

// Encoders in the GStreamer registry that produce the codec (klass Encoder + Video, src caps).
std::vector<EncoderFactoryInfo> list_gst_encoders(VideoCodec codec);
// Runs a launch line to EOS (true) or an error (false and *error), bounded by timeout_ms.
bool run_test_pipeline(const std::string& desc, std::string* error, int timeout_ms);
// 5 frames of videotestsrc through the encoder into fakesink, bounded by timeout_ms.
bool gst_test_encode(const std::string& factory, std::string* error, int timeout_ms = 5000);

// Name of the best installed AAC encoder factory (fdkaacenc, avenc_aac, voaacenc), for the
// Opus/MP3 to AAC bridges of ingests and outputs.
const char* aac_encoder_name();

}  // namespace estuary::pipelines
