// Owns: the "custom" output kind: a pipelines.d pipeline with no built-in output (for example a
// transcode that reads the bus and publishes new streams); it is run, watched and restarted.
#pragma once

namespace estuary::server {

void register_pipeline_output();

}  // namespace estuary::server
