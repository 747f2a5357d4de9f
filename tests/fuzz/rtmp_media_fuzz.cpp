// Owns: the libFuzzer target of the RTMP media message parser (pipelines/flv_media.h): legacy and
// enhanced RTMP audio/video headers, ModEx, multitrack, the configuration record checks and NAL length walks.
// The first input byte picks audio or video and the NAL length size; the rest is the message body.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "pipelines/flv_media.h"

using namespace estuary::pipelines;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t type = (data[0] & 1) ? 9 : 8;
  const unsigned length_size = 1 + ((data[0] >> 1) & 3);
  const uint8_t* body = data + 1;
  const size_t n = size - 1;
  auto unit = parse_flv_media(type, body, n);
  if (unit.ok()) {
    const FlvMediaUnit& u = *unit;
    if (u.size && (u.data < body || u.data + u.size > body + n)) std::abort();
    if (u.kind != FlvMediaUnit::Kind::skip && u.codec == MediaCodec::none) std::abort();
    if (u.kind == FlvMediaUnit::Kind::config) {
      const unsigned nal = nal_length_size(u.codec, u.data, u.size);
      if (nal > 4) std::abort();
    }
    if (u.kind == FlvMediaUnit::Kind::frame) (void)check_length_prefixed(u.data, u.size, length_size);
  }
  // Multitrack messages: every unit lies within the body.
  std::vector<FlvMediaUnit> units;
  if (parse_flv_media_tracks(type, body, n, &units).ok()) {
    if (units.size() > flv_media_max_tracks) std::abort();
    for (const FlvMediaUnit& u : units)
      if (u.size && (u.data < body || u.data + u.size > body + n)) std::abort();
  }
  // The record checks on their own, over the whole body.
  uint32_t rate = 0, channels = 0;
  (void)check_avc_config(body, n);
  (void)check_hevc_config(body, n);
  (void)check_av1_config(body, n);
  (void)check_vp9_config(body, n);
  (void)parse_aac_config(body, n, &rate, &channels);
  (void)parse_opus_head(body, n, &rate, &channels);
  (void)check_length_prefixed(body, n, length_size);
  return 0;
}
