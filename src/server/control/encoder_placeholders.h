// Owns: the process-wide resolution of the @h264enc / @h265enc launch-line placeholders (once, at
// startup, with the real GStreamer registry and test encodes) and its installation as the config
// layer's launch preprocessor. Control thread only.
#pragma once

#include <map>

#include "pipelines/encoder_select.h"

namespace estuary::server {

// Resolves both placeholders (blocks for the test encodes, well under a second without hardware),
// logs the choices, and installs config::set_launch_preprocessor. Call after gst_init and plugin
// registration, before loading the configuration. Idempotent.
void install_encoder_placeholders();

// The resolved choices (empty before install_encoder_placeholders).
const std::map<pipelines::VideoCodec, pipelines::EncoderChoice>& encoder_choices();

}  // namespace estuary::server
