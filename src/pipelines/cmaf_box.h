// Owns: writing ISO-BMFF boxes into a byte vector (sizes patched when a box ends), big-endian
// fields, and the codec strings (RFC 6381) players read from codec configuration records.
// Must not know: GStreamer, tracks, fragments, playlists. Sans-IO.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace estuary::pipelines::cmaf {

class BoxWriter {
 public:
  // Opens a box of `type` (four characters); its size is patched by end().
  void begin(const char* type);
  // Opens a full box (version and 24-bit flags after the header).
  void begin_full(const char* type, uint8_t version, uint32_t flags);
  void end();
  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v);
  void u24(uint32_t v);
  void u32(uint32_t v);
  void u64(uint64_t v);
  void fourcc(const char* type);
  void bytes(const uint8_t* data, size_t size) { out_.insert(out_.end(), data, data + size); }
  void bytes(const std::vector<uint8_t>& data) { bytes(data.data(), data.size()); }
  void zeros(size_t n) { out_.insert(out_.end(), n, 0); }
  // Overwrites a 32-bit field written earlier at byte `offset`.
  void patch_u32(size_t offset, uint32_t v);
  size_t size() const { return out_.size(); }
  std::vector<uint8_t> take() { return std::move(out_); }
  const std::vector<uint8_t>& data() const { return out_; }

 private:
  std::vector<uint8_t> out_;
  std::vector<size_t> open_;
};

// "avc1.64001f" from an AVCDecoderConfigurationRecord; "" if too short.
std::string avc_codec_string(const std::vector<uint8_t>& avcc);
// "hvc1.1.6.L93.B0" from an HEVCDecoderConfigurationRecord; "" if too short.
std::string hevc_codec_string(const std::vector<uint8_t>& hvcc);
// "mp4a.40.2" from an AudioSpecificConfig (the object type in its first five bits).
std::string aac_codec_string(const std::vector<uint8_t>& asc);

// Reads a big-endian 32-bit value (tests and the box walker).
inline uint32_t read_u32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

}  // namespace estuary::pipelines::cmaf
