// Owns: RTP packets built for the WebRTC unit tests (a fixed header, a filled payload).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace estuary::webrtc::fixtures {

inline std::vector<uint8_t> rtp_packet(uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc, size_t payload,
                                       uint8_t fill) {
  std::vector<uint8_t> p(12 + payload, fill);
  p[0] = 0x80;
  p[1] = pt;
  for (int i = 0; i < 2; ++i) p[2 + i] = uint8_t(seq >> (8 - 8 * i));
  for (int i = 0; i < 4; ++i) p[4 + i] = uint8_t(ts >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) p[8 + i] = uint8_t(ssrc >> (24 - 8 * i));
  return p;
}

}  // namespace estuary::webrtc::fixtures
