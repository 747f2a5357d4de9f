// Owns: ts_select_track (see ts_track_select.h).
#include "pipelines/ts_track_select.h"

#include <cstring>
#include <set>

#include "pipelines/ts_guard.h"
#include "pipelines/ts_packets.h"

namespace estuary::pipelines {
namespace {

int pid_of(const uint8_t* pkt) { return ((pkt[1] & 0x1f) << 8) | pkt[2]; }

bool is_video_type(uint8_t type) { return type == 0x1b || type == 0x24; }

bool is_audio_type(uint8_t type, const uint8_t* descriptors, size_t len) {
  return type == 0x0f || type == 0x11 || type == 0x03 || type == 0x04 || type == 0x81 ||
         (type == 0x06 && ts_has_opus_registration(descriptors, len));
}

// The PMT section s (len bytes, CRC included) with only the ES entries whose PID is in keep, and a
// new CRC.
std::vector<uint8_t> filtered_pmt(const uint8_t* s, size_t len, const std::set<int>& keep) {
  const size_t program_info_length = ((s[10] & 0x0f) << 8) | s[11];
  std::vector<uint8_t> out(s, s + 12 + program_info_length);
  for (size_t i = 12 + program_info_length; i + 5 <= len - 4;) {
    const size_t es_info = ((s[i + 3] & 0x0f) << 8) | s[i + 4];
    if (i + 5 + es_info > len - 4) break;
    const int pid = ((s[i + 1] & 0x1f) << 8) | s[i + 2];
    if (keep.count(pid)) out.insert(out.end(), s + i, s + i + 5 + es_info);
    i += 5 + es_info;
  }
  const size_t section_length = out.size() - 3 + 4;  // after the length field, CRC included
  out[1] = uint8_t((out[1] & 0xf0) | ((section_length >> 8) & 0x0f));
  out[2] = uint8_t(section_length & 0xff);
  const uint32_t crc = mpeg_crc32(out.data(), out.size());
  for (int b = 3; b >= 0; --b) out.push_back(uint8_t(crc >> (8 * b)));
  return out;
}

}  // namespace

bool ts_select_track(const uint8_t* data, size_t size, TsTrackChoice choice, std::vector<uint8_t>* out,
                     std::string* error) {
  const size_t n = size / ts_packet_size;
  // The program: PMT PID from the PAT, then the PID to keep from the first PMT.
  int pmt_pid = -1;
  std::set<int> keep;
  const uint8_t* pmt = nullptr;
  size_t pmt_len = 0;
  for (size_t k = 0; k < n && !pmt; ++k) {
    const uint8_t* pkt = data + k * ts_packet_size;
    if (pkt[0] != 0x47) continue;
    size_t len = 0;
    const uint8_t* s = nullptr;
    if (pid_of(pkt) == 0 && (s = ts_section_of(pkt, &len)) && len >= 16 && s[0] == 0x00) {
      for (size_t i = 8; i + 4 <= len - 4; i += 4)
        if (((s[i] << 8) | s[i + 1]) != 0) {
          pmt_pid = ((s[i + 2] & 0x1f) << 8) | s[i + 3];
          break;
        }
    } else if (pmt_pid >= 0 && pid_of(pkt) == pmt_pid && (s = ts_section_of(pkt, &len)) && len >= 16 && s[0] == 0x02) {
      pmt = s;
      pmt_len = len;
    }
  }
  if (!pmt) {
    *error = "no PAT and PMT in the segment";
    return false;
  }
  const size_t program_info_length = ((pmt[10] & 0x0f) << 8) | pmt[11];
  int audio_index = 0;
  bool video_taken = false;
  for (size_t i = 12 + program_info_length; i + 5 <= pmt_len - 4;) {
    const uint8_t type = pmt[i];
    const size_t es_info = ((pmt[i + 3] & 0x0f) << 8) | pmt[i + 4];
    if (i + 5 + es_info > pmt_len - 4) break;
    const int pid = ((pmt[i + 1] & 0x1f) << 8) | pmt[i + 2];
    if (is_video_type(type) && !video_taken) {
      video_taken = true;
      if (choice.video) keep.insert(pid);
    } else if (is_audio_type(type, pmt + i + 5, es_info)) {
      if (audio_index++ == choice.audio) keep.insert(pid);
    }
    i += 5 + es_info;
  }
  const std::vector<uint8_t> section = filtered_pmt(pmt, pmt_len, keep);
  out->reserve(out->size() + size);
  for (size_t k = 0; k < n; ++k) {
    const uint8_t* pkt = data + k * ts_packet_size;
    const int pid = pid_of(pkt);
    if (pid == 0 || keep.count(pid)) {
      out->insert(out->end(), pkt, pkt + ts_packet_size);
      continue;
    }
    if (pid != pmt_pid) continue;
    // The PMT, rewritten in place of the original: its header (and adaptation field), a zero
    // pointer field, the shorter section, stuffing.
    size_t plen = 0;
    const uint8_t* payload = ts_payload_of(pkt, &plen);
    if (!payload || !(pkt[1] & 0x40)) continue;  // a continuation of a multi-packet PMT: not made by our muxers
    const size_t head = size_t(payload - pkt);
    if (head + 1 + section.size() > ts_packet_size) {
      *error = "PMT does not fit one packet";
      return false;
    }
    const size_t at = out->size();
    out->insert(out->end(), pkt, pkt + head);
    out->push_back(0);
    out->insert(out->end(), section.begin(), section.end());
    out->resize(at + ts_packet_size, 0xff);
  }
  return true;
}

}  // namespace estuary::pipelines
