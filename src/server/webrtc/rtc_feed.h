// Owns: the per-stream feed that every WHEP viewer of a stream shares, so per-viewer work is only
// RTP payloading and SRTP. One pipeline per stream:
//   estuarysrc stream=app/x ─ video ─ h264parse (byte-stream, SPS/PPS before every keyframe) ─┐
//                           └ audio ─ AAC decode ─ Opus encode (once per stream) ───────────────┴─ estuarysink
//                           stream=app/x@rtc
// An Opus source (mono or stereo) passes through as it is (opusparse only): no decode, no re-encode.
// Viewers subscribe to "app/x@rtc" on the stream bus (its own GOP cache gives them a keyframe at
// once). The feed starts with the first viewer, stays [outputs] linger_ms after the last one, and
// reports when its source ends and when the stream turns out to carry B-frames (PTS != DTS), which
// WebRTC cannot carry: such streams are refused to viewers.
// Runs on the control thread.
#pragma once

#include <gst/gst.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/gobject_ptr.h"
#include "common/result.h"
#include "pipelines/managed_pipeline.h"
#include "server/config/config.h"

namespace estuary::webrtc {

struct FeedInfo {
  std::string bus_name;  // "app/x@rtc"
  bool video = false;
  bool audio = false;
};

class RtcFeeds {
 public:
  struct Events {
    // The feed of `key` stopped for good (source ended, error, B-frames): its viewers must go.
    std::function<void(const std::string& key, const std::string& reason)> on_feed_lost;
  };
  explicit RtcFeeds(const config::Config& config, Events events);
  ~RtcFeeds();

  using ReadyFn = std::function<void(Result<FeedInfo>)>;
  // Registers viewer_id on the feed of key (starting it if needed) and calls ready once the feed is
  // on the bus (at once if it already is), or with an error (Error::code = HTTP status).
  void acquire(const std::string& key, const std::string& viewer_id, ReadyFn ready);
  // The viewer left; the feed lingers if it was the last one.
  void release(const std::string& key, const std::string& viewer_id);
  // True once the feed saw a video frame whose PTS differs from its DTS.
  bool has_bframes(const std::string& key) const;
  size_t count() const { return feeds_.size(); }

  // The config the next feeds are built from (SIGHUP).
  void set_config(const config::Config& config) { config_ = &config; }

 private:
  struct Feed;
  void on_ready(const std::string& key);
  void on_lost(const std::string& key, const std::string& reason);
  void stop_feed(const std::string& key, const std::string& reason);

  const config::Config* config_;
  Events events_;
  std::map<std::string, std::unique_ptr<Feed>> feeds_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// The feed's audio branch for a source with these audio caps: AAC is decoded and encoded to Opus,
// mono/stereo Opus passes through, surround Opus is down-mixed; anything else is refused (422).
Result<std::string> feed_audio_chain(const GstCaps* caps, const config::Config& config);
// The launch line of a feed for a stream with the given tracks (exposed for tests and the log);
// audio_chain "" = no audio branch.
std::string feed_launch(const std::string& key, bool video, const std::string& audio_chain,
                        const config::Config& config);

}  // namespace estuary::webrtc
