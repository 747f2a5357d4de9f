// Owns: UdpBatch (see udp_batch.h).
#include "server/protocols/webrtc/engine/udp_batch.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // linux/udp.h, Linux 4.18
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

namespace estuary::webrtc::engine {

struct UdpBatch::Buffers {
  struct Message {
    int first = 0;  // its first slot
    int segs = 0;   // datagrams (consecutive slots)
    size_t seg = 0;
    size_t bytes = 0;
    bool short_tail = false;  // the last datagram is shorter than seg: nothing more can follow
  };
  uint8_t buf[kSlots][kSlot];
  iovec iov[kSlots];
  mmsghdr msgs[kSlots];
  sockaddr_storage addr[kSlots];
  alignas(cmsghdr) char ctl[kSlots][CMSG_SPACE(sizeof(uint16_t))];
  Message meta[kSlots];
  int n = 0;     // slots used
  int nmsg = 0;  // messages
};

UdpBatch::UdpBatch(int fd, bool gso) : fd_(fd), gso_(gso), b_(std::make_unique<Buffers>()) {}

UdpBatch::~UdpBatch() = default;

uint8_t* UdpBatch::slot() {
  if (b_->n == kSlots) flush();
  return b_->buf[b_->n];
}

bool UdpBatch::merge(const sockaddr_storage& to, socklen_t tolen, size_t len) {
  Buffers& b = *b_;
  if (!gso_ || b.nmsg == 0) return false;
  const int m = b.nmsg - 1;
  Buffers::Message& mm = b.meta[m];
  if (mm.first + mm.segs != b.n || mm.short_tail || mm.segs >= kMaxSegments || len > mm.seg ||
      mm.bytes + len > kMaxGsoBytes)
    return false;
  if (b.msgs[m].msg_hdr.msg_namelen != tolen || std::memcmp(&b.addr[m], &to, tolen) != 0) return false;
  ++mm.segs;
  mm.bytes += len;
  mm.short_tail = len < mm.seg;
  ++b.msgs[m].msg_hdr.msg_iovlen;
  return true;
}

void UdpBatch::commit(const sockaddr_storage& to, socklen_t tolen, size_t len) {
  Buffers& b = *b_;
  if (len == 0 || len > kSlot) return;
  b.iov[b.n] = {b.buf[b.n], len};
  ++stats_.datagrams;
  if (!merge(to, tolen, len)) {
    const int m = b.nmsg++;
    b.addr[m] = to;
    b.msgs[m] = {};
    b.msgs[m].msg_hdr.msg_name = &b.addr[m];
    b.msgs[m].msg_hdr.msg_namelen = tolen;
    b.msgs[m].msg_hdr.msg_iov = &b.iov[b.n];
    b.msgs[m].msg_hdr.msg_iovlen = 1;
    b.meta[m] = {b.n, 1, len, len, false};
  }
  ++b.n;
}

void UdpBatch::send_singly(int m) {
  Buffers& b = *b_;
  const Buffers::Message& mm = b.meta[m];
  for (int k = 0; k < mm.segs; ++k) {
    const iovec& v = b.iov[mm.first + k];
    (void)!sendto(fd_, v.iov_base, v.iov_len, 0, reinterpret_cast<const sockaddr*>(&b.addr[m]),
                  b.msgs[m].msg_hdr.msg_namelen);
  }
  ++stats_.syscalls;
}

void UdpBatch::flush() {
  Buffers& b = *b_;
  if (fd_ < 0 || b.nmsg == 0) {
    b.n = b.nmsg = 0;
    return;
  }
  for (int m = 0; m < b.nmsg; ++m) {
    if (b.meta[m].segs < 2) continue;
    auto* c = reinterpret_cast<cmsghdr*>(b.ctl[m]);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    const uint16_t seg = uint16_t(b.meta[m].seg);
    std::memcpy(CMSG_DATA(c), &seg, sizeof seg);
    b.msgs[m].msg_hdr.msg_control = b.ctl[m];
    b.msgs[m].msg_hdr.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
    ++stats_.gso_messages;
  }
  stats_.messages += uint64_t(b.nmsg);
  int done = 0;
  while (done < b.nmsg) {
    const int r = sendmmsg(fd_, b.msgs + done, unsigned(b.nmsg - done), 0);
    ++stats_.syscalls;
    if (r > 0) {
      done += r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    const int err = errno;
    if (b.meta[done].segs > 1 && (err == EIO || err == EINVAL || err == ENOPROTOOPT || err == EOPNOTSUPP)) {
      // The kernel (or the route's device) cannot segment: GSO off from now on, these go one by one.
      if (gso_) gso_error_ = std::string("UDP_SEGMENT refused: ") + std::strerror(err);
      gso_ = false;
      send_singly(done);
    }
    ++done;  // skip the message that failed (e.g. unreachable): the others still go
  }
  b.n = b.nmsg = 0;
}

}  // namespace estuary::webrtc::engine
