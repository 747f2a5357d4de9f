// Owns: the GStreamer side of a WHIP publisher on the shared engine: its ingest pipeline
//   appsrc (video RTP) ! rtpjitterbuffer do-retransmission ! rtph264depay ! h264parse ─┐
//   appsrc (audio RTP) ! rtpjitterbuffer ! rtpopusdepay ! opusdec ! … AAC ! aacparse ───┴ estuarysink stream=app/x
// (the chains after the jitter buffer are rtc_media's, the same as behind webrtcbin), fed with the
// decrypted RTP the engine hands to push(); and the feedback the pipeline asks for: the jitter
// buffer's retransmission requests (GstRTPRetransmissionRequest) and keyframe requests
// (GstForceKeyUnit from the depayloader, or request_keyframe) reach the appsrc's pad and go to the
// Feedback callbacks, which queue NACK/PLI in the engine.
// Threads: built, started and stopped on the control thread; push() runs on the engine thread and
// never blocks (bounded appsrc queues drop the newest when full); the Feedback callbacks run on
// streaming threads and must not block (the engine's outbox).
// Must not know: sockets, SRTP, the supervisor (the session wires ingest events).
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "pipelines/managed_pipeline.h"
#include "server/protocols/webrtc/rtc_media.h"
#include "server/protocols/webrtc/sdp_offer.h"

namespace estuary::webrtc {

struct IngestFeedback {
  std::function<void()> keyframe;                           // streaming thread: PLI
  std::function<void(uint32_t ssrc, uint16_t seq)> resend;  // streaming thread: NACK (ssrc 0: the video track's)
};

class EngineIngest {
 public:
  // label: session id (pipeline name, logs). jitter_ms: the jitter buffer's latency (room for NACKs).
  static Result<std::unique_ptr<EngineIngest>> create(const std::string& label, const OfferPlan& plan,
                                                      const std::string& stream_key, uint64_t gop_cache_bytes,
                                                      int jitter_ms, IngestFeedback feedback);
  ~EngineIngest();
  EngineIngest(const EngineIngest&) = delete;
  EngineIngest& operator=(const EngineIngest&) = delete;

  pipelines::ManagedPipeline& pipeline() { return *pipeline_; }
  const WhipMedia& media() const { return media_; }
  // The engine's on_rtp: one decrypted RTP packet of a track; any thread, never blocks.
  std::function<void(const uint8_t* rtp, size_t len, bool video)> input() const;
  Status start();
  void stop();

 private:
  struct Sources;
  EngineIngest() = default;
  std::unique_ptr<pipelines::ManagedPipeline> pipeline_;
  std::shared_ptr<Sources> sources_;
  WhipMedia media_;
};

}  // namespace estuary::webrtc
