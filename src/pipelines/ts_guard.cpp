// Owns: TsGuard and the PES/PSI checks it applies (see ts_guard.h).
#include "pipelines/ts_guard.h"

#include <algorithm>

#include "pipelines/ts_packets.h"

namespace estuary::pipelines {
namespace {

constexpr size_t kPacket = ts_packet_size;
constexpr int kNullPid = 0x1fff;

// A PTS or DTS field: 4-bit prefix, 3 bits, marker, 15 bits, marker, 15 bits, marker.
bool timestamp_field_ok(const uint8_t* f, uint8_t prefix) {
  return (f[0] >> 4) == prefix && (f[0] & 1) && (f[2] & 1) && (f[4] & 1);
}

// Stream ids whose PES packets carry the optional header (ISO/IEC 13818-1 table 2-22) and that
// an audio/video elementary stream uses: private_stream_1 (AC-3, Opus, ...), MPEG audio and
// video, extended_stream_id.
bool stream_id_has_header(uint8_t id) { return id == 0xbd || (id >= 0xc0 && id <= 0xef) || id == 0xfd; }

}  // namespace

uint32_t mpeg_crc32(const uint8_t* data, size_t len) {
  uint32_t crc = 0xffffffffu;
  for (size_t i = 0; i < len; ++i) {
    crc ^= uint32_t(data[i]) << 24;
    for (int b = 0; b < 8; ++b) crc = (crc & 0x80000000u) ? (crc << 1) ^ 0x04c11db7u : crc << 1;
  }
  return crc;
}

bool pes_header_is_valid(const uint8_t* p, size_t len, std::string* why) {
  auto fail = [&](const char* reason) {
    *why = reason;
    return false;
  };
  if (len < 9) return fail("PES header truncated in its first packet");
  if (p[0] != 0 || p[1] != 0 || p[2] != 1) return fail("no PES start code");
  if (!stream_id_has_header(p[3])) return fail("PES stream id is not an audio/video stream");
  if ((p[6] & 0xc0) != 0x80) return fail("PES header marker bits are wrong");
  const uint8_t flags = p[7];
  const size_t header_data_length = p[8];
  if (9 + header_data_length > len) return fail("PES header longer than its first packet");
  const size_t packet_length = (size_t(p[4]) << 8) | p[5];
  if (packet_length != 0 && packet_length < 3 + header_data_length)
    return fail("PES packet length shorter than its header");
  const uint8_t pts_dts = flags >> 6;
  if (pts_dts == 0) return fail("PES without a PTS");
  if (pts_dts == 1) return fail("PES with the forbidden PTS_DTS_flags value 01");
  // Fields the flags announce, in order, must fit in PES_header_data_length.
  size_t need = pts_dts == 3 ? 10 : 5;
  if (flags & 0x20) need += 6;  // ESCR
  if (flags & 0x10) need += 3;  // ES_rate
  if (flags & 0x08) need += 1;  // DSM trick mode
  if (flags & 0x04) need += 1;  // additional copy info
  if (flags & 0x02) need += 2;  // previous PES CRC
  if (flags & 0x01) need += 1;  // PES extension flags byte (its fields are not checked)
  if (need > header_data_length) return fail("PES header fields overrun PES_header_data_length");
  const uint8_t* ts = p + 9;
  if (!timestamp_field_ok(ts, pts_dts == 3 ? 0x3 : 0x2)) return fail("PES PTS field is malformed");
  if (pts_dts == 3 && !timestamp_field_ok(ts + 5, 0x1)) return fail("PES DTS field is malformed");
  return true;
}

void TsGuard::feed(const uint8_t* data, size_t size, std::vector<uint8_t>& out) {
  size_t off = 0;
  if (!partial_.empty()) {  // complete the packet split across calls
    const size_t take = std::min(kPacket - partial_.size(), size);
    partial_.insert(partial_.end(), data, data + take);
    off = take;
    if (partial_.size() < kPacket) return;
    if (partial_[0] == 0x47) on_packet(partial_.data(), out);
    partial_.clear();
  }
  while (off < size) {
    if (data[off] != 0x47) {  // lost sync: skip to the next sync byte
      ++off;
      continue;
    }
    if (size - off < kPacket) {
      partial_.assign(data + off, data + size);
      return;
    }
    on_packet(data + off, out);
    off += kPacket;
  }
}

bool TsGuard::hopeless() const {
  // A healthy encoder never sends a malformed PES header; allow a few (a corrupted packet on a
  // lossy link) but not a stream that is mostly garbage.
  return stats_.pes_rejected >= 32 && stats_.pes_rejected * 4 > stats_.pes_accepted;
}

void TsGuard::reject(std::string why) { last_rejection_ = std::move(why); }

void TsGuard::on_packet(const uint8_t* pkt, std::vector<uint8_t>& out) {
  ++stats_.packets_in;
  const int pid = ((pkt[1] & 0x1f) << 8) | pkt[2];
  const bool unit_start = pkt[1] & 0x40;
  const uint8_t afc = (pkt[3] >> 4) & 0x3;
  if (pkt[1] & 0x80) return ++stats_.packets_invalid, reject("transport error indicator set");
  if (pkt[3] & 0xc0) return ++stats_.packets_invalid, reject("scrambled packet");
  if (afc == 0) return ++stats_.packets_invalid, reject("reserved adaptation_field_control");
  if (afc == 2 && pkt[4] != 183) return ++stats_.packets_invalid, reject("adaptation field length is not 183");
  if (afc == 3 && pkt[4] > 182) return ++stats_.packets_invalid, reject("adaptation field overruns the packet");
  if (pid == kNullPid) return;  // stuffing: nothing for the demuxer

  size_t len = 0;
  const uint8_t* payload = ts_payload_of(pkt, &len);
  const bool forward = [&] {
    if (pid == 0 || pid == pmt_pid_) return accept_psi(pid, pkt);
    auto es = elementary_.find(pid);
    if (es == elementary_.end()) return pid == pcr_pid_ && afc == 2;  // a PCR-only PID: adaptation only
    if (!payload) return true;                                        // adaptation only (PCR, stuffing): no PES bytes
    if (unit_start) es->second.in_pes = accept_pes_start(payload, len);
    return es->second.in_pes;
  }();
  if (!forward) return;
  out.insert(out.end(), pkt, pkt + kPacket);
  ++stats_.packets_out;
}

bool TsGuard::accept_psi(int pid, const uint8_t* pkt) {
  size_t len = 0;
  const uint8_t* s = ts_section_of(pkt, &len);
  if (!s) {
    // Continuation of a multi-packet section or a malformed start: our programs' PAT and PMT
    // always fit in one packet, so nothing else on these PIDs is needed.
    ++stats_.psi_rejected;
    reject("PSI packet without a whole single-packet section");
    return false;
  }
  if (len < 12 || mpeg_crc32(s, len) != 0) {
    ++stats_.psi_rejected;
    reject("PSI section with a bad CRC");
    return false;
  }
  std::vector<uint8_t>& first = pid == 0 ? pat_section_ : pmt_section_;
  if (!first.empty()) {
    if (first.size() == len && std::equal(first.begin(), first.end(), s)) return true;
    ++stats_.psi_rejected;
    reject(pid == 0 ? "the PAT changed during the stream" : "the PMT changed during the stream");
    return false;
  }
  if (pid == 0) {
    if (s[0] != 0x00) return ++stats_.psi_rejected, reject("PID 0 section is not a PAT"), false;
    for (size_t i = 8; i + 4 <= len - 4; i += 4) {
      const int program = (s[i] << 8) | s[i + 1];
      if (program == 0) continue;  // network PID
      const int pmt = ((s[i + 2] & 0x1f) << 8) | s[i + 3];
      if (pmt == 0 || pmt == kNullPid) break;
      pmt_pid_ = pmt;
      first.assign(s, s + len);
      return true;
    }
    ++stats_.psi_rejected;
    reject("PAT names no program");
    return false;
  }
  if (s[0] != 0x02 || len < 16) return ++stats_.psi_rejected, reject("PMT PID section is not a PMT"), false;
  const size_t program_info_length = ((s[10] & 0x0f) << 8) | s[11];
  std::map<int, Elementary> tracks;
  for (size_t i = 12 + program_info_length; i + 5 <= len - 4;) {
    const int es_pid = ((s[i + 1] & 0x1f) << 8) | s[i + 2];
    const size_t es_info = ((s[i + 3] & 0x0f) << 8) | s[i + 4];
    if (i + 5 + es_info > len - 4) break;
    if (es_pid != 0 && es_pid != pmt_pid_ && es_pid != kNullPid) tracks[es_pid] = Elementary{};
    i += 5 + es_info;
  }
  if (tracks.empty()) return ++stats_.psi_rejected, reject("PMT lists no elementary stream"), false;
  elementary_ = std::move(tracks);
  pcr_pid_ = ((s[8] & 0x1f) << 8) | s[9];
  first.assign(s, s + len);
  return true;
}

bool TsGuard::accept_pes_start(const uint8_t* payload, size_t len) {
  std::string why;
  if (pes_header_is_valid(payload, len, &why)) {
    ++stats_.pes_accepted;
    return true;
  }
  ++stats_.pes_rejected;
  reject(std::move(why));
  return false;
}

}  // namespace estuary::pipelines
