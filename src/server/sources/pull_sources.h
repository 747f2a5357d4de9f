// Owns: pulled sources ([source NAME] in the config): each one an internal publisher client (type
// "pull-publish") whose ingest (pipelines/pull_ingest.h) pulls a URL into the stream app/name; its
// state machine (idle → connecting → live, backoff after a failure with doubling delays), the
// media watchdog (no bytes for timeout_ms = failure), and mode=demand (started by the first viewer
// through Supervisor::DemandProducer, stopped linger_ms after the last one left). Control thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/gobject_ptr.h"
#include "pipelines/pull_ingest.h"
#include "server/config/config.h"

namespace estuary::api {
class ApiServer;
}

namespace estuary::server {

struct ControlPorts;
class DemandPort;

class PullSources {
 public:
  PullSources(ControlPorts ports, DemandPort& demand);
  ~PullSources();
  PullSources(const PullSources&) = delete;
  PullSources& operator=(const PullSources&) = delete;

  // Takes the configured sources: new ones start (mode=always) or wait for a viewer (demand);
  // removed or changed ones stop; unchanged ones keep running (SIGHUP reload).
  void apply(const std::vector<config::SourceSpec>& specs);

  struct SourceStatus {
    std::string name, stream, url, kind, mode, state, last_error, client_id;
    int restarts = 0;
    int retry_in_ms = 0;         // backoff: time to the next attempt
    uint64_t bytes = 0;          // published on the bus over all runs
    int64_t state_since_ms = 0;  // wall clock
    int viewers = 0;
  };
  std::vector<SourceStatus> status() const;

 private:
  enum class State { idle, connecting, live, backoff };
  struct Source {
    config::SourceSpec spec;
    State state = State::idle;
    std::string client_id;
    std::unique_ptr<pipelines::PullIngest> ingest;
    std::shared_ptr<bool> run;  // alive token of the current attempt; reset when it ends
    SourceGuard retry_timer;
    int backoff_ms = 0;
    int restarts = 0;
    std::string last_error;
    uint64_t bytes_before = 0;
    int64_t live_since_us = 0;
    int64_t no_viewers_since_us = 0;
    int64_t retry_at_us = 0;
    int64_t state_since_ms = 0;
  };

  Source* find_by_stream(const std::string& key);
  Source* find(const std::string& name);
  void set_state(Source& src, State state);
  void start(Source& src);
  void begin_ingest(Source& src);
  void fail(Source& src, const std::string& reason);
  void end_run(Source& src, const std::string& reason);
  void stop_idle(Source& src, const std::string& reason);
  void schedule_retry(Source& src);
  void tick();
  void install_demand_producer();
  static const char* state_name(State s);

  std::unique_ptr<ControlPorts> ports_;
  DemandPort& demand_port_;
  std::map<std::string, std::unique_ptr<Source>> sources_;  // by name
  SourceGuard tick_;
};

// GET /api/v1/sources: every pulled source with its state (URL credentials redacted).
void register_sources_api(api::ApiServer& api, PullSources& sources);

}  // namespace estuary::server
