// Owns: health messages → API fields and log events (see stream_health.h).
#include "server/control/stream_health.h"

#include <cstdio>

#include "common/log.h"

namespace estuary::server {

bool apply_health_change(api::HealthView& h, const std::string& kind, const std::string& state, double value,
                         int64_t now_ms) {
  if (kind.empty() || (state != "raised" && state != "cleared")) return false;
  const bool raised = state == "raised";
  if (kind == "black")
    h.black = raised;
  else if (kind == "frozen")
    h.frozen = raised;
  else if (kind == "silence")
    h.silent = raised;
  else if (kind == "drift") {
    h.drift = raised;
    h.av_drift_ms = value * 1000.0;  // the element reports seconds (video minus audio)
  }
  h.last_event = kind + " " + state;
  h.last_event_ms = now_ms;
  return true;
}

bool handle_health_message(api::HealthView& h, const GstStructure* s, const std::string& stream_key) {
  if (!s || !gst_structure_has_name(s, "estuary-health")) return false;
  const char* kind = gst_structure_get_string(s, "kind");
  const char* state = gst_structure_get_string(s, "state");
  double value = 0;
  gst_structure_get_double(s, "value", &value);
  if (!apply_health_change(h, kind ? kind : "", state ? state : "", value, g_get_real_time() / 1000)) return false;
  char v[32];
  std::snprintf(v, sizeof v, "%.3f", value);
  const std::string message = std::string(kind) + " " + state + " value=" + v;
  if (std::string(state) == "raised")
    log_warn(stream_key, "", "health", message);
  else
    log_info(stream_key, "", "health", message);
  return true;
}

}  // namespace estuary::server
