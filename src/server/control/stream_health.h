// Owns: turning estuaryhealth's "estuary-health" element messages (gst-plugins/health: kind
// black|frozen|silence|drift, state raised|cleared, value) into the per-stream API fields
// (api::HealthView) and one log line per change. Pure state update plus a GstStructure adapter;
// control thread only.
#pragma once

#include <gst/gst.h>

#include <string>

#include "server/control/api_model.h"

namespace estuary::server {

// Applies one change. value is the element's measurement (drift in seconds). Unknown kinds only
// update last_event. Returns false for a malformed message (no kind or state), leaving h untouched.
bool apply_health_change(api::HealthView& h, const std::string& kind, const std::string& state, double value,
                         int64_t now_ms);

// Adapter for an element message: false if it is not "estuary-health" or is malformed. Logs the
// change (warn when raised, info when cleared) under stream_key.
bool handle_health_message(api::HealthView& h, const GstStructure* s, const std::string& stream_key);

}  // namespace estuary::server
