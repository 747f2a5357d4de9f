// Owns: placeholder expansion (see launch_placeholders.h).
#include "pipelines/launch_placeholders.h"

#include <cctype>
#include <vector>

namespace estuary::pipelines {
namespace {

enum class Kind { encoder, decoder, scale };

struct Token {
  const char* text;
  Kind kind;
  VideoCodec codec;
};

const Token kTokens[] = {
    {"@h264enc", Kind::encoder, VideoCodec::h264}, {"@h265enc", Kind::encoder, VideoCodec::h265},
    {"@h264dec", Kind::decoder, VideoCodec::h264}, {"@h265dec", Kind::decoder, VideoCodec::h265},
    {"@scale", Kind::scale, VideoCodec::h264},
};

bool is_boundary(char c) { return std::isspace(static_cast<unsigned char>(c)) || c == '!'; }

// The placeholder starting at launch[i], or nullptr.
const Token* token_at(const std::string& launch, size_t i) {
  if (launch[i] != '@' || (i > 0 && !is_boundary(launch[i - 1]))) return nullptr;
  for (const Token& t : kTokens) {
    std::string p = t.text;
    if (launch.compare(i, p.size(), p) == 0 && (i + p.size() == launch.size() || is_boundary(launch[i + p.size()])))
      return &t;
  }
  return nullptr;
}

bool uses(const std::string& launch, const char* token) {
  for (size_t i = launch.find(token); i != std::string::npos; i = launch.find(token, i + 1)) {
    const Token* t = token_at(launch, i);
    if (t && std::string(t->text) == token) return true;
  }
  return false;
}

std::string fragment_with(std::string element, const Props& props) {
  for (const auto& [k, v] : props) element += " " + k + "=" + v;
  return element;
}

}  // namespace

bool has_placeholder(const std::string& launch) {
  for (const Token& t : kTokens)
    if (uses(launch, t.text)) return true;
  return false;
}

std::string expand_placeholders(const std::string& launch, const PlaceholderChoices& choices) {
  // The families @scale bridges: the decoder and encoder this line uses.
  std::string decoder_family = "software", encoder_family = "software";
  for (VideoCodec c : {VideoCodec::h265, VideoCodec::h264}) {
    auto d = choices.decoders.find(c);
    if (uses(launch, c == VideoCodec::h264 ? "@h264dec" : "@h265dec") && d != choices.decoders.end() &&
        !d->second.element.empty())
      decoder_family = d->second.family;
    auto e = choices.encoders.find(c);
    if (uses(launch, c == VideoCodec::h264 ? "@h264enc" : "@h265enc") && e != choices.encoders.end() &&
        !e->second.element.empty())
      encoder_family = e->second.family;
  }
  std::string out;
  size_t i = 0;
  while (i < launch.size()) {
    const Token* token = token_at(launch, i);
    if (!token) {
      out += launch[i++];
      continue;
    }
    // key=value tokens after the placeholder, up to the next "!" or a token without "=".
    size_t j = i + std::string(token->text).size();
    Props props;
    while (true) {
      size_t k = j;
      while (k < launch.size() && std::isspace(static_cast<unsigned char>(launch[k]))) ++k;
      size_t start = k;
      bool quoted = false;
      while (k < launch.size() && (quoted || !is_boundary(launch[k]))) {
        if (launch[k] == '"') quoted = !quoted;
        ++k;
      }
      std::string tok = launch.substr(start, k - start);
      size_t eq = tok.find('=');
      if (tok.empty() || eq == std::string::npos || eq == 0) break;
      props.emplace_back(tok.substr(0, eq), tok.substr(eq + 1));
      j = k;
    }
    const std::string codec = video_codec_name(token->codec);
    if (token->kind == Kind::encoder) {
      auto it = choices.encoders.find(token->codec);
      if (it == choices.encoders.end() || it->second.element.empty()) {
        out += "no-working-" + codec + "-encoder";
      } else {
        Props all = it->second.fixed;
        all.insert(all.end(), props.begin(), props.end());
        out += map_encoder_properties(it->second.element, all);
      }
    } else if (token->kind == Kind::decoder) {
      auto it = choices.decoders.find(token->codec);
      if (it == choices.decoders.end() || it->second.element.empty())
        out += "no-working-" + codec + "-decoder";
      else
        out += fragment_with(it->second.element, props);
    } else {
      std::string width, height;
      for (const auto& [k, v] : props) {
        if (k == "width") width = v;
        if (k == "height") height = v;
      }
      if (width.empty() || height.empty())
        out += "scale-needs-width-and-height";
      else
        out += scale_fragment(decoder_family, encoder_family, width, height, choices.device);
    }
    i = j;
  }
  return out;
}

}  // namespace estuary::pipelines
