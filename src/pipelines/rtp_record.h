// Owns: the media side of an RTSP publisher (ANNOUNCE/RECORD): the launch line of the bin that
// gst-rtsp-server's record media runs — per announced RTP track a depayloader (named depay0,
// depay1, … as the server expects), its parser and a valve that starts closed — and, once the
// publisher is admitted, the `estuarysink` the valves open into. Until then nothing reaches the
// stream bus: a publisher waiting for its on_publish hook or refused by it never shows up there.
// Also the RTP encoding names we carry (shared with pulled RTSP sources).
//
// Must not know: RTSP, the supervisor, hooks. Threads: create/open/stop on the control thread; the
// bin's streaming threads only count bytes (atomics) and post bus messages, which reach the events
// on the control thread.
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/gobject_ptr.h"
#include "common/result.h"
#include "pipelines/managed_pipeline.h"

namespace estuary::pipelines {

// Depayloader and parser for an RTP encoding name (SDP rtpmap, any case); {nullptr, nullptr} when the
// codec is not carried: H264, H265, MPEG4-GENERIC and MP4A-LATM (AAC), OPUS.
std::pair<const char*, const char*> rtp_depay_chain(const char* encoding_name);

struct RecordTrack {
  bool video = false;
  std::string encoding;  // rtpmap encoding name
  std::string language;  // audio: the SDP's a=lang (RFC 5646 / ISO 639), "" when none
};

// Audio tracks an RTSP publisher may announce (published as audio_0 ... audio_7).
constexpr size_t kMaxRecordAudioTracks = 8;

class RecordIngest {
 public:
  // The bin's launch line for these tracks. Errors (invalid): no track, more than one video track or
  // kMaxRecordAudioTracks audio tracks, an encoding rtp_depay_chain does not know.
  static Result<std::string> launch(const std::vector<RecordTrack>& tracks);
  // Takes over `bin`, the record media's element built from launch(tracks); stream: app/name on the bus.
  static Result<std::unique_ptr<RecordIngest>> attach(std::string stream, GstElement* bin,
                                                      const std::vector<RecordTrack>& tracks);
  ~RecordIngest();
  RecordIngest(const RecordIngest&) = delete;
  RecordIngest& operator=(const RecordIngest&) = delete;

  // Publishes: adds the bus sink (the bin must be in its pipeline by now), the video track on its
  // pad sink_0 and the audio tracks, in the order announced, as audio_0, audio_1, ... (sink_1,
  // sink_2, ..., each with its language), and opens the valves. The
  // events get the sink's "estuary-stream-ready" and the bin's errors, on the control thread.
  Status open(uint64_t gop_cache_max_bytes, PipelineEvents events);
  // Unpublishes at once (the sink leaves the bus) and closes the valves; idempotent.
  void stop();
  bool opened() const { return bool(sink_); }

  // RTP bytes received and the time of the last packet (creation time when none), shared with the
  // streaming threads; outlives the ingest for whoever keeps it (the client record's counters).
  struct Counters {
    std::atomic<uint64_t> bytes{0};
    std::atomic<int64_t> last_us{0};
    int64_t idle_ms() const { return (g_get_monotonic_time() - last_us.load(std::memory_order_relaxed)) / 1000; }
  };
  std::shared_ptr<const Counters> counters() const { return counters_; }
  struct Watch;  // bus sync-message glue (implementation detail)

 private:
  RecordIngest(std::string stream, Ref<GstElement> bin, std::vector<Ref<GstElement>> valves);

  std::string stream_;
  Ref<GstElement> bin_;
  std::vector<Ref<GstElement>> valves_;
  Ref<GstElement> sink_;
  Ref<GstBus> bus_;
  SignalGuard bus_signal_;
  std::shared_ptr<Counters> counters_ = std::make_shared<Counters>();
  std::vector<RecordTrack> tracks_;
};

}  // namespace estuary::pipelines
