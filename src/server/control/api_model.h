// Owns: the read model the HTTP API renders (SRS field names) and the narrow interface the API
// needs from the supervisor. The API layer knows nothing of pipelines or protocols.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace estuary::api {

struct VideoView {
  std::string codec;    // "H264"
  std::string profile;  // "High", "Main", "Baseline", ...
  std::string level;    // "3.1"
  int width = 0;
  int height = 0;
};

struct AudioView {
  std::string codec;  // "AAC"
  int sample_rate = 0;
  int channels = 0;
  std::string profile;  // "LC"
};

// Estuary extension: one audio track of a stream with several (languages, commentary).
struct AudioTrackView {
  std::string name;      // "audio_0", "audio_1", ...
  std::string language;  // ISO 639 code, "" when the source gave none
  AudioView audio;
};

// Estuary extension: a recorded (or open) DVR file.
struct DvrFileView {
  std::string path;
  uint64_t size = 0;
  double duration_s = 0;
  bool open = false;  // being written
};
struct DvrView {
  bool recording = false;
  std::string format, plan;
  std::string current_file;
  std::string error;  // last recorder error ("" = none)
  std::vector<DvrFileView> files;
};

// Estuary extension: the verdict of an estuaryhealth element watching the stream (a pipelines.d
// pipeline); present once the element reported anything.
struct HealthView {
  bool black = false;
  bool frozen = false;
  bool silent = false;
  bool drift = false;         // A/V drift beyond the element's threshold
  double av_drift_ms = 0;     // last measured drift, video minus audio
  std::string last_event;     // "black raised", "silence cleared", ...
  int64_t last_event_ms = 0;  // wall clock
};

// Estuary extension: renditions a running transcode (output=transcode) publishes from this stream.
struct TranscodeView {
  std::string pipeline;                 // pipelines.d name
  std::vector<std::string> renditions;  // "live/x_720p", ...
  std::string master_playlist;          // "/live/x_abr.m3u8"
};

struct StreamView {
  std::string id;     // stable for the stream's life, e.g. "vid-1a2b3c4d"
  std::string name;   // stream name ("test")
  std::string vhost;  // vhost id
  std::string app;    // "live"
  std::string tc_url;
  std::string url;            // "/live/test"
  int64_t live_ms = 0;        // wall-clock ms when publishing started (SRS semantics)
  int clients = 0;            // players (the publisher is not counted)
  uint64_t frames = 0;        // audio and video buffers (SRS semantics)
  uint64_t video_frames = 0;  // Estuary extension: video only (the console's fps)
  // Estuary extension: bytes the stream's bus holds now (GOP cache, its cap, subscriber queues).
  uint64_t gop_cache_bytes = 0, gop_cache_max_bytes = 0, queued_bytes = 0;
  uint64_t send_bytes = 0;
  uint64_t recv_bytes = 0;
  int kbps_recv_30s = 0;
  int kbps_send_30s = 0;
  bool publish_active = false;
  std::string publish_cid;
  std::optional<VideoView> video;
  std::optional<AudioView> audio;
  std::vector<AudioTrackView> audio_tracks;  // Estuary extension: every audio track (audio is the first)
  std::vector<std::string> outputs;          // Estuary extension: active outputs ("flv", ...)
  std::optional<DvrView> dvr;                // Estuary extension: present while a recorder is attached
  std::optional<HealthView> health;          // Estuary extension: present when a health pipeline reported
  std::optional<TranscodeView> transcode;    // Estuary extension: present while a transcode runs
};

// Estuary extension: libsrt's statistics of an SRT client's connection (rates over the last second).
struct SrtStatsView {
  double rtt_ms = 0;
  double send_mbps = 0;
  double recv_mbps = 0;
  double bandwidth_mbps = 0;  // libsrt's estimate of the link capacity
  int64_t pkt_sent = 0;
  int64_t pkt_recv = 0;
  int64_t pkt_lost = 0;     // reported lost (sender and receiver side)
  int64_t pkt_retrans = 0;  // retransmitted (sent or received again)
  int64_t pkt_dropped = 0;  // too late to send or to play
  int latency_ms = 0;       // TSBPD latency in effect
};

// Estuary extension: a WebRTC client's link as the shared engine sees it (the peer's RTCP).
struct RtcStatsView {
  double rtt_ms = -1;               // from receiver reports (LSR/DLSR); -1 until one answers a sender report
  double fraction_lost = 0;         // of the last receiver report, 0..1
  int64_t packets_lost = 0;         // cumulative, as the peer reports it (video + audio)
  int64_t packets_sent = 0;         // RTP packets sent (resends not included)
  int64_t nacks = 0;                // packets the peer asked for again (generic NACK)
  int64_t retransmits = 0;          // packets resent from the ring
  int64_t plis = 0;                 // picture loss indications received
  int64_t firs = 0;                 // full intra requests received
  int64_t keyframes_from_ring = 0;  // of those, answered from the packet ring (not asked of the publisher)
  int64_t remb_bps = 0;             // the peer's last REMB estimate (0 = none)
  int64_t twcc_feedback = 0;        // transport-wide congestion control feedback packets received
};

struct ClientView {
  std::string id;
  std::string vhost;
  std::string stream;  // stream id
  std::string ip;
  std::string page_url;
  std::string swf_url;
  std::string tc_url;
  std::string url;   // "/live/test"
  std::string name;  // stream name
  std::string type;  // rtmp-play, flv-play, fmle-publish, ...
  bool publish = false;
  double alive_s = 0;
  uint64_t send_bytes = 0;
  uint64_t recv_bytes = 0;
  int kbps_recv_30s = 0;
  int kbps_send_30s = 0;
  std::optional<SrtStatsView> srt;  // Estuary extension: SRT clients only
  std::optional<RtcStatsView> rtc;  // Estuary extension: WebRTC clients of the shared engine only
};

struct SummaryView {
  int64_t now_ms = 0;
  int pid = 0;
  double uptime_s = 0;
  uint64_t mem_kbyte = 0;  // RSS of this process
  double cpu_percent = 0;  // this process, recent
  int cpus = 0;
  int streams = 0;
  int clients = 0;
  uint64_t send_bytes = 0;
  uint64_t recv_bytes = 0;
};

// Implemented by the supervisor; called on the main loop thread only.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::vector<StreamView> streams() const = 0;
  virtual std::vector<ClientView> clients() const = 0;
  virtual SummaryView summary() const = 0;
  // Disconnects a client. false = no such client.
  virtual bool kick_client(const std::string& id) = 0;
};

}  // namespace estuary::api
