// Owns: building hand-made MPEG-TS PSI packets for the TS unit tests.
#pragma once

#include <cstdint>
#include <vector>

#include "pipelines/ts_guard.h"

namespace estuary::test {

// A single-packet PSI section on pid: pointer field, section, CRC, 0xff stuffing.
inline std::vector<uint8_t> psi_packet(int pid, std::vector<uint8_t> section) {
  const uint32_t crc = estuary::pipelines::mpeg_crc32(section.data(), section.size());
  for (int i = 3; i >= 0; --i) section.push_back(uint8_t(crc >> (8 * i)));
  std::vector<uint8_t> p = {0x47, uint8_t(0x40 | (pid >> 8)), uint8_t(pid & 0xff), 0x10, 0x00};
  p.insert(p.end(), section.begin(), section.end());
  p.resize(188, 0xff);
  return p;
}

}  // namespace estuary::test
