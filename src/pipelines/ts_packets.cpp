// Owns: TsScanner (see ts_packets.h).
#include "pipelines/ts_packets.h"

#include <cstring>

namespace estuary::pipelines {
namespace {

bool is_video_stream_type(uint8_t t) { return t == 0x01 || t == 0x02 || t == 0x10 || t == 0x1b || t == 0x24; }
bool is_audio_stream_type(uint8_t t) { return t == 0x03 || t == 0x04 || t == 0x0f || t == 0x11 || t == 0x81; }

bool random_access(const uint8_t* pkt) {
  const uint8_t afc = (pkt[3] >> 4) & 0x3;
  return (afc & 0x2) && pkt[4] > 0 && (pkt[5] & 0x40);
}

}  // namespace

const uint8_t* ts_payload_of(const uint8_t* pkt, size_t* len) {
  const uint8_t afc = (pkt[3] >> 4) & 0x3;
  size_t off = 4;
  if (afc == 2 || afc == 0) return nullptr;
  if (afc == 3) off += 1 + pkt[4];
  if (off >= ts_packet_size) return nullptr;
  *len = ts_packet_size - off;
  return pkt + off;
}

const uint8_t* ts_section_of(const uint8_t* pkt, size_t* len) {
  if (!(pkt[1] & 0x40)) return nullptr;  // payload_unit_start
  size_t plen = 0;
  const uint8_t* p = ts_payload_of(pkt, &plen);
  if (!p || plen < 1 || size_t(p[0]) + 1 >= plen) return nullptr;
  const uint8_t* s = p + 1 + p[0];
  size_t avail = plen - 1 - p[0];
  if (avail < 3) return nullptr;
  size_t section_length = ((s[1] & 0x0f) << 8) | s[2];
  if (3 + section_length > avail) return nullptr;
  *len = 3 + section_length;
  return s;
}

bool ts_has_opus_registration(const uint8_t* d, size_t len) {
  for (size_t i = 0; i + 2 <= len;) {
    const uint8_t tag = d[i], l = d[i + 1];
    if (i + 2 + l > len) break;
    if (tag == 0x05 && l >= 4 && std::memcmp(d + i + 2, "Opus", 4) == 0) return true;
    i += 2 + l;
  }
  return false;
}

void TsScanner::on_pat(const uint8_t* pkt, const uint8_t* s, size_t len, TsScanResult& r) {
  if (len < 16) return;  // header(8) + one program(4) + CRC(4)
  std::vector<uint8_t> section(s, s + len);
  if (section != pat_section_) {
    pat_section_ = std::move(section);
    r.header_changed = true;
  }
  pat_.assign(pkt, pkt + ts_packet_size);
  for (size_t i = 8; i + 4 <= len - 4; i += 4) {
    const int program = (s[i] << 8) | s[i + 1];
    if (program == 0) continue;  // network PID
    pmt_pid_ = ((s[i + 2] & 0x1f) << 8) | s[i + 3];
    break;
  }
}

void TsScanner::on_pmt(const uint8_t* pkt, const uint8_t* s, size_t len, TsScanResult& r) {
  if (len < 16 || s[0] != 0x02) return;
  std::vector<uint8_t> section(s, s + len);
  if (section != pmt_section_) {
    pmt_section_ = std::move(section);
    r.header_changed = true;
  }
  pmt_.assign(pkt, pkt + ts_packet_size);
  const size_t program_info_length = ((s[10] & 0x0f) << 8) | s[11];
  video_pid_ = audio_pid_ = -1;
  for (size_t i = 12 + program_info_length; i + 5 <= len - 4;) {
    const uint8_t type = s[i];
    const int pid = ((s[i + 1] & 0x1f) << 8) | s[i + 2];
    const size_t es_info = ((s[i + 3] & 0x0f) << 8) | s[i + 4];
    if (i + 5 + es_info > len - 4) break;  // a truncated entry
    if (is_video_stream_type(type) && video_pid_ < 0) video_pid_ = pid;
    const bool opus = type == 0x06 && ts_has_opus_registration(s + i + 5, es_info);
    if ((is_audio_stream_type(type) || opus) && audio_pid_ < 0) audio_pid_ = pid;
    i += 5 + es_info;
  }
}

TsScanResult TsScanner::scan(const uint8_t* data, size_t size) {
  TsScanResult r;
  for (size_t off = 0; off + ts_packet_size <= size; off += ts_packet_size) {
    const uint8_t* pkt = data + off;
    if (pkt[0] != 0x47) continue;
    const int pid = ((pkt[1] & 0x1f) << 8) | pkt[2];
    const bool start = pkt[1] & 0x40;
    if (pid == 0) {
      size_t len = 0;
      if (const uint8_t* s = ts_section_of(pkt, &len)) on_pat(pkt, s, len, r);
    } else if (pid == pmt_pid_) {
      size_t len = 0;
      if (const uint8_t* s = ts_section_of(pkt, &len)) on_pmt(pkt, s, len, r);
    } else if (start && r.key_offset < 0 && has_header()) {
      const bool key = video_pid_ >= 0 ? (pid == video_pid_ && random_access(pkt)) : pid == audio_pid_;
      if (key) r.key_offset = long(off);
    }
  }
  return r;
}

std::vector<uint8_t> TsScanner::header() const {
  std::vector<uint8_t> h(pat_);
  h.insert(h.end(), pmt_.begin(), pmt_.end());
  return h;
}

}  // namespace estuary::pipelines
