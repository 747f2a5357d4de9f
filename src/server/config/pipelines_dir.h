// Owns: reading pipelines.d — every *.conf file in a directory, each [pipeline NAME] group one
// PipelineSpec — and validating each spec (keys, trigger, output, variables, and the launch line
// itself, parsed by GStreamer with sample values and thrown away).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "server/config/config.h"

namespace estuary::config {

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
