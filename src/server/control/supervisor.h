// Owns: the stream registry and client registry, the publish/play lifecycle, every output's state
// (start on publish or on first viewer, linger after the last viewer, restart with backoff), and
// the read model of the HTTP API. Runs on the control thread only; other threads post to it.
#pragma once

#include <gst/gst.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/gobject_ptr.h"
#include "common/result.h"
#include "fanout/fanout.h"
#include "server/config/config.h"
#include "server/control/admission.h"
#include "server/control/api_model.h"
#include "server/control/client.h"
#include "server/control/control_plane.h"
#include "server/control/output.h"
#include "server/control/play_waiters.h"
#include "server/control/rate_meter.h"

namespace estuary::server {

class Supervisor final : public ControlPlane {
 public:
  Supervisor(config::Config config, fanout::Engine& engine);
  ~Supervisor() override;

  const config::Config& config() const override { return config_; }
  void set_vhost_id(std::string id) override { vhost_id_ = std::move(id); }
  // Applies a newly loaded config. Running streams get the pipelines.d changes one output at a
  // time: a changed spec's output is reloaded in place where its kind can (the transcode keeps its
  // renditions' viewers) or restarted, a removed one stopped, a new publish-triggered one started;
  // the next waits until that output is ready (or 10 s). Everything else applies to new streams.
  void apply_config(config::Config config) override;
  ControlPorts ports() override { return ControlPorts{*this, *this, *this, *admission_, *this}; }

  // Clients of every protocol.
  void add_client(Client client) override;
  void remove_client(const std::string& id, const std::string& reason) override;
  Client* find_client(const std::string& id) override;

  // Publishing. begin_publish refuses a live stream unless its publisher has been silent for
  // rtmp.takeover_idle_ms (then the old one is kicked). idle_ms reports a publisher's silence.
  Status begin_publish(const std::string& client_id, std::function<int64_t()> idle_ms) override;
  // The ingest's bus sink announced the stream with its tracks.
  void publish_ready(const std::string& client_id, GstCaps* video_caps, GstCaps* audio_caps) override;
  void end_publish(const std::string& client_id) override;
  void publish_discontinuity(const std::string& client_id) override;

  // Playing a byte-stream format ("flv", "rtmp") of a live stream.
  Status begin_play(const std::string& client_id, const std::string& format, AttachFn attach) override;
  Status begin_feed(const std::string& client_id, const std::string& format, FeedReadyFn ready) override;

  bool stream_is_live(const std::string& key) const override;
  // Streams whose publisher is live and not silent for takeover_idle_ms - margin_ms: a new publisher
  // would be refused. For servers that decide before a connection exists (the SRT handshake).
  std::vector<std::string> busy_streams(int64_t margin_ms) const override;

  void set_demand_producer(DemandProducer producer) override { demand_ = std::move(producer); }
  // Live, or offered by the demand producer (a viewer may then wait for it).
  bool stream_is_playable(const std::string& key) const override;

  // Starts (on) or stops an optional output kind ("dvr") of the stream with API id stream_id, on
  // request rather than by configuration. Errors: 404 unknown stream or kind.
  Status set_requested_output(const std::string& stream_id, const std::string& kind, bool on) override;
  Status demand_output(const std::string& key, const std::string& kind, int linger_ms) override;
  Status await_stream(const std::string& key, std::function<void(bool live)> done) override;
  bool stream_in_use(const std::string& key) const override;

  // Access control and hooks for every protocol (see admission.h).
  Admission& admission() override { return *admission_; }
  size_t client_count() const override { return clients_.size(); }
  // Registered non-publishing clients of app/stream (waiting ones included).
  size_t viewer_count(const std::string& key) const override;
  // The API id ("vid-...") of a live stream, or "".
  std::string stream_api_id(const std::string& key) const override;

  std::vector<OutputMetrics> output_metrics() const override;
  size_t waiting_viewers() const override { return waiters_.size(); }
  void add_metrics_provider(MetricsProvider provider) override { metrics_providers_.push_back(std::move(provider)); }
  std::vector<MetricSample> extra_metrics() const override {
    std::vector<MetricSample> out;
    for (const auto& p : metrics_providers_)
      for (auto& m : p()) out.push_back(std::move(m));
    return out;
  }

  // api::Backend
  std::vector<api::StreamView> streams() const override;
  std::vector<api::ClientView> clients() const override;
  api::SummaryView summary() const override;
  bool kick_client(const std::string& id) override;

 private:
  enum class SlotState { stopped, starting, running, backoff };
  struct OutputSlot {
    config::PipelineSpec spec;
    std::string kind;
    std::unique_ptr<Output> output;
    SlotState state = SlotState::stopped;
    std::set<std::string> viewers;  // attached or waiting
    // Viewers waiting for the output to be ready; called with it, or with nullptr when it stopped.
    std::vector<std::pair<std::string, std::function<void(Output*)>>> waiting;
    SourceGuard linger_timer;
    SourceGuard restart_timer;
    int backoff_ms = 0;
    int restarts = 0;
    int64_t started_us = 0;
    int64_t demand_until_us = 0;  // requested (demand_output) until then: no linger stop before
    int64_t linger_due_us = 0;    // when linger_timer fires (while it is armed)
    int audio = 0;                // {audio_track}: the audio track a viewer chose (?audio=N on the play URL)
  };
  struct Stream {
    std::string key, app, name, id;
    std::string publisher_id;
    std::function<int64_t()> publisher_idle_ms;
    bool ready = false;
    int64_t publish_wall_ms = 0;
    std::optional<api::VideoView> video;
    std::optional<api::AudioView> audio;
    int audio_tracks = 1;  // audio_0, audio_1, ... on the bus when it became ready
    std::map<std::string, std::unique_ptr<OutputSlot>> outputs;  // by pipeline spec name
    RateMeter recv_rate, send_rate;
  };
  struct ClientEntry {
    Client client;
    RateMeter recv_rate, send_rate;
  };

  Stream* find_stream(const std::string& key);
  const config::PipelineSpec* spec_for(const std::string& kind, const std::string& key) const;
  OutputSlot& slot_for(Stream& stream, const config::PipelineSpec& spec);
  void start_slot(Stream& stream, OutputSlot& slot, bool requested = false);
  void stop_slot(Stream& stream, OutputSlot& slot, const std::string& why);
  void on_slot_ready(const std::string& key, const std::string& spec_name);
  void on_slot_failed(const std::string& key, const std::string& spec_name, const std::string& reason);
  void on_restart_due(const std::string& key, const std::string& spec_name);
  void post_to_control_later(const std::string& key, const std::string& name, const std::string& reason);
  void viewer_left(const std::string& client_id, const std::string& key);
  // Stops the slot after ms unless it has viewers again or was requested for longer (demand_until_us).
  void arm_linger(const std::string& key, OutputSlot& slot, int ms);
  // A trigger=demand spec that stays on demand for app ([hls] always turns HLS/CMAF into publish).
  bool demand_only(const config::PipelineSpec& spec, const std::string& app) const;
  // The slot serving `format` to client_id, with the viewer registered on it; on_ready runs when the
  // output is ready (at once if it is), or with nullptr if it stops first.
  Status join_output(const std::string& client_id, const std::string& format, std::function<void(Output*)> on_ready);
  void start_publish_triggered(Stream& stream);
  void teardown_stream(Stream& stream, const std::string& why);
  void sample_rates();
  // A viewer of a stream that is not live waits for it ([play] wait_ms, or the demand producer's
  // wait for a stream it starts): resume runs when it is live, expire at the deadline. Refused
  // (not_found) when waiting is off, unavailable over the bounds.
  Status wait_for_stream(const std::string& key, const std::string& client_id, const std::string& format,
                         std::function<void()> resume, std::function<void()> expire);
  // nullopt when the client's stream is live; otherwise the result of waiting for it: once live,
  // retry() runs again (fail gets its error), at the deadline fail gets not_found.
  std::optional<Status> wait_unless_live(const std::string& client_id, const std::string& format,
                                         std::function<Status()> retry, std::function<void(const Error&)> fail);
  // Applies the next queued pipelines.d change to its running stream (see apply_config).
  void run_next_reload();

  config::Config config_;
  fanout::Engine& engine_;
  std::map<std::string, std::unique_ptr<Stream>> streams_;  // by "app/stream"
  std::map<std::string, ClientEntry> clients_;              // by client id
  SourceGuard sample_timer_;
  int64_t start_us_ = 0;
  int64_t start_wall_ms_ = 0;
  std::string vhost_id_ = "vid-default";
  PlayWaiters waiters_;  // viewers of streams that are not live yet
  std::vector<MetricsProvider> metrics_providers_;
  DemandProducer demand_;
  std::vector<std::pair<std::string, std::string>> reload_queue_;  // (stream key, spec name)
  std::pair<std::string, std::string> reload_current_;
  SourceGuard reload_timer_;
  std::unique_ptr<Admission> admission_;  // last: destroyed first
};

}  // namespace estuary::server
