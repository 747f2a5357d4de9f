// Owns: the interface every stream output implements (server/outputs/*: FLV and TS fan-out, HLS,
// DVR, forward, transcode, custom pipelines) and the registry through which output kinds register
// themselves, so the supervisor never names a concrete output. All methods run on the control thread.
#pragma once

#include <glib.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "fanout/fanout.h"
#include "server/config/config.h"
#include "server/control/api_model.h"

namespace estuary::server {

// What an output tells the supervisor; callbacks run on the control thread.
struct OutputEvents {
  std::function<void()> on_ready;                            // channels have their headers
  std::function<void(const std::string& reason)> on_failed;  // needs a restart
};

struct OutputContext {
  std::string app;
  std::string stream;
  std::string launch;         // expanded launch line of the pipeline spec
  std::string pipeline_name;  // the spec's [pipeline NAME]
  int audio_track = 0;        // the audio track the output carries ({audio_track}; 0: audio_0)
  const config::Config* config = nullptr;
  fanout::Engine* engine = nullptr;
  OutputEvents events;
  // Started on request (through the API) rather than by configuration: optional outputs such as
  // the DVR recorder run even where their config section does not select the stream.
  bool requested = false;
  // Sends an informational hook (on_hls, on_dvr) for this stream with SRS's extra fields; results
  // are logged, never awaited. Set by the supervisor.
  std::function<void(const std::string& action, std::map<std::string, std::string> strings,
                     std::map<std::string, double> numbers)>
      notify;
};

class Output {
 public:
  virtual ~Output() = default;
  virtual Status start() = 0;
  virtual void stop() = 0;
  virtual bool ready() const = 0;
  // Byte-stream channel for a viewer format ("flv", "rtmp", "ts"), or null if this output has none.
  virtual fanout::ChannelPtr channel(const std::string& format) const = 0;
  virtual std::vector<fanout::ChannelPtr> channels() const = 0;
  // The bus stream this output republishes for viewers of `format` ("app/x@rtc"), or "" if none.
  virtual std::string bus_stream(const std::string& format) const { return ""; }
  // A configuration reload changed this output's pipeline spec: replace the running pipeline with
  // `launch` while keeping what its viewers hold, if this kind can (the transcode keeps its
  // renditions' streams, so their viewers stay connected). false: the supervisor restarts it.
  virtual bool reload(const std::string& launch) { return false; }
  // Adds what this output has to say to the stream's API view (e.g. the recorder's files).
  virtual void describe(api::StreamView&) const {}
  // The stream's media resumes after a gap under the same publisher (PublishPort::publish_discontinuity).
  virtual void discontinuity() {}
};

// A factory may return a null output: the kind declines the stream (turned off by configuration).
// The server's working directory (the `cwd` field of on_hls/on_dvr hooks).
inline std::string current_directory() {
  gchar* dir = g_get_current_dir();
  std::string out = dir ? dir : "";
  g_free(dir);
  return out;
}

// Slow-viewer limits of a fan-out channel, from the [fanout] section.
inline fanout::ChannelLimits channel_limits(const config::Config& config) {
  fanout::ChannelLimits limits;
  limits.max_backlog_bytes = size_t(config.fanout.max_backlog_kb) * 1024;
  limits.max_behind_ms = config.fanout.max_behind_ms;
  return limits;
}

using OutputFactory = std::function<Result<std::unique_ptr<Output>>(OutputContext context)>;

// Registers an output kind (the `output=` key of a pipeline spec). Called at startup.
void register_output_kind(const std::string& kind, OutputFactory factory, std::vector<std::string> formats);
// Factory for a kind, or nullptr.
const OutputFactory* find_output_kind(const std::string& kind);
// Output kind that serves a viewer format ("rtmp" -> "flv"), or "".
std::string output_kind_for_format(const std::string& format);

}  // namespace estuary::server
