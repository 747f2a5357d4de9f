// Owns: the built-in pipeline descriptions used when no pipelines.d file provides an output, so the
// server works with no files at all. They equal the shipped pipelines.d files (a test checks it).
#pragma once

#include <string>
#include <vector>

#include "server/config/config.h"

namespace estuary::server {

// The built-in spec for an output kind ("flv"), or nullptr.
const config::PipelineSpec* builtin_output_spec(const std::string& kind);
// Every built-in spec (the publish-triggered ones start when pipelines.d does not replace them).
std::vector<const config::PipelineSpec*> builtin_output_specs();

}  // namespace estuary::server
