// Owns: choosing the per-stream launch-line variables ({video_parser}, {audio_parser}, {flv_audio})
// from the codecs the stream bus announced, and the log note for an output that converts audio.
// MPEG-TS (HTTP-TS, SRT play, HLS) carries H.264/H.265 and AAC, MP3 or Opus as they are; classic FLV
// (RTMP, HTTP-FLV) carries no Opus, so {flv_audio} decodes other audio and re-encodes it to AAC once
// per stream in the shared FLV mux.
#pragma once

#include <optional>
#include <string>

#include "server/config/config.h"
#include "server/control/api_model.h"

namespace estuary::server {

config::CodecVars codec_vars_for(const std::optional<api::VideoView>& video,
                                 const std::optional<api::AudioView>& audio);

// A line for the log when the launch of this output re-encodes the stream's audio; "" otherwise.
std::string audio_conversion_note(const config::PipelineSpec& spec, const std::optional<api::AudioView>& audio);
// Whether the "flv" output writes this stream itself as enhanced FLV (H.265, AV1, VP9 video), without
// the spec's launch line (so no audio is converted for it).
bool flv_writes_enhanced(const std::optional<api::VideoView>& video);

}  // namespace estuary::server
