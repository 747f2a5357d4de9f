// Owns: the config model of pulled sources ([source NAME]: a URL pulled into a stream) and
// forwarding rules ([forward NAME]: streams pushed to other servers), and parsing + validation of
// those named groups of the server config file. Errors are "<file>:<line>: [group] key: problem".
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace estuary::config {

struct ScannedGroup;

enum class SourceMode { always, demand };
const char* source_mode_name(SourceMode m);

// [source NAME]: pull `url` (or run `launch`) and publish it as `stream` (app/name).
struct SourceSpec {
  std::string name;  // group suffix
  std::string file;
  int line = 0;
  std::string stream;  // "app/name"
  std::string url;     // rtsp:// rtsps:// srt:// rtmp:// rtmps:// http(s)://…(.m3u8) file:///…
  // Full control instead of url: a launch line that ends in `estuarysink stream={name}` ({app},
  // {stream}, {name} are substituted).
  std::string launch;
  SourceMode mode = SourceMode::always;
  int linger_ms = 10000;                // demand: stop this long after the last viewer left
  int retry_min_ms = 1000;              // first reconnect delay (doubles on each quick failure)
  int retry_max_ms = 30000;             // reconnect delay cap
  int timeout_ms = 10000;               // no media for this long (also while connecting) = failure
  std::string rtsp_transport = "auto";  // rtsp: auto (UDP, then TCP) | tcp | udp
  bool loop = true;                     // file: start over at the end
  std::string app() const { return stream.substr(0, stream.find('/')); }
  std::string stream_name() const { return stream.substr(stream.find('/') + 1); }
  bool operator==(const SourceSpec&) const = default;
};

// [forward NAME]: every stream matching `match` is pushed to each URL of `urls` while it is live.
struct ForwardSpec {
  std::string name;
  std::string file;
  int line = 0;
  std::vector<std::string> match;  // glob patterns on app/stream; empty = all
  std::vector<std::string> urls;   // rtmp:// rtmps:// srt:// with {app} {stream} {name}
  int retry_min_ms = 1000;
  int retry_max_ms = 30000;
  bool matches(const std::string& app_stream) const;
  bool operator==(const ForwardSpec&) const = default;
};

// True for the groups this file parses: "source NAME" and "forward NAME".
bool is_source_or_forward_group(const std::string& group_name);

// Parses one [source NAME] or [forward NAME] group (path for messages). `sources` holds the sources
// parsed so far (a stream may be pulled by one source only).
Status parse_source_group(const std::string& path, const ScannedGroup& group, std::vector<SourceSpec>* sources);
Status parse_forward_group(const std::string& path, const ScannedGroup& group, std::vector<ForwardSpec>* forwards);

// {app} {stream} {name} in text replaced verbatim (names are validated by the caller).
std::string expand_stream_variables(const std::string& text, const std::string& app, const std::string& stream);

}  // namespace estuary::config
