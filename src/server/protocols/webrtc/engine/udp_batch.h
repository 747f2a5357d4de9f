// Owns: the shared engine's outgoing UDP batch: datagram buffers filled in place (SRTP protects into
// them), sent with one sendmmsg per flush and, with GSO on, consecutive datagrams to the same address
// of equal size (the last one may be shorter: an access unit's FU-A fragments) merged into one
// message with UDP_SEGMENT (Linux >= 4.18), which the kernel splits back into the same datagrams.
// When the kernel refuses a segmented message (EIO: no checksum offload on the route, EINVAL,
// ENOPROTOOPT, EOPNOTSUPP) GSO is turned off for good and that message's datagrams go one by one.
// Must not know: sessions, SRTP, ICE (the caller picks the address; this only sends).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace estuary::webrtc::engine {

constexpr size_t kSlot = 1500;  // one datagram's buffer

class UdpBatch {
 public:
  static constexpr int kSlots = 256;
  static constexpr int kMaxSegments = 64;        // the kernel's UDP_MAX_SEGMENTS on older kernels
  static constexpr size_t kMaxGsoBytes = 60000;  // one segmented message (under 64 KiB with headers)
  struct Stats {
    uint64_t datagrams = 0;     // committed
    uint64_t messages = 0;      // sendmmsg entries (a GSO message counts once)
    uint64_t gso_messages = 0;  // of which carried UDP_SEGMENT (more than one datagram)
    uint64_t syscalls = 0;      // sendmmsg calls
  };

  // fd: a UDP socket (blocking sends; -1 = none: everything is dropped). gso: try UDP_SEGMENT.
  UdpBatch(int fd, bool gso);
  ~UdpBatch();
  UdpBatch(const UdpBatch&) = delete;
  UdpBatch& operator=(const UdpBatch&) = delete;

  // The next free buffer (kSlot bytes); flushes first when every slot is taken.
  uint8_t* slot();
  // Queues the buffer slot() returned last, len bytes, to `to`.
  void commit(const sockaddr_storage& to, socklen_t tolen, size_t len);
  void flush();
  bool gso() const { return gso_; }
  const Stats& stats() const { return stats_; }
  // Why GSO was turned off ("" while on or never asked for).
  const std::string& gso_error() const { return gso_error_; }

 private:
  struct Buffers;
  bool merge(const sockaddr_storage& to, socklen_t tolen, size_t len);
  void send_singly(int m);  // message m's datagrams, one sendto each

  int fd_;
  bool gso_;
  std::string gso_error_;
  Stats stats_;
  std::unique_ptr<Buffers> b_;
};

}  // namespace estuary::webrtc::engine
