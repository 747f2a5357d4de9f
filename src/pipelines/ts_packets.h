// Owns: scanning MPEG-TS muxer output (188-byte packets): it keeps the latest PAT and PMT packets
// (the header a late joiner needs first) and finds where a video keyframe PES begins (payload unit
// start + random access indicator on the video PID), so a joiner can start exactly there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace estuary::pipelines {

constexpr size_t ts_packet_size = 188;

// Payload of a 188-byte packet (after header and adaptation field), or nullptr when it has none
// or its adaptation field overruns the packet.
const uint8_t* ts_payload_of(const uint8_t* pkt, size_t* len);
// The PSI section that starts in this packet (after the pointer field), or nullptr. Single-packet
// sections only: the PAT and PMT of one program always fit.
const uint8_t* ts_section_of(const uint8_t* pkt, size_t* len);

// Opus in MPEG-TS is a private stream (type 0x06) whose ES descriptors carry a registration
// descriptor "Opus"; true when descriptors (len bytes of a PMT entry's ES info) hold one.
bool ts_has_opus_registration(const uint8_t* descriptors, size_t len);

struct TsScanResult {
  bool header_changed = false;  // PAT or PMT content differs from the previous header
  // Byte offset of the first packet that starts a keyframe (video stream) or an audio frame (when
  // the program has no video), or -1 if none is in this buffer.
  long key_offset = -1;
};

class TsScanner {
 public:
  // Scans whole packets of one buffer (a trailing partial packet is ignored).
  TsScanResult scan(const uint8_t* data, size_t size);
  bool has_header() const { return !pat_.empty() && !pmt_.empty(); }
  // PAT packet followed by PMT packet (376 bytes).
  std::vector<uint8_t> header() const;
  bool has_video() const { return video_pid_ >= 0; }

 private:
  void on_pat(const uint8_t* pkt, const uint8_t* section, size_t len, TsScanResult& r);
  void on_pmt(const uint8_t* pkt, const uint8_t* section, size_t len, TsScanResult& r);

  int pmt_pid_ = -1;
  int video_pid_ = -1;
  int audio_pid_ = -1;
  std::vector<uint8_t> pat_, pmt_;                  // whole packets
  std::vector<uint8_t> pat_section_, pmt_section_;  // section bytes, to detect changes
};

}  // namespace estuary::pipelines
