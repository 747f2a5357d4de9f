// Owns: the narrow interfaces (ports) the control layer offers to protocols, outputs, sources and
// the API, so none of them needs the supervisor: a client registry, publishing, playing, pulled
// sources' demand, requested outputs, per-output metrics, and the live configuration (a protocol
// reads only its own slice of it). The supervisor implements them all; main.cpp hands each side the
// ports it needs. Every call runs on the control thread.
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "fanout/fanout.h"
#include "server/config/config.h"
#include "server/control/admission.h"
#include "server/control/client.h"

namespace estuary::server {

// Called with the channel once the output has its headers, or with nullptr if it cannot serve.
using AttachFn = std::function<void(fanout::ChannelPtr channel)>;

// Clients of every protocol: registered on connect, removed (with on_stop/on_unpublish) on leave.
class ClientRegistry {
 public:
  virtual ~ClientRegistry() = default;
  virtual void add_client(Client client) = 0;
  virtual void remove_client(const std::string& id, const std::string& reason) = 0;
  virtual Client* find_client(const std::string& id) = 0;
  virtual size_t client_count() const = 0;
  // Registered non-publishing clients of app/stream (waiting ones included).
  virtual size_t viewer_count(const std::string& key) const = 0;
};

// Publishing a stream (any ingest: RTMP, SRT, WHIP, pulled sources, transcodes).
class PublishPort {
 public:
  virtual ~PublishPort() = default;
  // Refuses a live stream unless its publisher has been silent for rtmp.takeover_idle_ms (then the
  // old one is kicked). idle_ms reports this publisher's silence.
  virtual Status begin_publish(const std::string& client_id, std::function<int64_t()> idle_ms) = 0;
  // The ingest's bus sink announced the stream with its tracks.
  virtual void publish_ready(const std::string& client_id, GstCaps* video_caps, GstCaps* audio_caps) = 0;
  virtual void end_publish(const std::string& client_id) = 0;
  // The publisher's media resumes after a gap from a new upstream (an edge's failover): outputs
  // that mark such a break (HLS: #EXT-X-DISCONTINUITY) do so before their first segment after it.
  virtual void publish_discontinuity(const std::string& client_id) {}
  // Streams a new publisher would be refused on (live, not silent for takeover_idle_ms - margin_ms),
  // for servers that decide before a connection exists (the SRT handshake).
  virtual std::vector<std::string> busy_streams(int64_t margin_ms) const = 0;
  virtual bool stream_is_live(const std::string& key) const = 0;
  // The API id ("vid-...") of a live stream, or "".
  virtual std::string stream_api_id(const std::string& key) const = 0;
};

// Called with the bus stream an output republishes the stream as (WebRTC's feed: "app/x@rtc"), once
// it is on the bus, or with the reason it cannot be.
using FeedReadyFn = std::function<void(Result<std::string> bus_stream)>;

// Playing a live stream: in a byte-stream format ("flv", "rtmp", "ts", "srt") through a fan-out
// channel, or through an output that serves the viewer itself ("rtsp") or republishes the stream
// on the bus for per-viewer pipelines ("rtc"). Either way the viewer holds the output's slot: it
// starts on the first viewer, lingers after the last, restarts with backoff.
class PlayPort {
 public:
  virtual ~PlayPort() = default;
  virtual Status begin_play(const std::string& client_id, const std::string& format, AttachFn attach) = 0;
  // ready may run before begin_feed returns (an output that is ready at once, e.g. an RTSP mount).
  virtual Status begin_feed(const std::string& client_id, const std::string& format, FeedReadyFn ready) = 0;
  virtual bool stream_is_live(const std::string& key) const = 0;
  // Live, or offered by a demand producer (the viewer may then wait for it).
  virtual bool stream_is_playable(const std::string& key) const = 0;
  // Some output of the live stream is not stopped (viewers, a lingering or requested output, a
  // publish-triggered one): a pulled stream with no player clients is still wanted.
  virtual bool stream_in_use(const std::string& key) const = 0;
};

// Streams produced on request (pulled sources): a play request for a stream that is not live waits
// for it, up to wait_ms, when offers(key); request(key) starts it.
struct DemandProducer {
  std::function<bool(const std::string& key)> offers;
  std::function<void(const std::string& key)> request;
  // Optional, before a viewer waits: its query string ("token=..."); an error refuses the viewer
  // (a cluster loop).
  std::function<Status(const std::string& key, const std::string& query)> check;
  int wait_ms = 10000;
  std::function<int(const std::string& key)> wait_ms_for;  // optional: per stream, instead of wait_ms
};
class DemandPort {
 public:
  virtual ~DemandPort() = default;
  virtual void set_demand_producer(DemandProducer producer) = 0;
};

// Optional outputs started on request (the DVR API) rather than by configuration.
class OutputControl {
 public:
  virtual ~OutputControl() = default;
  // Starts (on) or stops output kind `kind` of the stream with API id stream_id. Errors: not_found.
  virtual Status set_requested_output(const std::string& stream_id, const std::string& kind, bool on) = 0;
  // Output `kind` (an on-demand output served over plain HTTP requests: "hls", "cmaf") of live stream
  // `key` is wanted: started if stopped, then kept at least linger_ms from now (each call sets that
  // anew). Errors: not_found (not live, no such output, or turned off for the stream).
  virtual Status demand_output(const std::string& key, const std::string& kind, int linger_ms) = 0;
  // For requests that are not sessions (an HLS playlist): done(true) once stream `key` is live,
  // at once when it is; it waits as a player does ([play] wait_ms, starting an on-demand source),
  // done(false) at the deadline. Errors: not_found (waiting off), unavailable (too many waiting).
  virtual Status await_stream(const std::string& key, std::function<void(bool live)> done) = 0;
};

// Per output of each stream, for /metrics.
struct OutputMetrics {
  std::string app, stream, output, kind;
  int restarts = 0;
  bool running = false;
  std::vector<std::pair<std::string, fanout::ChannelStats>> channels;  // channel name, stats
};
// A series another part of the server adds to /metrics (the cluster's), without labels.
struct MetricSample {
  std::string name, type, help;  // type: "gauge" or "counter"
  double value = 0;
};
using MetricsProvider = std::function<std::vector<MetricSample>()>;
class MetricsExtension {
 public:
  virtual ~MetricsExtension() = default;
  // provider runs for each /metrics request on the control thread; it may return nothing once its
  // owner is gone.
  virtual void add_metrics_provider(MetricsProvider provider) = 0;
};
class MetricsSource {
 public:
  virtual ~MetricsSource() = default;
  // Series from the providers added through MetricsExtension.
  virtual std::vector<MetricSample> extra_metrics() const { return {}; }
  virtual std::vector<OutputMetrics> output_metrics() const = 0;
  // Viewers waiting for a stream that is not live yet ([play] wait_ms).
  virtual size_t waiting_viewers() const { return 0; }
};

// The running configuration; replaced on SIGHUP, so read it when needed rather than keeping a copy.
class ConfigSource {
 public:
  virtual ~ConfigSource() = default;
  virtual const config::Config& config() const = 0;
};

// One section of the running configuration (e.g. &config::Config::rtmp): what a protocol is given
// instead of the whole configuration. Cheap to copy; the ConfigSource must outlive it.
template <typename Section>
class ConfigSlice {
 public:
  ConfigSlice(const ConfigSource& source, Section config::Config::*member) : source_(&source), member_(member) {}
  const Section& operator*() const { return source_->config().*member_; }
  const Section* operator->() const { return &**this; }

 private:
  const ConfigSource* source_;
  Section config::Config::*member_;
};

// What a protocol server gets from the control layer.
struct ControlPorts {
  ClientRegistry& clients;
  PublishPort& publish;
  PlayPort& play;
  Admission& admission;
  const ConfigSource& settings;
  template <typename Section>
  ConfigSlice<Section> slice(Section config::Config::*member) const {
    return ConfigSlice<Section>(settings, member);
  }
};

}  // namespace estuary::server
