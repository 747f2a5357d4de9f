// Owns: the server configuration model, its built-in defaults, and loading + validation of the
// server config file (GLib key file), environment overrides (ESTUARY_<SECTION>_<KEY>) and the
// pipeline descriptions in pipelines.d/*.conf. Every error names file, line and problem.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace estuary::config {

struct ServerSection {
  std::string log_level = "info";  // debug | info | warn | error
  bool operator==(const ServerSection&) const = default;
};

struct RtmpSection {
  bool enabled = true;
  std::string address = "0.0.0.0";
  int port = 1935;
  int chunk_size = 60000;           // outgoing chunk size, 128..65536
  int publish_timeout_ms = 5000;    // a publisher that sends nothing this long is dropped
  int takeover_idle_ms = 1000;      // a new publisher replaces a live one silent for this long
  int handshake_timeout_ms = 5000;  // connection that does not finish handshake+publish/play in time is closed
  int max_message_kb = 8192;        // largest RTMP message accepted
  bool operator==(const RtmpSection&) const = default;
};

struct HttpSection {
  bool enabled = true;
  std::string address = "0.0.0.0";
  int port = 8080;
  bool cors = true;
  bool operator==(const HttpSection&) const = default;
};

struct ApiSection {
  bool enabled = true;
  std::string address = "0.0.0.0";
  int port = 1985;
  bool operator==(const ApiSection&) const = default;
};

struct FanoutSection {
  int threads = 0;            // 0 = one per core
  int write_batch_ms = 0;     // 0 = lowest latency; >0 coalesces writes (throughput)
  int max_backlog_kb = 4096;  // slow viewer skips to next keyframe above this
  int max_behind_ms = 5000;   // slow viewer is dropped after this long behind
  bool operator==(const FanoutSection&) const = default;
};

struct BusSection {
  int gop_cache_max_kb = 32768;    // largest GOP kept for late joiners
  int subscriber_queue_ms = 3000;  // per-subscriber queue bound before drop-to-keyframe
  bool operator==(const BusSection&) const = default;
};

struct OutputsSection {
  int linger_ms = 3000;          // on-demand outputs stay up this long after the last viewer
  int restart_backoff_ms = 500;  // first restart delay of a failed output (doubles, capped)
  int restart_backoff_max_ms = 10000;
  bool operator==(const OutputsSection&) const = default;
};

enum class Trigger { on_publish, on_demand, always };
const char* trigger_name(Trigger t);

// One [pipeline NAME] group from a pipelines.d/*.conf file.
struct PipelineSpec {
  std::string name;                // group suffix, unique across pipelines.d
  std::string file;                // source file path
  int line = 0;                    // line of the group header
  std::vector<std::string> match;  // glob patterns on "app/stream" (e.g. "live/*"); empty = all
  Trigger trigger = Trigger::on_publish;
  std::string output;  // "" = custom pipeline; "flv" = built-in FLV fan-out source
  std::string launch;  // GStreamer launch syntax with {app} {stream} {name} variables
  bool matches(const std::string& app_stream) const;
  // Launch line with variables substituted verbatim (no quoting): callers must pass only app and
  // stream names accepted by is_valid_name_component, or a client could inject launch syntax.
  std::string expand(const std::string& app, const std::string& stream) const;
  bool operator==(const PipelineSpec&) const = default;
};

// True for a safe app or stream name: 1..128 of [A-Za-z0-9_.-], not starting with '.'.
bool is_valid_name_component(const std::string& s);

struct Config {
  ServerSection server;
  RtmpSection rtmp;
  HttpSection http;
  ApiSection api;
  FanoutSection fanout;
  BusSection bus;
  OutputsSection outputs;
  std::string pipelines_dir;  // directory the pipelines were read from ("" = none)
  std::vector<PipelineSpec> pipelines;
  std::string source_file;  // "" when running on built-in defaults
  // First pipeline whose output is `output` and which matches app/stream, or nullptr.
  const PipelineSpec* find_output(const std::string& output, const std::string& app_stream) const;
  bool operator==(const Config&) const = default;
};

using Environment = std::map<std::string, std::string>;
Environment current_environment();

// Loads the server config. config_path may be "" (built-in defaults only). pipelines_dir may be
// "" (no pipelines). env supplies ESTUARY_* overrides. Launch lines are parsed with GStreamer
// (so the caller must have called gst_init and registered Estuary's own elements) and discarded.
Result<Config> load(const std::string& config_path, const std::string& pipelines_dir, const Environment& env);

}  // namespace estuary::config
