// Owns: placeholder resolution for the server (see encoder_placeholders.h).
#include "server/control/encoder_placeholders.h"

#include <optional>

#include "common/log.h"
#include "pipelines/element_catalog.h"
#include "pipelines/user_plugins.h"
#include "server/config/pipelines_dir.h"

namespace estuary::server {
namespace {

pipelines::PlaceholderChoices& choices() {
  static pipelines::PlaceholderChoices c;
  return c;
}

std::optional<config::EncodersSection>& resolved_with() {
  static std::optional<config::EncodersSection> s;
  return s;
}

pipelines::SelectionOptions options_of(const config::EncodersSection& e) {
  pipelines::SelectionOptions o;
  o.prefer = pipelines::split_plugin_dirs(e.prefer);  // the same space-separated list syntax
  o.exclude = pipelines::split_plugin_dirs(e.exclude);
  o.device = e.device;
  return o;
}

bool real_properties(const std::string& factory, std::vector<std::string>* names) {
  auto props = pipelines::element_property_names(factory);
  if (!props) return false;
  *names = std::move(*props);
  return true;
}

void resolve(const config::EncodersSection& settings) {
  const pipelines::SelectionOptions options = options_of(settings);
  pipelines::PlaceholderChoices c;
  c.device = options.device;
  for (auto codec : {pipelines::VideoCodec::h264, pipelines::VideoCodec::h265}) {
    const std::string name = pipelines::video_codec_name(codec);
    auto enc = pipelines::select_encoder(
        codec, pipelines::list_gst_encoders(codec),
        [](const std::string& f, std::string* e) { return pipelines::gst_test_encode(f, e); }, options,
        real_properties);
    if (enc.element.empty())
      log_warn("", "", "encoder", "@" + name + "enc unresolved: " + enc.reason);
    else
      log_info("", "", "encoder", "@" + name + "enc -> " + enc.element + " (" + enc.reason + ")");
    c.encoders[codec] = std::move(enc);
    auto dec = pipelines::select_decoder(
        codec, pipelines::list_gst_decoders(codec, options),
        [codec](const std::string& f, std::string* e) { return pipelines::gst_test_decode(codec, f, e); }, options);
    if (dec.element.empty())
      log_warn("", "", "decoder", "@" + name + "dec unresolved: " + dec.reason);
    else
      log_info("", "", "decoder", "@" + name + "dec -> " + dec.element + " (" + dec.reason + ")");
    c.decoders[codec] = std::move(dec);
  }
  choices() = std::move(c);
  resolved_with() = settings;
}

}  // namespace

void install_encoder_placeholders() {
  config::set_sections_hook([](const config::Config& cfg) -> Status {
    if (!resolved_with())
      resolve(cfg.encoders);
    else if (!(*resolved_with() == cfg.encoders))
      log_warn("", "", "encoder", "[encoders] changed; the placeholders keep their choice until restart");
    return ok_status();
  });
  config::set_launch_preprocessor([](const std::string& launch) {
    if (!pipelines::has_placeholder(launch)) return launch;
    if (!resolved_with()) resolve({});  // a pipelines file parsed outside config::load: the defaults
    return pipelines::expand_placeholders(launch, choices());
  });
}

const pipelines::PlaceholderChoices& placeholder_choices() { return choices(); }

}  // namespace estuary::server
