// Owns: the once-per-stream RTP payloading of the shared engine. One pipeline per feed:
//   estuarysrc stream=app/x@rtc ─ video: queue ! rtph264pay (SPS/PPS before every IDR; rtph265pay with
//                               │        VPS/SPS/PPS for an H.265 feed) ! fakesink
//                               └ audio: queue ! rtpopuspay ! fakesink
// whose payloader output is copied, packet by packet, into the track's PacketRing (a probe on a
// streaming thread: it only pushes and wakes the engine). Keyframe starts are marked for late joiners.
// The feed's own GOP cache primes the ring at start. Created and destroyed on the control thread.
// Must not know: viewers, sockets, SRTP.
#pragma once

#include <gst/gst.h>

#include <functional>
#include <memory>
#include <string>

#include "common/gobject_ptr.h"
#include "common/result.h"
#include "server/protocols/webrtc/engine/packet_ring.h"

namespace estuary::webrtc::engine {

inline constexpr int kVideoPt = 96;  // the payloaders' types; each viewer's packets get its offer's
inline constexpr int kAudioPt = 111;

class Packetizer {
 public:
  // wake: called on a streaming thread after packets were added.
  // hevc: the feed's video is H.265 (rtph265pay) instead of H.264.
  static Result<std::unique_ptr<Packetizer>> create(const std::string& feed, uint64_t queue_ns,
                                                    std::function<void()> wake, bool hevc = false);
  ~Packetizer();
  Packetizer(const Packetizer&) = delete;
  Packetizer& operator=(const Packetizer&) = delete;

  std::shared_ptr<PacketRing> video() const { return video_; }
  std::shared_ptr<PacketRing> audio() const { return audio_; }

 private:
  Packetizer() = default;
  Ref<GstElement> pipeline_;
  std::shared_ptr<PacketRing> video_ = std::make_shared<PacketRing>(4096);
  std::shared_ptr<PacketRing> audio_ = std::make_shared<PacketRing>(512);
};

}  // namespace estuary::webrtc::engine
