// Owns: the record the supervisor keeps for every connected client (publisher or viewer) of any
// protocol. Protocol servers fill it in; the API renders it; kick() disconnects it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "server/control/api_model.h"

namespace estuary::server {

struct Client {
  std::string id;
  std::string type;  // SRS names: "fmle-publish", "rtmp-play", "flv-play", ...
  bool publish = false;
  std::string ip;
  std::string app;
  std::string stream;  // stream name within app
  std::string query;   // "token=..." (for hooks)
  std::string tc_url;
  std::string page_url;
  std::string swf_url;
  int64_t start_us = 0;  // g_get_monotonic_time at connect
  // Published by a server pipeline from another stream (a transcode rendition): not transcoded again.
  bool derived = false;
  // Disconnects the client; the protocol server later calls Supervisor::remove_client.
  std::function<void()> kick;
  std::function<uint64_t()> bytes_sent;
  std::function<uint64_t()> bytes_received;
  // SRT clients: libsrt's view of the connection (for /api/v1/clients and /metrics).
  std::function<api::SrtStatsView()> srt_stats;
  // WebRTC clients of the shared engine: RTT, loss, NACKs, keyframe requests.
  std::function<api::RtcStatsView()> rtc_stats;

  std::string key() const { return app + "/" + stream; }
};

}  // namespace estuary::server
