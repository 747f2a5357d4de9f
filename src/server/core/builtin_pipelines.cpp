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
  spec.launch = "estuarysrc name=src stream={name} catch-up=true flvmux name=mux streamable=true ! appsink name=sink";
  spec.video =
      "src.video ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000 ! h264parse ! "
      "video/x-h264,stream-format=avc ! mux.video";
  spec.audio =
      "src.audio ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000 ! {flv_audio} ! mux.audio";
  return spec;
}

config::PipelineSpec make_ts() {
  config::PipelineSpec spec;
  spec.name = "ts";
  spec.file = "<built-in>";
  spec.match = {"*"};
  spec.trigger = config::Trigger::on_demand;
  spec.output = "ts";
  spec.launch = "estuarysrc name=src stream={name} catch-up=true mpegtsmux name=mux alignment=7 ! appsink name=sink";
  spec.video =
      "src.video ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000 ! {video_parser} "
      "config-interval=-1 ! mux.";
  spec.audio =
      "src.audio ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000 ! {audio_parser} ! "
      "mux.";
  return spec;
}

config::PipelineSpec make_hls() {
  config::PipelineSpec spec;
  spec.name = "hls";
  spec.file = "<built-in>";
  spec.match = {"*"};
  spec.trigger = config::Trigger::on_publish;
  spec.output = "hls";
  spec.launch = "estuarysrc name=src stream={name} hlssink2 name=hls";
  spec.video =
      "src.video ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000 ! {video_parser} "
      "config-interval=-1 ! hls.video";
  spec.audio =
      "src.audio ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000 ! {audio_parser} ! "
      "hls.audio";
  return spec;
}

config::PipelineSpec make_dvr() {
  config::PipelineSpec spec;
  spec.name = "dvr";
  spec.file = "<built-in>";
  spec.match = {"*"};
  spec.trigger = config::Trigger::on_publish;
  spec.output = "dvr";
  spec.launch = "estuarysrc name=src stream={name}";
  spec.video =
      "src.video ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000 ! {video_parser} "
      "name=video";
  // {flv_audio}: one launch serves flvmux, mpegtsmux and mp4mux; AAC (as it is, or re-encoded once
  // from Opus/MP3) is the audio all three take, where flvmux would refuse Opus.
  spec.audio =
      "src.audio ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000 ! {flv_audio} "
      "name=audio";
  return spec;
}

// Restream: the destinations come from [forward NAME] rules (forward_output.h), so the output
// declines streams no rule matches; each destination builds its own pipeline from this source.
config::PipelineSpec make_forward() {
  config::PipelineSpec spec;
  spec.name = "forward";
  spec.file = "<built-in>";
  spec.match = {"*"};
  spec.trigger = config::Trigger::on_publish;
  spec.output = "forward";
  spec.launch = "estuarysrc name=src stream={name}";
  return spec;
}

}  // namespace

std::vector<const config::PipelineSpec*> builtin_output_specs() {
  std::vector<const config::PipelineSpec*> out;
  for (const char* kind : {"flv", "ts", "hls", "dvr", "forward"}) out.push_back(builtin_output_spec(kind));
  return out;
}

const config::PipelineSpec* builtin_output_spec(const std::string& kind) {
  static const config::PipelineSpec flv = make_flv();
  static const config::PipelineSpec ts = make_ts();
  if (kind == "flv") return &flv;
  static const config::PipelineSpec hls = make_hls();
  static const config::PipelineSpec dvr = make_dvr();
  if (kind == "ts") return &ts;
  if (kind == "hls") return &hls;
  if (kind == "dvr") return &dvr;
  static const config::PipelineSpec forward = make_forward();
  if (kind == "forward") return &forward;
  return nullptr;
}

}  // namespace estuary::server
