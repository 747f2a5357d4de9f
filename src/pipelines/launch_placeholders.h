// Owns: expanding the hardware placeholders of a launch line — `@h264enc` / `@h265enc` (the chosen
// encoder with its mapped properties), `@h264dec` / `@h265dec` (the chosen decoder) and `@scale
// width=W height=H` (a scaler that keeps frames in the memory the decoder and encoder share) —
// each followed by its key=value properties, up to the next "!" or a token without "=".
// Must not know: how the choices were made (encoder_select.h, decoder_select.h), the config file.
#pragma once

#include <map>
#include <string>

#include "pipelines/decoder_select.h"
#include "pipelines/encoder_select.h"

namespace estuary::pipelines {

struct PlaceholderChoices {
  std::map<VideoCodec, EncoderChoice> encoders;
  std::map<VideoCodec, DecoderChoice> decoders;
  std::string device;  // [encoders] device, for the CUDA elements of @scale
};

// True if the launch line uses any placeholder.
bool has_placeholder(const std::string& launch);

// Replaces every placeholder. An unresolved encoder or decoder becomes "no-working-h264-encoder" /
// "no-working-h264-decoder" so that parsing fails with a message that says what is wrong. @scale
// needs width and height (otherwise "scale-needs-width-and-height"); it scales between the decoder
// of the codec whose @…dec the line uses and the encoder of the codec whose @…enc it uses (software
// when the line has none).
std::string expand_placeholders(const std::string& launch, const PlaceholderChoices& choices);

}  // namespace estuary::pipelines
