// Owns: the per-stream feed that every WHEP viewer of a stream shares, so per-viewer work is only
// RTP payloading and SRTP. One pipeline per stream:
//   estuarysrc stream=app/x ─ video ─ h264parse (byte-stream, SPS/PPS before every keyframe) ─┐
//                           └ audio ─ AAC decode ─ Opus encode (once per stream) ───────────────┴─ estuarysink
//                           stream=app/x@rtc
// An Opus source (mono or stereo) passes through as it is (opusparse only): no decode, no re-encode.
// Viewers subscribe to "app/x@rtc" on the stream bus (its own GOP cache gives them a keyframe at
// once). The feed is an output kind ("rtc") run by the supervisor's slot lifecycle like every other
// output; it reports when it stops and when the stream turns out to carry B-frames (PTS != DTS),
// which WebRTC cannot carry: such streams are refused to viewers.
// Runs on the control thread.
#pragma once

#include <gst/gst.h>

#include <functional>
#include <string>

#include "common/result.h"
#include "server/config/config.h"

namespace estuary::webrtc {

struct FeedInfo {
  std::string bus_name;  // "app/x@rtc"
  bool video = false;
  bool audio = false;
  bool hevc = false;  // the video is H.265 (sent as it is to viewers whose offer has H265)
};

// The output kind (and viewer format) of the feed; registered with the output registry, so the
// supervisor's slot lifecycle runs it: started by the first WHEP viewer (PlayPort::begin_feed), kept
// [outputs] linger_ms after the last, restarted with backoff after a failure.
inline constexpr const char* kRtcFeedFormat = "rtc";
void register_rtc_feed_output();

// What a feed of `key` would carry, checked before a viewer joins: H.264 or H.265 video and AAC or Opus audio
// (unprocessable otherwise, not_found without a publisher); *audio_chain gets the audio branch.
Result<FeedInfo> plan_feed(const std::string& key, const config::Config& config, std::string* audio_chain);
// True once the running feed of `key` saw a video frame whose PTS differs from its DTS.
bool rtc_feed_has_bframes(const std::string& key);
// Told when a feed stops (its source ended, it failed, or it lingered out): its viewers must go.
using FeedLostFn = std::function<void(const std::string& key, const std::string& reason)>;
void set_rtc_feed_lost_handler(FeedLostFn fn);

// The feed's audio branch for a source with these audio caps: AAC is decoded and encoded to Opus,
// mono/stereo Opus passes through, surround Opus is down-mixed; anything else is refused (422).
Result<std::string> feed_audio_chain(const GstCaps* caps, const config::Config& config);
// The launch line of a feed for a stream with the given tracks (exposed for tests and the log);
// audio_chain "" = no audio branch; hevc: the video branch parses H.265.
std::string feed_launch(const std::string& key, bool video, const std::string& audio_chain,
                        const config::Config& config, bool hevc = false);

}  // namespace estuary::webrtc
