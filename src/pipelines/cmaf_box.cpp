// Owns: ISO-BMFF box writing and codec strings (see cmaf_box.h).
#include "pipelines/cmaf_box.h"

#include <cstdio>

namespace estuary::pipelines::cmaf {

void BoxWriter::begin(const char* type) {
  open_.push_back(out_.size());
  u32(0);
  fourcc(type);
}

void BoxWriter::begin_full(const char* type, uint8_t version, uint32_t flags) {
  begin(type);
  u8(version);
  u24(flags);
}

void BoxWriter::end() {
  const size_t start = open_.back();
  open_.pop_back();
  patch_u32(start, uint32_t(out_.size() - start));
}

void BoxWriter::u16(uint16_t v) {
  u8(uint8_t(v >> 8));
  u8(uint8_t(v));
}

void BoxWriter::u24(uint32_t v) {
  u8(uint8_t(v >> 16));
  u16(uint16_t(v));
}

void BoxWriter::u32(uint32_t v) {
  u16(uint16_t(v >> 16));
  u16(uint16_t(v));
}

void BoxWriter::u64(uint64_t v) {
  u32(uint32_t(v >> 32));
  u32(uint32_t(v));
}

void BoxWriter::fourcc(const char* type) { bytes(reinterpret_cast<const uint8_t*>(type), 4); }

void BoxWriter::patch_u32(size_t offset, uint32_t v) {
  out_[offset] = uint8_t(v >> 24);
  out_[offset + 1] = uint8_t(v >> 16);
  out_[offset + 2] = uint8_t(v >> 8);
  out_[offset + 3] = uint8_t(v);
}

std::string avc_codec_string(const std::vector<uint8_t>& avcc) {
  if (avcc.size() < 4) return "";
  char s[32];
  std::snprintf(s, sizeof s, "avc1.%02x%02x%02x", avcc[1], avcc[2], avcc[3]);
  return s;
}

std::string hevc_codec_string(const std::vector<uint8_t>& hvcc) {
  if (hvcc.size() < 13) return "";
  const int space = hvcc[1] >> 6;
  const bool tier = (hvcc[1] >> 5) & 1;
  const int profile = hvcc[1] & 0x1f;
  // The compatibility flags are written in reverse bit order (ISO/IEC 14496-15 annex E).
  uint32_t flags = read_u32(&hvcc[2]), reversed = 0;
  for (int i = 0; i < 32; ++i)
    if (flags & (1u << i)) reversed |= 1u << (31 - i);
  std::string out = "hvc1.";
  if (space) out += char('A' + space - 1);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%d.%x.%c%d", profile, reversed, tier ? 'H' : 'L', hvcc[12]);
  out += buf;
  int last = 11;  // constraint bytes 6..11, trailing zero bytes left out
  while (last >= 6 && hvcc[last] == 0) --last;
  for (int i = 6; i <= last; ++i) {
    std::snprintf(buf, sizeof buf, ".%X", hvcc[i]);
    out += buf;
  }
  return out;
}

std::string aac_codec_string(const std::vector<uint8_t>& asc) {
  int object_type = asc.empty() ? 2 : asc[0] >> 3;
  if (object_type == 0) object_type = 2;
  return "mp4a.40." + std::to_string(object_type);
}

}  // namespace estuary::pipelines::cmaf
