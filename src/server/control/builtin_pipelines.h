// Owns: the built-in pipeline descriptions used when no pipelines.d file provides an output, so the
// server works with no files at all. They are the shipped pipelines.d/*.conf files themselves,
// embedded at build time (tools/embed-pipelines.py) and parsed on first use; only `forward`, whose
// destinations come from [forward NAME] rules, `rtc` (the WebRTC feed) and `rtsp` (the RTSP mount),
// which build their own media from the stream's caps, have no file.
#pragma once

#include <string>
#include <vector>

#include "server/config/config.h"

namespace estuary::server {

// The built-in spec for an output kind ("flv"), or nullptr.
const config::PipelineSpec* builtin_output_spec(const std::string& kind);
// Every built-in spec (the publish-triggered ones start when pipelines.d does not replace them).
std::vector<const config::PipelineSpec*> builtin_output_specs();

// The shipped files as embedded at build time (generated source).
struct EmbeddedPipelineFile {
  const char* name;  // "flv.conf"
  const char* text;
};
const std::vector<EmbeddedPipelineFile>& embedded_pipeline_files();

}  // namespace estuary::server
