// Owns: RTP/RTCP wire helpers of the shared engine (see rtp_wire.h).
#include "server/protocols/webrtc/engine/rtp_wire.h"

namespace estuary::webrtc::engine {
namespace {

uint16_t rd16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t rd32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
void put32(std::vector<uint8_t>& v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(uint8_t(x >> s));
}

}  // namespace

size_t rtp_payload_offset(const uint8_t* rtp, size_t len) {
  if (len < 12 || (rtp[0] >> 6) != 2) return 0;
  size_t off = 12 + size_t(rtp[0] & 0x0F) * 4;
  if (rtp[0] & 0x10) {
    if (off + 4 > len) return 0;
    off += 4 + size_t(rd16(rtp + off + 2)) * 4;
  }
  return off < len ? off : 0;
}

bool h264_keyframe_start(const uint8_t* rtp, size_t len) {
  const size_t off = rtp_payload_offset(rtp, len);
  if (off == 0) return false;
  const uint8_t* p = rtp + off;
  const size_t n = len - off;
  const int type = p[0] & 0x1F;
  if (type == 7 || type == 5) return true;  // SPS (sent before every IDR) or an IDR alone
  if (type == 24) {                         // STAP-A: the first aggregated unit decides
    if (n < 4) return false;
    const int inner = p[3] & 0x1F;
    return inner == 7 || inner == 5;
  }
  if (type == 28) {  // FU-A: the start fragment of an IDR
    if (n < 2) return false;
    return (p[1] & 0x80) && (p[1] & 0x1F) == 5;
  }
  return false;
}

bool h265_keyframe_start(const uint8_t* rtp, size_t len) {
  const size_t off = rtp_payload_offset(rtp, len);
  if (off == 0 || len - off < 2) return false;
  const uint8_t* p = rtp + off;
  const size_t n = len - off;
  auto starts = [](int type) { return type == 32 || type == 33 || (type >= 16 && type <= 21); };  // VPS, SPS, IRAP
  const int type = (p[0] >> 1) & 0x3F;
  if (type == 48) return n >= 5 && starts((p[4] >> 1) & 0x3F);            // AP: 2-byte header, 2-byte size, first unit
  if (type == 49) return n >= 3 && (p[2] & 0x80) && starts(p[2] & 0x3F);  // FU: start fragment
  return starts(type);
}

bool is_rtcp(const uint8_t* data, size_t len) {
  if (len < 8 || (data[0] >> 6) != 2) return false;
  return data[1] >= 192 && data[1] <= 223;
}

RtcpFeedback parse_rtcp(const uint8_t* data, size_t len, size_t max_nacks) {
  RtcpFeedback fb;
  size_t pos = 0;
  while (pos + 4 <= len && fb.packets < 64) {
    const uint8_t* p = data + pos;
    if ((p[0] >> 6) != 2) {
      fb.malformed = true;
      break;
    }
    const int count = p[0] & 0x1F;
    const int pt = p[1];
    const size_t plen = (size_t(rd16(p + 2)) + 1) * 4;
    if (pos + plen > len) {
      fb.malformed = true;
      break;
    }
    ++fb.packets;
    if ((pt == 200 || pt == 201) && plen >= 8) {  // SR / RR: report blocks after the sender info
      size_t blocks = pt == 200 ? 28 : 8;
      for (int i = 0; i < count && blocks + 24 <= plen; ++i, blocks += 24) {
        const uint8_t* b = p + blocks;
        ++fb.receiver_reports;
        fb.fraction_lost = b[4];
        fb.lost_total = rd32(b + 4) & 0xFFFFFF;
        fb.lsr = rd32(b + 16);
        fb.dlsr = rd32(b + 20);
        if (fb.reports.size() < kMaxReports)
          fb.reports.push_back({rd32(b), b[4], rd32(b + 4) & 0xFFFFFF, fb.lsr, fb.dlsr});
      }
    } else if (pt == 205 && count == 1 && plen >= 12) {  // generic NACK
      const uint32_t media = rd32(p + 8);
      for (size_t f = 12; f + 4 <= plen && fb.nacks.size() < max_nacks; f += 4) {
        const uint16_t pid = rd16(p + f);
        const uint16_t blp = rd16(p + f + 2);
        if (fb.nacks.size() < max_nacks) fb.nacks.emplace_back(media, pid);
        for (int b = 0; b < 16; ++b)
          if ((blp >> b) & 1 && fb.nacks.size() < max_nacks) fb.nacks.emplace_back(media, uint16_t(pid + b + 1));
      }
    } else if (pt == 205 && count == 15 && plen >= 20) {  // transport-wide CC feedback: counted only
      ++fb.twcc;
    } else if (pt == 206 && plen >= 12) {
      const uint32_t media = rd32(p + 8);
      if (count == 1 && fb.keyframe_requests.size() < kMaxReports) {  // PLI
        fb.keyframe_requests.push_back(media);
        ++fb.plis;
      }
      if (count == 4 && plen >= 20 && fb.keyframe_requests.size() < kMaxReports) {  // FIR: SSRC in the FCI
        fb.keyframe_requests.push_back(rd32(p + 12));
        ++fb.firs;
      }
      if (count == 15 && plen >= 20 && p[12] == 'R' && p[13] == 'E' && p[14] == 'M' && p[15] == 'B') {
        ++fb.rembs;
        const uint8_t exp = p[17] >> 2;
        const uint64_t mantissa = (uint64_t(p[17] & 3) << 16) | uint64_t(p[18]) << 8 | p[19];
        fb.remb_bps = exp > 46 ? UINT64_MAX : mantissa << exp;
      }
    }
    pos += plen;
  }
  if (pos != len && !fb.malformed) fb.malformed = true;
  return fb;
}

std::vector<uint8_t> sender_report(uint32_t ssrc, uint64_t ntp, uint32_t rtp_ts, uint32_t packets, uint32_t octets) {
  std::vector<uint8_t> v;
  v.reserve(28);
  v.push_back(0x80);
  v.push_back(200);
  v.push_back(0);
  v.push_back(6);
  put32(v, ssrc);
  put32(v, uint32_t(ntp >> 32));
  put32(v, uint32_t(ntp));
  put32(v, rtp_ts);
  put32(v, packets);
  put32(v, octets);
  return v;
}

int64_t rtt_us_from_report(const ReportBlock& b, uint64_t now_ntp) {
  if (b.lsr == 0) return -1;
  const uint32_t now_mid = uint32_t(now_ntp >> 16);
  const uint32_t rtt = now_mid - b.lsr - b.dlsr;  // 1/65536 s, modulo 2^32
  if (rtt > (60u << 16)) return -1;               // negative (clock step) or beyond a minute
  return int64_t((uint64_t(rtt) * 1000000) >> 16);
}

uint64_t ntp_from_unix_us(int64_t us) {
  const uint64_t secs = uint64_t(us / 1000000) + 2208988800ull;
  const uint64_t frac = (uint64_t(us % 1000000) << 32) / 1000000;
  return secs << 32 | frac;
}

}  // namespace estuary::webrtc::engine
