// Owns: the load tool's streaming MPEG-TS checker: 188-byte framing (sync bytes), PAT/PMT to find
// the H.264 PID, counting of video PES starts (frames) and detection of the first IDR slice (for
// start-up time). Keeps no payload beyond a partial packet and three bytes of start-code state.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace estuary::load {

class TsStreamParser {
 public:
  struct Event {
    bool video_frame = false;  // a video PES started
    bool idr = false;          // the first IDR NAL unit was seen in this packet
  };
  // Calls on_event(const Event&) for packets that carry one of the events.
  template <typename F>
  void feed(const uint8_t* p, size_t n, F&& on_event);
  bool broken() const { return broken_; }
  bool idr_seen() const { return idr_seen_; }

 private:
  template <typename F>
  void packet(const uint8_t* pkt, F&& on_event);
  void parse_psi(const uint8_t* payload, size_t n, bool pusi, bool pat);
  bool scan_idr(const uint8_t* p, size_t n);

  uint8_t partial_[188];
  size_t partial_len_ = 0;
  bool broken_ = false;
  int pmt_pid_ = -1;
  int video_pid_ = -1;
  bool idr_seen_ = false;
  uint32_t sc_state_ = 0xffffffff;  // last bytes, for start codes across packets
};

template <typename F>
void TsStreamParser::feed(const uint8_t* p, size_t n, F&& on_event) {
  if (broken_) return;
  if (partial_len_ > 0) {
    size_t take = std::min(n, size_t(188) - partial_len_);
    std::memcpy(partial_ + partial_len_, p, take);
    partial_len_ += take;
    p += take;
    n -= take;
    if (partial_len_ < 188) return;
    packet(partial_, on_event);
    partial_len_ = 0;
  }
  while (n >= 188 && !broken_) {
    packet(p, on_event);
    p += 188;
    n -= 188;
  }
  if (n > 0 && !broken_) {
    std::memcpy(partial_, p, n);
    partial_len_ = n;
  }
}

template <typename F>
void TsStreamParser::packet(const uint8_t* pkt, F&& on_event) {
  if (pkt[0] != 0x47) {
    broken_ = true;
    return;
  }
  const bool pusi = pkt[1] & 0x40;
  const int pid = ((pkt[1] & 0x1f) << 8) | pkt[2];
  const int afc = (pkt[3] >> 4) & 3;
  if (!(afc & 1)) return;  // no payload
  size_t off = 4;
  if (afc & 2) off += 1 + pkt[4];
  if (off >= 188) return;
  const uint8_t* payload = pkt + off;
  const size_t len = 188 - off;
  if (pid == 0 || pid == pmt_pid_) {
    parse_psi(payload, len, pusi, pid == 0);
    return;
  }
  if (pid != video_pid_) return;
  Event ev;
  size_t skip = 0;
  if (pusi) {
    ev.video_frame = true;
    // PES header: 00 00 01 sid len(2) flags(2) hdr_len(1) + optional fields.
    if (len >= 9 && payload[0] == 0 && payload[1] == 0 && payload[2] == 1) skip = 9 + payload[8];
    sc_state_ = 0xffffffff;
  }
  if (!idr_seen_ && skip < len && scan_idr(payload + skip, len - skip)) {
    idr_seen_ = true;
    ev.idr = true;
  }
  if (ev.video_frame || ev.idr) on_event(ev);
}

}  // namespace estuary::load
