// Owns: built-in pipeline descriptions (see builtin_pipelines.h).
#include "server/control/builtin_pipelines.h"

#include <map>

#include "common/log.h"
#include "server/config/pipelines_dir.h"

namespace estuary::server {
namespace {

// An output that builds its own pipeline (or none) from the stream: its spec only names it.
//   forward: the destinations come from [forward NAME] rules (forward_output.h), so the output
//            declines streams no rule matches; each destination builds its own pipeline.
//   rtc:     one WebRTC feed per stream (protocols/webrtc/rtc_feed.h), built from the stream's caps.
//   rtsp:    the RTSP mount of the stream (protocols/rtsp), a gst-rtsp-server shared media.
config::PipelineSpec code_built(const std::string& kind, config::Trigger trigger) {
  config::PipelineSpec spec;
  spec.name = kind;
  spec.file = "<built-in>";
  spec.match = {"*"};
  spec.trigger = trigger;
  spec.output = kind;
  spec.launch = "estuarysrc name=src stream={name}";
  return spec;
}

// Output kind -> spec, parsed once from the embedded files. A file that does not parse is a build
// defect (the shipped-pipelines test catches it); it is logged and its kind has no built-in.
const std::map<std::string, config::PipelineSpec>& builtins() {
  static const std::map<std::string, config::PipelineSpec> specs = [] {
    std::map<std::string, config::PipelineSpec> out;
    for (const EmbeddedPipelineFile& f : embedded_pipeline_files()) {
      auto parsed = config::parse_pipelines_file(std::string("<built-in>/") + f.name, f.text);
      if (!parsed) {
        log_error("", "", "builtin-pipelines", parsed.error().message);
        continue;
      }
      for (config::PipelineSpec& spec : parsed.value()) {
        if (spec.output.empty()) continue;
        spec.file = "<built-in>";
        out.emplace(spec.output, std::move(spec));
      }
    }
    out.emplace("forward", code_built("forward", config::Trigger::on_publish));
    out.emplace("rtc", code_built("rtc", config::Trigger::on_demand));
    out.emplace("rtsp", code_built("rtsp", config::Trigger::on_demand));
    return out;
  }();
  return specs;
}

}  // namespace

std::vector<const config::PipelineSpec*> builtin_output_specs() {
  std::vector<const config::PipelineSpec*> out;
  for (const char* kind : {"flv", "ts", "hls", "cmaf", "dvr", "forward"}) {
    if (const config::PipelineSpec* spec = builtin_output_spec(kind)) out.push_back(spec);
  }
  return out;
}

const config::PipelineSpec* builtin_output_spec(const std::string& kind) {
  auto it = builtins().find(kind);
  return it == builtins().end() ? nullptr : &it->second;
}

}  // namespace estuary::server
