// Owns: reading pipelines.d — every *.conf file in a directory, each [pipeline NAME] group one
// PipelineSpec — and validating each spec (keys, trigger, output, variables, and the launch line
// itself, parsed by GStreamer with sample values and thrown away).
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "server/config/config.h"

namespace estuary::config {

// A rewrite of every launch line after variable substitution, before it is validated (parsed) or
// handed out by PipelineSpec::expand. The composition root installs the encoder placeholder
// resolver (@h264enc, @h265enc) here, so this layer knows nothing of pipelines code. Empty: none.
// Set it before loading the configuration.
using LaunchPreprocessor = std::function<std::string(const std::string&)>;
void set_launch_preprocessor(LaunchPreprocessor fn);

// Values of `output` the server knows how to attach. Extend when a new built-in output exists.
std::span<const char* const> known_outputs();

// Sample values substituted into launch lines for validation.
inline constexpr const char* kSampleApp = "live";
inline constexpr const char* kSampleStream = "test";

// Reads <dir>/*.conf in sorted (byte) order; names starting with '.' are skipped (editor
// droppings). Names must be unique across all files.
Result<std::vector<PipelineSpec>> load_pipelines_dir(const std::string& dir);

// Parses one pipelines.d file's text (path is used in messages only). Exposed for tests.
Result<std::vector<PipelineSpec>> parse_pipelines_file(const std::string& path, const std::string& text);

}  // namespace estuary::config
