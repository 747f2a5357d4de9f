// Owns: the Prometheus endpoint (/metrics on the API port, text exposition format 0.0.4): server
// series (uptime, CPU, memory, connections, bytes), per-stream series by app/stream/protocol
// (viewers, publishers, bytes, frames, keyframe interval, video size, audio rate) and per-output
// series (fan-out viewers, dropped bytes/viewers for slow viewers, restarts). Protocols join by
// registering clients with the supervisor (the protocol label comes from Client::type).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/control/api_model.h"

namespace estuary::api {
class ApiServer;
}

namespace estuary::server {

class MetricsSource;

// Label value escaping of the text format: \ -> \\, " -> \", newline -> \n.
std::string prometheus_escape_label(std::string_view value);

// "fmle-publish" -> "rtmp", "rtmp-play" -> "rtmp", "flv-play" -> "flv", "rtc-play" -> "webrtc", ...
std::string protocol_of_client_type(const std::string& type);

// Builds one exposition: families in first-use order, each with one HELP and TYPE line.
class PrometheusWriter {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;
  void add(const std::string& name, const char* type, const std::string& help, const Labels& labels, double value);
  std::string text() const;

 private:
  struct Family {
    std::string type, help;
    std::vector<std::string> samples;
  };
  std::vector<std::string> order_;
  std::map<std::string, Family> families_;
};

// Serves /metrics on api (until it is destroyed) from the read model and the per-output metrics;
// both must outlive api.
void register_metrics(api::ApiServer& api, const api::Backend& model, const MetricsSource& outputs);

}  // namespace estuary::server
