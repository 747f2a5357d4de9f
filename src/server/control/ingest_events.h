// Owns: the glue between any ingest pipeline that ends in `estuarysink` (RTMP, SRT, WHIP, pulled
// sources, transcodes) and the supervisor: the bus sink's "estuary-stream-ready" message becomes
// PublishPort::publish_ready, and a fatal error or EOS becomes on_ended(reason), posted to the control
// thread so the caller may destroy the pipeline there. `alive` guards the caller (no bare `this`).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "pipelines/managed_pipeline.h"

namespace estuary::server {

class PublishPort;

pipelines::PipelineEvents ingest_events(PublishPort& publish, std::string client_id, std::weak_ptr<bool> alive,
                                        std::function<void(const std::string& reason)> on_ended);

}  // namespace estuary::server
