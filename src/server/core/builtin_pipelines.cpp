// Owns: built-in pipeline descriptions (see builtin_pipelines.h).
#include "server/core/builtin_pipelines.h"

namespace estuary::server {
namespace {

config::PipelineSpec make_flv() {
  config::PipelineSpec spec;
  spec.name = "flv";
  spec.file = "<built-in>";
  spec.match = {"*"};
  spec.trigger = config::Trigger::on_demand;
  spec.output = "flv";
  spec.launch =
      "estuarysrc name=src stream={name} src.video ! queue max-size-buffers=0 max-size-bytes=0 "
      "max-size-time=2000000000 ! h264parse ! video/x-h264,stream-format=avc ! mux.video src.audio ! queue "
      "max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000 ! aacparse ! mux.audio flvmux name=mux "
      "streamable=true ! appsink name=sink";
  return spec;
}

}  // namespace

const config::PipelineSpec* builtin_output_spec(const std::string& kind) {
  static const config::PipelineSpec flv = make_flv();
  if (kind == "flv") return &flv;
  return nullptr;
}

}  // namespace estuary::server
