// Owns: hardware encoder selection for the `@h264enc` / `@h265enc` launch-line placeholders: the
// preference list (NVENC, VA, QSV, then x264/x265), confirmation by a short test encode, klass
// "Hardware" + rank as the fallback order for encoders not on the list, mapping of the generic
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

struct EncoderChoice {
  VideoCodec codec = VideoCodec::h264;
  std::string element;                // chosen factory, "" when nothing works
  std::string family;                 // "nvenc", "va", "qsv", "x264", "x265", "openh264", "other"
  std::string reason;                 // human-readable: why this one, what was skipped and why
  std::vector<std::string> rejected;  // "name: why" for every candidate tried and refused
};

// The preference list, best first (the last entry is the software encoder).
const std::vector<std::string>& preferred_encoders(VideoCodec codec);

// The order in which candidates are tried: registered preferred encoders in preference order, except
// that the software one (x264enc/x265enc) goes after the encoders off the list whose klass contains
// "Hardware"; other software encoders come last. Off-list encoders are sorted by rank, then name.
std::vector<std::string> candidate_order(VideoCodec codec, const std::vector<EncoderFactoryInfo>& registry);

// Tries the candidates in order and returns the first that passes `test`.
EncoderChoice select_encoder(VideoCodec codec, const std::vector<EncoderFactoryInfo>& registry,
                             const TestEncodeFn& test);

// The encoder family of a factory name ("nvenc", "va", "qsv", "x264", "x265", "openh264", "other").
std::string encoder_family(const std::string& factory);

// The launch fragment for `factory` with the generic properties mapped: bitrate (kbit/s), gop
// (frames), tune=latency, preset=fastest|fast|balanced|quality (x264 ultrafast/veryfast/medium/
// slow, NVENC hp/default/hq or the low-latency variants, VA/QSV target-usage 7/6/4/1, openh264
// complexity). Other key=value pairs are passed through unchanged. For family "other" the generic
// ones are dropped (their meaning is unknown).
std::string map_encoder_properties(const std::string& factory,
                                   const std::vector<std::pair<std::string, std::string>>& props);

// Encoders in the GStreamer registry that produce the codec (klass Encoder + Video, src caps).
std::vector<EncoderFactoryInfo> list_gst_encoders(VideoCodec codec);
// 5 frames of videotestsrc through the encoder into fakesink, bounded by timeout_ms.
bool gst_test_encode(const std::string& factory, std::string* error, int timeout_ms = 5000);

// Replaces every `@h264enc` / `@h265enc` token and its key=value properties with the chosen
// encoder's fragment. An unresolved codec becomes "no-working-h264-encoder" so parsing fails with a
// message that says what is wrong.
std::string expand_encoder_placeholders(const std::string& launch, const std::map<VideoCodec, EncoderChoice>& choices);

// True if the launch line uses a placeholder.
bool has_encoder_placeholder(const std::string& launch);

// Name of the best installed AAC encoder factory (fdkaacenc, avenc_aac, voaacenc), for the
// Opus/MP3 to AAC bridges of ingests and outputs.
const char* aac_encoder_name();

}  // namespace estuary::pipelines
