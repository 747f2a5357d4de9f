// Owns: the WHIP receive-side wire logic (see rtp_receiver.h).
#include "server/protocols/webrtc/engine/rtp_receiver.h"

#include <algorithm>
#include <cmath>

#include "server/protocols/webrtc/engine/byte_order.h"
#include "server/protocols/webrtc/engine/rtp_wire.h"

namespace estuary::webrtc::engine {
namespace {

using be::put16;
using be::put32;
using be::rd16;
using be::rd32;

// RTCP header: V=2, count/format, packet type, length in 32-bit words minus one (patched by finish).
void header(std::vector<uint8_t>& v, uint8_t count, uint8_t pt) {
  v.push_back(uint8_t(0x80 | (count & 0x1F)));
  v.push_back(pt);
  put16(v, 0);
}
void finish(std::vector<uint8_t>& v) {
  const uint16_t words = uint16_t(v.size() / 4 - 1);
  v[2] = uint8_t(words >> 8);
  v[3] = uint8_t(words);
}

}  // namespace

bool parse_rtp_header(const uint8_t* rtp, size_t len, RtpHeader* out) {
  if (rtp_payload_offset(rtp, len) == 0) return false;
  out->marker = rtp[1] & 0x80;
  out->pt = rtp[1] & 0x7F;
  out->seq = rd16(rtp + 2);
  out->ts = rd32(rtp + 4);
  out->ssrc = rd32(rtp + 8);
  return true;
}

std::vector<uint8_t> picture_loss(uint32_t sender_ssrc, uint32_t media_ssrc) {
  std::vector<uint8_t> v;
  header(v, 1, 206);
  put32(v, sender_ssrc);
  put32(v, media_ssrc);
  finish(v);
  return v;
}

std::vector<uint8_t> generic_nack(uint32_t sender_ssrc, uint32_t media_ssrc, std::vector<uint16_t> seqs,
                                  size_t max_items) {
  std::vector<uint8_t> v;
  if (seqs.empty() || max_items == 0) return v;
  // Sorted in wrap-around order relative to the first one reported.
  const uint16_t origin = seqs.front();
  std::sort(seqs.begin(), seqs.end(),
            [origin](uint16_t a, uint16_t b) { return uint16_t(a - origin) < uint16_t(b - origin); });
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  header(v, 1, 205);
  put32(v, sender_ssrc);
  put32(v, media_ssrc);
  size_t items = 0;
  for (size_t i = 0; i < seqs.size() && items < max_items; ++items) {
    const uint16_t pid = seqs[i++];
    uint16_t blp = 0;
    while (i < seqs.size() && uint16_t(seqs[i] - pid) <= 16) blp |= uint16_t(1u << (uint16_t(seqs[i++] - pid) - 1));
    put16(v, pid);
    put16(v, blp);
  }
  finish(v);
  return v;
}

RtpReceiver::Source* RtpReceiver::find(uint32_t ssrc) {
  for (Source& s : sources_)
    if (s.ssrc == ssrc) return &s;
  return nullptr;
}

bool RtpReceiver::on_rtp(const RtpHeader& h, uint32_t clock_rate, int64_t now_us) {
  Source* s = find(h.ssrc);
  if (!s) {
    if (sources_.size() >= kMaxSources) return false;
    Source n;
    n.ssrc = h.ssrc;
    n.max_seq = h.seq;
    n.base_seq = h.seq;
    sources_.push_back(n);
    s = &sources_.back();
  }
  s->pt = h.pt;
  s->clock = clock_rate ? clock_rate : 90000;
  const uint16_t delta = uint16_t(h.seq - s->max_seq);
  if (s->received > 0 && delta > 0 && delta < 0x8000) {
    if (h.seq < s->max_seq) s->cycles += 0x10000;
    s->max_seq = h.seq;
  } else if (s->received == 0) {
    s->max_seq = h.seq;
  }
  ++s->received;
  ++packets_;
  // Interarrival jitter (RFC 3550 A.8), in timestamp units.
  const int64_t arrival = now_us * int64_t(s->clock) / 1000000;
  const int64_t transit = arrival - int64_t(h.ts);
  if (s->have_transit) {
    int64_t d = transit - s->last_transit;
    if (d < 0) d = -d;
    if (d < int64_t(s->clock) * 10) s->jitter += (double(d) - s->jitter) / 16.0;
  }
  s->last_transit = transit;
  s->have_transit = true;
  return true;
}

void RtpReceiver::on_rtcp(const uint8_t* data, size_t len, int64_t now_us) {
  size_t off = 0;
  for (int n = 0; n < 16 && off + 4 <= len; ++n) {
    const size_t plen = (size_t(rd16(data + off + 2)) + 1) * 4;
    if ((data[off] >> 6) != 2 || off + plen > len) return;
    if (data[off + 1] == 200 && plen >= 28) {  // SR: SSRC, NTP (64), RTP ts, counts
      if (Source* s = find(rd32(data + off + 4))) {
        s->lsr = uint32_t(rd16(data + off + 10)) << 16 | rd16(data + off + 12);
        s->lsr_at_us = now_us;
      }
    }
    off += plen;
  }
}

std::vector<uint8_t> RtpReceiver::receiver_report(uint32_t sender_ssrc, int64_t now_us) {
  std::vector<uint8_t> v;
  header(v, uint8_t(sources_.size()), 201);
  put32(v, sender_ssrc);
  for (Source& s : sources_) {
    const uint64_t ext_max = uint64_t(s.cycles) + s.max_seq;
    const uint64_t expected = ext_max >= s.base_seq ? ext_max - s.base_seq + 1 : 0;
    const int64_t lost = int64_t(expected) - int64_t(s.received);
    const uint64_t expected_interval = expected - std::min(expected, s.expected_prior);
    const uint64_t received_interval = s.received - std::min(s.received, s.received_prior);
    s.expected_prior = expected;
    s.received_prior = s.received;
    const int64_t lost_interval = int64_t(expected_interval) - int64_t(received_interval);
    const uint8_t fraction = expected_interval == 0 || lost_interval <= 0
                                 ? 0
                                 : uint8_t(std::min<int64_t>(255, (lost_interval << 8) / int64_t(expected_interval)));
    const int32_t lost24 = int32_t(std::clamp<int64_t>(lost, -0x800000, 0x7FFFFF));
    put32(v, s.ssrc);
    put32(v, uint32_t(fraction) << 24 | (uint32_t(lost24) & 0xFFFFFF));
    put32(v, uint32_t(ext_max));
    put32(v, uint32_t(s.jitter));
    put32(v, s.lsr);
    const int64_t dlsr = s.lsr ? (now_us - s.lsr_at_us) * 65536 / 1000000 : 0;
    put32(v, uint32_t(std::max<int64_t>(0, dlsr)));
  }
  finish(v);
  return v;
}

uint32_t RtpReceiver::ssrc_of_pt(uint8_t pt) const {
  for (const Source& s : sources_)
    if (s.pt == pt) return s.ssrc;
  return 0;
}

uint64_t RtpReceiver::lost() const {
  uint64_t total = 0;
  for (const Source& s : sources_) {
    const uint64_t ext_max = uint64_t(s.cycles) + s.max_seq;
    const uint64_t expected = ext_max >= s.base_seq ? ext_max - s.base_seq + 1 : 0;
    if (expected > s.received) total += expected - s.received;
  }
  return total;
}

}  // namespace estuary::webrtc::engine
