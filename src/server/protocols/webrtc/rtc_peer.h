// Owns: one webrtcbin in its own pipeline, as a WHIP or WHEP session uses it: ICE settings (interfaces,
// port range, ICE-TCP, no UPnP), the answer to an already validated offer (set-remote → create-answer →
// set-local → wait for candidate gathering, bounded by a timeout), trickle candidates, connection
// state, and when the peer was last heard (any packet arriving through libnice). The caller adds its
// media elements to pipeline() before start().
//
// Threads: every webrtcbin callback (promises, notify::*, deep-element-added) runs on a GStreamer
// thread and only posts to the control thread, holding a weak reference to this peer; the packet
// probe only writes atomics. Methods and Events run on the control thread. Destroying the peer sets
// the pipeline to NULL (joining its threads) on the control thread.
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/gobject_ptr.h"
#include "common/result.h"
#include "pipelines/managed_pipeline.h"

namespace estuary::webrtc {

struct IceSettings {
  std::vector<std::string> interfaces;  // local IPs to gather on; empty = all
  int port_min = 0;
  int port_max = 0;
  bool ice_tcp = false;
};

class RtcPeer : public std::enable_shared_from_this<RtcPeer> {
 public:
  struct Events {
    std::function<void(Result<std::string> answer_sdp)> on_answer;  // Error::code is an HTTP status
    std::function<void()> on_connected;                             // ICE and DTLS connected (once)
    std::function<void(const std::string& reason)> on_failed;       // connection failed or pipeline error
    std::function<void(const GstStructure* s)> on_element_message;  // from the pipeline's bus
  };

  // label: "session-id" for logs. latency_ms: webrtcbin's jitterbuffer latency (received media).
  static Result<std::shared_ptr<RtcPeer>> create(std::string label, const IceSettings& ice, int latency_ms);
  ~RtcPeer();
  RtcPeer(const RtcPeer&) = delete;
  RtcPeer& operator=(const RtcPeer&) = delete;

  GstElement* pipeline() const;
  GstElement* webrtcbin() const { return webrtc_.get(); }
  void set_events(Events events) { events_ = std::move(events); }

  Status start();  // pipeline to PLAYING
  // Answers `offer_sdp` (already validated and filtered); events.on_answer runs once.
  void answer(const std::string& offer_sdp, int gather_timeout_ms);
  Status add_candidate(int mline, const std::string& candidate);
  void stop();

  bool connected() const { return connected_; }
  // g_get_monotonic_time() of the last packet from the peer (0 = none yet).
  int64_t last_rx_us() const { return counters_->last_rx_us.load(std::memory_order_relaxed); }
  uint64_t bytes_received() const { return counters_->rx_bytes.load(std::memory_order_relaxed); }

 private:
  struct Counters {
    std::atomic<int64_t> last_rx_us{0};
    std::atomic<uint64_t> rx_bytes{0};
  };
  RtcPeer(std::string label, std::unique_ptr<pipelines::ManagedPipeline> pipeline, Ref<GstElement> webrtc);
  void connect_signals();
  void on_remote_set(const std::string& error);
  void on_answer_created(const std::string& sdp, const std::string& error);
  void on_local_set(const std::string& error);
  void on_gathering_changed();
  void on_state_changed();
  void finish_answer(bool timed_out);
  void fail_answer(const std::string& message, ErrorReason reason);

  std::string label_;
  std::unique_ptr<pipelines::ManagedPipeline> pipeline_;
  Ref<GstElement> webrtc_;
  Events events_;
  std::shared_ptr<Counters> counters_ = std::make_shared<Counters>();
  std::vector<SignalGuard> signals_;
  SourceGuard gather_timer_;
  bool answering_ = false;
  bool local_set_ = false;
  bool connected_ = false;
  bool failed_ = false;
};

}  // namespace estuary::webrtc
