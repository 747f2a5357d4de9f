// Owns: the "forward" output kind (restream): while a stream matching a [forward NAME] rule is
// live, each of the rule's destinations (rtmp://, rtmps:// through rtmp2sink; srt:// through
// srtsink; HEVC/AV1/VP9 to rtmp:// as enhanced RTMP, pipelines/flv_push.h) gets its own pipeline
// reading the stream bus, so a failing destination touches neither
// the stream nor the other destinations; each retries on its own with doubling delays. Also the
// status of every destination for the API. Control thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace estuary::api {
class ApiServer;
}

namespace estuary::server {

void register_forward_output();

struct ForwardStatus {
  std::string stream, rule, url, state, last_error;  // url with credentials redacted
  int restarts = 0;
  int retry_in_ms = 0;
  uint64_t bytes = 0;  // sent to the destination over all attempts
  int64_t state_since_ms = 0;
};
// Every destination of every live stream.
std::vector<ForwardStatus> forward_status();

// GET /api/v1/forwards.
void register_forwards_api(api::ApiServer& api);

}  // namespace estuary::server
