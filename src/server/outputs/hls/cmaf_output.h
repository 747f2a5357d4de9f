// Owns: the "cmaf" output kind: per stream the CMAF packager (pipelines/cmaf_feed.h, started on
// publish when [hls] variant is fmp4 or lowlatency), whose init segment and parts go, on the control
// thread, into the stream's CmafWindow; each finished segment wakes held requests and sends the
// on_hls hook. Control thread only (the part sink posts from the streaming threads).
#pragma once

#include <memory>

#include "server/control/http_routes.h"
#include "server/outputs/hls/cmaf_stream.h"

namespace estuary::server {

// Registers the "cmaf" output kind, feeding `registry`.
void register_cmaf_output(std::shared_ptr<CmafRegistry> registry);

}  // namespace estuary::server
