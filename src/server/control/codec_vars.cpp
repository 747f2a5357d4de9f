// Owns: codec-dependent launch variables (see codec_vars.h).
#include "server/control/codec_vars.h"

#include <gst/gst.h>

#include "pipelines/encoder_select.h"

namespace estuary::server {
namespace {

bool have_element(const char* name) {
  GstElementFactory* f = gst_element_factory_find(name);
  if (f) gst_object_unref(f);
  return f != nullptr;
}

// Decoder of a non-AAC audio codec the ingests publish; "" when none is installed.
std::string decoder_for(const std::string& codec) {
  if (codec == "Opus") return "opusdec plc=true";  // concealment keeps the AAC timestamps continuous
  if (codec == "MP3") {
    for (const char* name : {"mpg123audiodec", "avdec_mp3"})
      if (have_element(name)) return name;
  }
  return "";
}

}  // namespace

config::CodecVars codec_vars_for(const std::optional<api::VideoView>& video,
                                 const std::optional<api::AudioView>& audio) {
  config::CodecVars v;
  if (video && video->codec == "H265") v.video_parser = "h265parse";
  if (video && video->codec == "AV1") v.video_parser = "av1parse";
  if (video && video->codec == "VP9") v.video_parser = "vp9parse";
  if (!audio || audio->codec == "AAC") return v;
  if (audio->codec == "Opus") v.audio_parser = "opusparse";
  if (audio->codec == "MP3") v.audio_parser = "mpegaudioparse";
  // Beside HEVC/AV1/VP9 video no flvmux is involved: the FLV/RTMP outputs write enhanced FLV themselves
  // (Opus as it is), and the DVR records them to MP4 or TS, whose muxers take Opus and MP3.
  if (flv_writes_enhanced(video)) {
    v.flv_audio = v.audio_parser;
    return v;
  }
  const std::string decoder = decoder_for(audio->codec);
  if (decoder.empty()) return v;  // unknown codec: flvmux refuses it and the FLV output fails with a caps error
  // FLV (1.22's flvmux) takes AAC or MP3 at rates up to 44.1 kHz only; AAC at 48 kHz stereo fits every
  // source. The encoder is the one WHIP uses for the same conversion.
  const std::string encoder = pipelines::aac_encoder_name();
  v.flv_audio = v.audio_parser + " ! " + decoder +
                " ! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=2 ! " + encoder +
                " bitrate=128000 ! aacparse";
  return v;
}

std::string audio_conversion_note(const config::PipelineSpec& spec, const std::optional<api::AudioView>& audio) {
  if (!audio || audio->codec == "AAC") return "";
  if (spec.audio.find("{flv_audio}") == std::string::npos && spec.launch.find("{flv_audio}") == std::string::npos)
    return "";
  if (decoder_for(audio->codec).empty())
    return audio->codec + " audio cannot go into FLV and no decoder for it is installed";
  return audio->codec + " audio re-encoded to AAC (" + std::string(pipelines::aac_encoder_name()) +
         ") for FLV, which cannot carry " + audio->codec;
}

bool flv_writes_enhanced(const std::optional<api::VideoView>& video) {
  return video && (video->codec == "H265" || video->codec == "AV1" || video->codec == "VP9");
}

}  // namespace estuary::server
