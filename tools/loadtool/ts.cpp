// Owns: PSI parsing and IDR scanning of the load tool's TS checker (see ts.h).
#include "ts.h"

namespace estuary::load {

void TsStreamParser::parse_psi(const uint8_t* payload, size_t n, bool pusi, bool pat) {
  // Sections of interest fit one packet (single program streams); others are ignored.
  if (!pusi || n < 1) return;
  size_t pos = 1 + payload[0];  // pointer field
  if (pos + 8 > n) return;
  const uint8_t* s = payload + pos;
  const size_t section_len = ((s[1] & 0x0f) << 8) | s[2];
  const size_t end = std::min(n - pos, 3 + section_len);
  if (end < 12) return;
  const size_t crc = 4;
  if (pat) {
    for (size_t i = 8; i + 4 <= end - crc; i += 4) {
      const int program = (s[i] << 8) | s[i + 1];
      if (program != 0) {
        pmt_pid_ = ((s[i + 2] & 0x1f) << 8) | s[i + 3];
        return;
      }
    }
    return;
  }
  const size_t info_len = ((s[10] & 0x0f) << 8) | s[11];
  for (size_t i = 12 + info_len; i + 5 <= end - crc;) {
    const int type = s[i];
    const int pid = ((s[i + 1] & 0x1f) << 8) | s[i + 2];
    const size_t es_len = ((s[i + 3] & 0x0f) << 8) | s[i + 4];
    if (type == 0x1b && video_pid_ < 0) video_pid_ = pid;
    i += 5 + es_len;
  }
}

bool TsStreamParser::scan_idr(const uint8_t* p, size_t n) {
  uint32_t st = sc_state_;
  for (size_t i = 0; i < n; ++i) {
    if ((st & 0xffffff) == 0x000001 && (p[i] & 0x1f) == 5) {
      sc_state_ = 0xffffffff;
      return true;
    }
    st = (st << 8) | p[i];
  }
  sc_state_ = st;
  return false;
}

}  // namespace estuary::load
