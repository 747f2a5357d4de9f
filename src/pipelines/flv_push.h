// Owns: pushing a bus stream whose video FLV carries only in enhanced form (HEVC, AV1, VP9) to an
// RTMP server: FlvWriterOutput turns the stream into enhanced FLV tags (the same bytes RTMP play
// sends) and hands them to `appsrc name=feed ! rtmp2sink name=sink`, which sends each tag as an
// RTMP message without looking at its codec. Servers with E-RTMP ingest (Estuary, SRS, YouTube,
// OBS-era nginx forks) accept it; legacy ones refuse or ignore the FourCC.
// Must not know: the server, forwards' retry policy.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "pipelines/flv_writer_output.h"
#include "pipelines/managed_pipeline.h"

namespace estuary::pipelines {

// Whether pushing stream `key` to `url` takes the enhanced FLV path: an rtmp:// or rtmps:// URL and
// video that legacy FLV cannot carry.
bool push_needs_enhanced_flv(const std::string& key, const std::string& url);

struct FlvPush {
  // appsrc name=feed ! rtmp2sink name=sink (its location set by the caller, push_url_property).
  std::unique_ptr<ManagedPipeline> sender;
  // Reads the bus and pushes tags into the sender's feed; start it after the sender, stop it first.
  std::unique_ptr<FlvWriterOutput> writer;
};
// Errors: the stream's tracks cannot go into FLV (audio other than AAC/Opus), a pipeline that does
// not build.
Result<FlvPush> create_flv_push(const std::string& key);

}  // namespace estuary::pipelines
