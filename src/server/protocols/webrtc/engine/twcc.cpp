// Owns: transport-wide congestion control feedback of a WHIP publisher (see twcc.h).
#include "server/protocols/webrtc/engine/twcc.h"

#include <algorithm>

namespace estuary::webrtc::engine {
namespace {

constexpr int64_t kTickUs = 250;           // receive delta unit
constexpr int64_t kReferenceUs = 64000;    // reference time unit
constexpr size_t kMinRun = 14;             // a run this long is one run-length chunk (else vector chunks)
constexpr size_t kMaxRun = (1 << 13) - 1;  // 13-bit run length

void put16(std::vector<uint8_t>& b, uint32_t v) {
  b.push_back(uint8_t(v >> 8));
  b.push_back(uint8_t(v));
}
void put32(std::vector<uint8_t>& b, uint32_t v) {
  put16(b, v >> 16);
  put16(b, v & 0xffff);
}

}  // namespace

bool rtp_extension_u16(const uint8_t* rtp, size_t len, int id, uint16_t* out) {
  if (id < 1 || id > 14 || len < 12 || (rtp[0] >> 6) != 2 || !(rtp[0] & 0x10)) return false;
  size_t off = 12 + size_t(rtp[0] & 0x0f) * 4;
  if (off + 4 > len) return false;
  const uint16_t profile = uint16_t(rtp[off] << 8 | rtp[off + 1]);
  const size_t words = size_t(rtp[off + 2] << 8 | rtp[off + 3]);
  off += 4;
  if (profile != 0xBEDE || off + words * 4 > len) return false;
  const size_t end = off + words * 4;
  while (off < end) {
    const int eid = rtp[off] >> 4;
    if (eid == 0) {  // padding byte
      ++off;
      continue;
    }
    if (eid == 15) return false;  // stop: nothing after it is read
    const size_t n = size_t(rtp[off] & 0x0f) + 1;
    if (off + 1 + n > end) return false;
    if (eid == id) {
      if (n != 2) return false;
      *out = uint16_t(rtp[off + 1] << 8 | rtp[off + 2]);
      return true;
    }
    off += 1 + n;
  }
  return false;
}

std::vector<uint8_t> build_twcc_feedback(uint32_t sender_ssrc, uint32_t media_ssrc, uint16_t base_seq,
                                         uint8_t feedback_count, const std::vector<int64_t>& arrivals_us,
                                         size_t max_statuses, size_t* consumed) {
  const size_t limit = std::max<size_t>(1, std::min(arrivals_us.size(), max_statuses));
  int64_t reference = 0;  // in 64 ms units
  for (size_t i = 0; i < limit; ++i)
    if (arrivals_us[i] >= 0) {
      reference = arrivals_us[i] / kReferenceUs;
      break;
    }
  std::vector<uint8_t> symbols;
  std::vector<int32_t> deltas;
  int64_t prev = reference * (kReferenceUs / kTickUs);
  for (size_t i = 0; i < limit && i < arrivals_us.size(); ++i) {
    if (arrivals_us[i] < 0) {
      symbols.push_back(0);
      continue;
    }
    const int64_t ticks = arrivals_us[i] / kTickUs;
    const int64_t d = ticks - prev;
    if (d < -32768 || d > 32767) break;  // the next packet starts here with its own reference
    symbols.push_back(d >= 0 && d <= 255 ? 1 : 2);
    deltas.push_back(int32_t(d));
    prev = ticks;
  }
  if (symbols.empty()) symbols.push_back(0);  // an empty arrivals list: one "not received"
  *consumed = symbols.size();

  std::vector<uint8_t> b;
  b.reserve(20 + symbols.size() * 3);
  b.push_back(0x80 | 15);
  b.push_back(205);
  put16(b, 0);  // length, below
  put32(b, sender_ssrc);
  put32(b, media_ssrc);
  put16(b, base_seq);
  put16(b, uint32_t(symbols.size()));
  put32(b, uint32_t(reference & 0xffffff) << 8 | feedback_count);
  for (size_t i = 0; i < symbols.size();) {
    size_t run = 1;
    while (i + run < symbols.size() && run < kMaxRun && symbols[i + run] == symbols[i]) ++run;
    if (run >= kMinRun) {
      put16(b, uint32_t(symbols[i]) << 13 | uint32_t(run));
      i += run;
      continue;
    }
    uint32_t chunk = 0xC000;  // status vector, two-bit symbols
    for (size_t j = 0; j < 7 && i + j < symbols.size(); ++j) chunk |= uint32_t(symbols[i + j]) << (2 * (6 - j));
    put16(b, chunk);
    i += std::min<size_t>(7, symbols.size() - i);
  }
  for (int32_t d : deltas) {
    if (d >= 0 && d <= 255)
      b.push_back(uint8_t(d));
    else
      put16(b, uint16_t(int16_t(d)));
  }
  const size_t pad = (4 - b.size() % 4) % 4;
  if (pad) {
    b.resize(b.size() + pad, 0);
    b.back() = uint8_t(pad);
    b[0] |= 0x20;
  }
  b[2] = uint8_t((b.size() / 4 - 1) >> 8);
  b[3] = uint8_t(b.size() / 4 - 1);
  return b;
}

void TwccRecorder::on_packet(uint16_t seq, int64_t arrival_us) {
  int64_t u;
  if (last_ < 0) {
    u = int64_t(seq) + (1 << 16);  // room below the first for reordered packets
  } else {
    u = last_ + int16_t(uint16_t(seq - uint16_t(last_)));
  }
  if (u < 0 || (next_ >= 0 && u < next_)) return;  // already reported (or hopelessly old)
  last_ = std::max(last_, u);
  if (!window_.emplace(u, arrival_us).second) return;  // a duplicate keeps its first arrival
  if (window_.size() > kMaxWindow) window_.erase(window_.begin());
}

std::vector<std::vector<uint8_t>> TwccRecorder::feedback(uint32_t sender_ssrc, uint32_t media_ssrc) {
  std::vector<std::vector<uint8_t>> out;
  if (window_.empty()) return out;
  int64_t start = next_;
  const int64_t first = window_.begin()->first, end = window_.rbegin()->first;
  // Report losses since the last feedback, unless the gap is beyond what a few packets can say.
  if (start < 0 || start > first || first - start > int64_t(kMaxStatusesPerPacket)) start = first;
  std::vector<int64_t> arrivals;
  while (start <= end && out.size() < kMaxPacketsPerFeedback) {
    arrivals.clear();
    auto it = window_.lower_bound(start);
    for (int64_t s = start; s <= end && arrivals.size() < kMaxStatusesPerPacket; ++s) {
      if (it != window_.end() && it->first == s) {
        arrivals.push_back(it->second);
        ++it;
      } else {
        arrivals.push_back(-1);
      }
    }
    size_t used = 0;
    out.push_back(build_twcc_feedback(sender_ssrc, media_ssrc, uint16_t(start), count_++, arrivals,
                                      kMaxStatusesPerPacket, &used));
    start += int64_t(used);
    window_.erase(window_.begin(), window_.lower_bound(start));
  }
  next_ = start;
  sent_ += out.size();
  return out;
}

}  // namespace estuary::webrtc::engine
