// Owns: the load tool's public entry point: options, the run (publisher + N players in one epoll
// thread, so publisher send times and player receive times share one clock), and the summary
// (human text and one JSON line). Used by main.cpp and by the fan-out self-test.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace estuary::load {

struct Url {
  std::string scheme;  // rtmp | http
  std::string host;
  int port = 0;
  std::string path;    // http: request path ("/live/x.flv"); rtmp: "/app/stream"
  std::string app;     // rtmp
  std::string stream;  // rtmp (with query)
  std::string tc_url;  // rtmp://host:port/app
  std::string format;  // flv | ts | rtmp
};
bool parse_url(const std::string& text, Url* url, std::string* error);

struct Options {
  std::string publish_url;  // rtmp://... ; empty = no publisher
  std::string file;         // FLV file to publish
  bool loop = false;
  int publishers = 1;        // > 1: STREAM1 .. STREAMn of the publish URL, each paced on its own
  double publish_ramp = 25;  // publishers started per second (with publishers > 1)
  std::string play_url;      // rtmp://..., http://.../x.flv or .ts ; empty = no players
  int players = 0;
  double ramp = 200;        // player connections per second
  double duration_s = 20;   // whole run, from start
  double warmup_s = 2;      // after the last player connected, before measuring
  double play_delay_s = 2;  // with a publisher: players start this long after publishing began
  int server_pid = 0;       // sample CPU and RSS of this process
  int buffer_ms = 1000;     // RTMP SetBufferLength
};

struct Summary {
  std::string protocol;
  int players = 0;
  int connected = 0;  // got a response / finished the play handshake
  int receiving = 0;  // got media during the last 2 s of the run
  int failed = 0;     // errors or closed by the server
  double window_s = 0;
  double bitrate_mean_kbps = 0, bitrate_min_kbps = 0;
  double fps_mean = 0, fps_min = 0;
  double publisher_kbps = 0;
  uint64_t publisher_frames = 0;
  int startup_count = 0;
  double startup_p50_ms = -1, startup_p95_ms = -1, startup_max_ms = -1;
  uint64_t latency_samples = 0;
  double latency_p50_ms = -1, latency_p95_ms = -1, latency_max_ms = -1;  // video frames
  uint64_t audio_latency_samples = 0;
  double audio_latency_p50_ms = -1, audio_latency_p95_ms = -1, audio_latency_max_ms = -1;
  uint64_t audio_ambiguous = 0;  // audio frames sent twice with the same fingerprint (not measured)
  int server_pid = 0;
  double server_cpu_cores = -1;
  double server_rss_peak_mb = -1, server_rss_hwm_mb = -1;
  uint64_t framing_errors = 0;  // players whose stream stopped parsing
  uint64_t bad_start = 0;       // first frame not a keyframe, or no sequence header before it
  uint64_t connect_errors = 0;
  uint64_t closed_early = 0;
  bool publisher_ok = true;
  std::string publisher_error;
  int publishers = 0;                      // started
  int publishers_failed = 0;               // failed or never got to publish
  std::vector<std::string> sample_errors;  // a few player error texts
  std::string json() const;
  std::string human() const;
};

// Runs the load. stop (optional) ends it early. Returns false (with error) when it cannot start.
bool run(const Options& options, Summary* summary, std::string* error, const std::atomic<bool>* stop = nullptr);

}  // namespace estuary::load
