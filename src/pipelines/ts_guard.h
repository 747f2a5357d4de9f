// Owns: TsGuard, the gate every untrusted MPEG-TS byte passes before GStreamer's tsdemux sees it.
// GStreamer 1.22's tsdemux aborts the whole process on some malformed input (a PES without a
// timestamp queued while it waits for the first one: `check_pending_buffers: assertion failed
// (firstval != -1)`), so the guard forwards only packets that keep the demuxer on its tested path:
//   - whole 188-byte packets with a sync byte, no transport error, not scrambled, a sane adaptation
//     field;
//   - PSI only on PID 0 and the program's PMT PID, and only sections with a valid CRC-32 whose
//     content matches the first PAT/PMT accepted (a program is fixed for the life of an ingest);
//   - PES only on the elementary PIDs that PMT lists, each PES starting with a well-formed header
//     that carries a PTS (and, if any, a DTS) with correct marker bits; the packets of a PES whose
//     header is rejected are all dropped (the demuxer then sees a clean gap, never a half PES);
//   - everything else (other PIDs, continuation packets before the first accepted header) dropped.
// Sans-IO and single-threaded: the caller feeds bytes and gets the accepted packets back.
// Must not know: GStreamer, sockets, which protocol the bytes came from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace estuary::pipelines {

struct TsGuardStats {
  uint64_t packets_in = 0;       // whole packets seen
  uint64_t packets_out = 0;      // packets forwarded
  uint64_t pes_accepted = 0;     // PES headers accepted
  uint64_t pes_rejected = 0;     // PES headers rejected (their packets dropped)
  uint64_t psi_rejected = 0;     // PAT/PMT packets dropped (bad CRC, changed program, malformed)
  uint64_t packets_invalid = 0;  // packets dropped for their transport header
};

class TsGuard {
 public:
  // Appends the accepted packets of data (any split; a trailing partial packet is kept for the
  // next call, at most 187 bytes) to out.
  void feed(const uint8_t* data, size_t size, std::vector<uint8_t>& out);

  const TsGuardStats& stats() const { return stats_; }
  // Bytes of a packet split across calls, held for the next one.
  size_t held_bytes() const { return partial_.size(); }
  // Why the most recent packet or PES was rejected ("" if none was); for the log.
  const std::string& last_rejection() const { return last_rejection_; }
  // True when the input is not worth demuxing: mostly rejected PES headers after a fair sample.
  bool hopeless() const;

 private:
  void on_packet(const uint8_t* pkt, std::vector<uint8_t>& out);
  bool accept_psi(int pid, const uint8_t* pkt);
  bool accept_pes_start(const uint8_t* payload, size_t len);
  void reject(std::string why);

  struct Elementary {
    bool in_pes = false;  // the current PES's header was accepted: its continuation packets pass
  };

  std::vector<uint8_t> partial_;
  std::vector<uint8_t> pat_section_, pmt_section_;  // first accepted sections (content, CRC included)
  int pmt_pid_ = -1;
  int pcr_pid_ = -1;
  std::map<int, Elementary> elementary_;  // PID -> state, from the accepted PMT
  TsGuardStats stats_;
  std::string last_rejection_;
};

// MPEG-2 systems CRC-32 (polynomial 0x04C11DB7, initial 0xFFFFFFFF, no reflection, no final xor)
// over len bytes; a section with its CRC field included yields 0 when intact.
uint32_t mpeg_crc32(const uint8_t* data, size_t len);

// Whether a PES header at the start of a PES packet (len bytes available) is well formed and
// carries a PTS; on false, *why says what is wrong.
bool pes_header_is_valid(const uint8_t* pes, size_t len, std::string* why);

}  // namespace estuary::pipelines
