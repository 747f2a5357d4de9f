// Owns: TsTrackProbe (see ts_track_probe.h).
#include "pipelines/ts_track_probe.h"

#include <glib.h>

#include "pipelines/ts_packets.h"

namespace estuary::pipelines {
namespace {

constexpr size_t kPacket = 188;

// The code of an ISO 639 language descriptor (tag 0x0a) among an ES's descriptors; "" when none.
std::string language_of(const uint8_t* d, size_t len) {
  for (size_t i = 0; i + 2 <= len;) {
    const uint8_t tag = d[i], n = d[i + 1];
    if (i + 2 + n > len) break;
    if (tag == 0x0a && n >= 3) {
      std::string code(reinterpret_cast<const char*>(d + i + 2), 3);
      for (char& c : code) {
        if (!g_ascii_isalpha(c)) return "";
        c = g_ascii_tolower(c);
      }
      return code;
    }
    i += 2 + n;
  }
  return "";
}

// The Opus channel_config_code of a DVB extension descriptor (tag 0x7f, extension tag 0x80); -1 if none.
int opus_channel_config_of(const uint8_t* d, size_t len) {
  for (size_t i = 0; i + 2 <= len;) {
    const uint8_t tag = d[i], n = d[i + 1];
    if (i + 2 + n > len) break;
    if (tag == 0x7f && n >= 2 && d[i + 2] == 0x80) return d[i + 3];
    i += 2 + n;
  }
  return -1;
}

}  // namespace

bool TsTrackProbe::feed(const uint8_t* data, size_t size) {
  if (done_) return true;
  std::vector<uint8_t> buf;
  if (!partial_.empty()) {
    buf.swap(partial_);
    buf.insert(buf.end(), data, data + size);
    data = buf.data();
    size = buf.size();
  }
  size_t off = 0;
  while (off + kPacket <= size && !done_) {
    const uint8_t* pkt = data + off;
    if (pkt[0] != 0x47) {  // lost sync: look for the next sync byte
      ++off;
      continue;
    }
    const int pid = ((pkt[1] & 0x1f) << 8) | pkt[2];
    if (pid == 0 || pid == pmt_pid_) {
      size_t len = 0;
      if (const uint8_t* s = ts_section_of(pkt, &len)) on_section(pid, s, len);
    }
    off += kPacket;
  }
  if (!done_ && off < size) partial_.assign(data + off, data + size);
  return done_;
}

void TsTrackProbe::on_section(int pid, const uint8_t* s, size_t len) {
  if (len < 12) return;
  if (pid == 0) {
    if (s[0] != 0x00) return;
    for (size_t i = 8; i + 4 <= len - 4; i += 4) {
      const int program = (s[i] << 8) | s[i + 1];
      if (program == 0) continue;  // network PID
      pmt_pid_ = ((s[i + 2] & 0x1f) << 8) | s[i + 3];
      return;
    }
    return;
  }
  if (s[0] != 0x02 || len < 16) return;
  const size_t program_info_length = ((s[10] & 0x0f) << 8) | s[11];
  for (size_t i = 12 + program_info_length; i + 5 <= len - 4;) {
    const uint8_t type = s[i];
    const int pid = ((s[i + 1] & 0x1f) << 8) | s[i + 2];
    const size_t es_info = ((s[i + 3] & 0x0f) << 8) | s[i + 4];
    if (i + 5 + es_info > len - 4) break;
    const uint8_t* descriptors = s + i + 5;
    TsCodec codec = TsCodec::h264;
    const bool known = ts_codec_of(type, type == 0x06 && ts_has_opus_registration(descriptors, es_info), &codec);
    bool used = false;
    for (const AudioTrack& t : audio_tracks_) used = used || t.pid == pid;
    if (known && !used && pid != video_pid_ && ts_codec_is_video(codec) && video_.empty()) {
      video_ = ts_codec_name(codec);
      video_pid_ = pid;
      video_codec_ = codec;
    } else if (known && !used && pid != video_pid_ && !ts_codec_is_video(codec) &&
               audio_tracks_.size() < kMaxAudioTracks) {
      if (audio_.empty()) audio_ = ts_codec_name(codec);
      AudioTrack track;
      track.pid = pid;
      track.codec = ts_codec_name(codec);
      track.language = language_of(descriptors, es_info);
      track.ts_codec = codec;
      if (codec == TsCodec::opus) track.opus_channel_config = opus_channel_config_of(descriptors, es_info);
      audio_tracks_.push_back(std::move(track));
    } else {
      ignored_.push_back(type);
    }
    i += 5 + es_info;
  }
  done_ = true;
  partial_.clear();
}

}  // namespace estuary::pipelines
