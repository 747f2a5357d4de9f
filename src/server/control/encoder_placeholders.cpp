// Owns: encoder placeholder resolution for the server (see encoder_placeholders.h).
#include "server/control/encoder_placeholders.h"

#include "common/log.h"
#include "server/config/pipelines_dir.h"

namespace estuary::server {
namespace {

std::map<pipelines::VideoCodec, pipelines::EncoderChoice>& choices() {
  static std::map<pipelines::VideoCodec, pipelines::EncoderChoice> c;
  return c;
}

}  // namespace

void install_encoder_placeholders() {
  if (!choices().empty()) return;
  for (auto codec : {pipelines::VideoCodec::h264, pipelines::VideoCodec::h265}) {
    auto choice = pipelines::select_encoder(
        codec, pipelines::list_gst_encoders(codec),
        [](const std::string& f, std::string* e) { return pipelines::gst_test_encode(f, e); });
    std::string placeholder = std::string("@") + pipelines::video_codec_name(codec) + "enc";
    if (choice.element.empty())
      log_warn("", "", "encoder", placeholder + " unresolved: " + choice.reason);
    else
      log_info("", "", "encoder", placeholder + " -> " + choice.element + " (" + choice.reason + ")");
    choices()[codec] = std::move(choice);
  }
  config::set_launch_preprocessor([](const std::string& launch) {
    if (!pipelines::has_encoder_placeholder(launch)) return launch;
    return pipelines::expand_encoder_placeholders(launch, choices());
  });
}

const std::map<pipelines::VideoCodec, pipelines::EncoderChoice>& encoder_choices() { return choices(); }

}  // namespace estuary::server
