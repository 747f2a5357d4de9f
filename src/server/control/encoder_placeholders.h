// Owns: the process-wide resolution of the hardware launch-line placeholders (@h264enc, @h265enc,
// @h264dec, @h265dec, @scale): once, at the first configuration load, with the real GStreamer
// registry (users' plugins included), [encoders] prefer/exclude/device, the encoders' real property
// lists and test encodes/decodes; and its installation as the config layer's launch preprocessor.
// Later loads (SIGHUP) keep the first resolution: a changed [encoders] section is logged as taking
// effect on restart. Control thread only.
#pragma once

#include "pipelines/launch_placeholders.h"

namespace estuary::server {

// Installs config::set_sections_hook (which resolves the placeholders at the first config load,
// blocking for the test encodes and decodes — well under a second each without hardware) and
// config::set_launch_preprocessor. Call after gst_init and our element registration, before loading
// the configuration. Idempotent.
void install_encoder_placeholders();

// The resolved choices (empty before the first configuration load).
const pipelines::PlaceholderChoices& placeholder_choices();

}  // namespace estuary::server
