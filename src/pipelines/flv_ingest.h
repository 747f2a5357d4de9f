// Owns: the ingest pipeline for RTMP publishers. Each audio/video message is parsed by our own code
// (flv_media.h: legacy AVC/HEVC/AAC/MP3/G.711 and enhanced RTMP hvc1/av01/vp09/avc1, Opus/mp4a/.mp3/
// ac-3/ec-3) and pushed as an elementary-stream buffer with gst_pad_push from a source pad of ours,
// synchronously on the caller's thread, through the codec's parser (h264parse, h265parse, av1parse,
// vp9parse, aacparse, opusparse, ...) into estuarysink. No flvdemux, no appsrc, no streaming thread of
// its own: the pipeline is `[our pad] ! parser ! estuarysink` per track.
// Enhanced RTMP multitrack audio gives one bus track per track id (the first seen is audio_0);
// multitrack video carries track 0.
// Messages are held until the tracks are known (so the bus sink announces exactly those), then the
// pipeline starts. push() never blocks (estuarysink hands buffers to bounded subscriber queues).
// Must not know: sockets, the RTMP session, the server.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "pipelines/flv_media.h"
#include "pipelines/managed_pipeline.h"

namespace estuary::pipelines {

struct IngestSettings {
  uint64_t gop_cache_max_bytes = 32u << 20;
  size_t max_pending_bytes = 8u << 20;  // bound of the messages held before the tracks are known
};

class FlvIngest {
 public:
  FlvIngest(std::string stream_name, IngestSettings settings);
  ~FlvIngest();
  FlvIngest(const FlvIngest&) = delete;
  FlvIngest& operator=(const FlvIngest&) = delete;

  // Events of the ingest pipeline (ready message from the bus sink, errors). Set before push().
  void set_events(PipelineEvents events) { events_ = std::move(events); }
  // One media message: type 8 audio, 9 video (18, script data, is ignored). An error (malformed or
  // unsupported media, a codec change mid-stream, a refused buffer) ends the publish: the caller closes.
  Status push(uint8_t type, uint32_t timestamp_ms, const uint8_t* body, size_t size);
  void stop();
  bool started() const { return pipeline_ != nullptr; }
  const std::string& stream_name() const { return stream_name_; }
  // Codec of a track ("none" before it is known).
  MediaCodec codec(bool video) const { return (video ? video_ : audio_).codec; }

 private:
  struct Pending {
    uint8_t type;
    uint32_t ts;
    std::vector<uint8_t> body;
  };
  struct Track {
    MediaCodec codec = MediaCodec::none;
    Ref<GstPad> pad;  // our source pad, linked to the parser (or the bus sink)
    std::vector<uint8_t> config;
    bool caps_sent = false;
    unsigned nal_length = 0;
    uint32_t rate = 0, channels = 0;
    bool dropped_logged = false;
  };
  bool tracks_known() const;
  Status start_pipeline();
  Status link_track(GstElement* pipeline, GstElement* sink, Track& track, const std::string& sink_pad,
                    const std::string& name);
  // The track a unit belongs to: video track 0, the first audio track seen, or a further audio track of
  // an enhanced RTMP multitrack publisher (registered while the tracks are not yet announced); nullptr
  // for a track that is not carried.
  Track* track_for(const FlvMediaUnit& unit);
  Status accept(const FlvMediaUnit& unit);
  Status deliver(const FlvMediaUnit& unit, uint32_t ts);
  Status send_caps(Track& track, bool video);

  std::string stream_name_;
  IngestSettings settings_;
  PipelineEvents events_;
  std::unique_ptr<ManagedPipeline> pipeline_;
  Track video_, audio_;
  int audio_id_ = -1;                    // multitrack id of audio_ (the bus's audio_0)
  std::map<uint8_t, Track> more_audio_;  // further multitrack audio tracks by id: audio_1, audio_2, ...
  std::vector<Pending> pending_;
  std::vector<FlvMediaUnit> units_;  // of the message being pushed
  size_t pending_bytes_ = 0;
  unsigned group_id_ = 0;
  bool have_first_ts_ = false;
  uint32_t first_ts_ = 0;
  int64_t base_ms_ = 0;
  bool stopped_ = false;
};

}  // namespace estuary::pipelines
