// Owns: estuary-udp-batch-bench, an A/B of the shared engine's UdpBatch without and with UDP GSO, alternating
// (off, on, off, on): R receiver sockets on loopback, each gets per round an access unit of 7 datagrams (6 x 1210
// bytes + a 700-byte tail) and one 120-byte audio packet, like the engine's pump, sent from a dual-stack socket to
// v4-mapped addresses; one thread drains the receivers. Prints the sending thread's CPU per datagram and the
// process's CPU (on loopback the receive work runs partly in the sender's syscalls).
// usage: estuary-udp-batch-bench [RECEIVERS=300] [ROUNDS=300]
// Must not know: the engine's sessions (it drives UdpBatch alone).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>
#include "server/protocols/webrtc/engine/udp_batch.h"
using namespace estuary::webrtc::engine;
static double cpu(clockid_t id) {
  timespec t;
  clock_gettime(id, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}
int main(int argc, char** argv) {
  const int R = argc > 1 ? atoi(argv[1]) : 300, rounds = argc > 2 ? atoi(argv[2]) : 300;
  for (int pass = 0; pass < 4; ++pass) {
    const bool gso = pass % 2 == 1;
    std::vector<int> rx(R);
    std::vector<sockaddr_storage> addr(R);
    for (int i = 0; i < R; ++i) {
      rx[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
      int big = 4 << 20;
      setsockopt(rx[i], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
      auto* a = reinterpret_cast<sockaddr_in*>(&addr[i]);
      a->sin_family = AF_INET;
      a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      bind(rx[i], (sockaddr*)a, sizeof *a);
      socklen_t l = sizeof *a;
      getsockname(rx[i], (sockaddr*)a, &l);
    }
    int tx = socket(AF_INET6, SOCK_DGRAM, 0);
    int zero = 0;
    setsockopt(tx, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    int big = 4 << 20;
    setsockopt(tx, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    // v4-mapped destinations, like the engine's dual-stack socket
    std::vector<sockaddr_storage> mapped(R);
    for (int i = 0; i < R; ++i) {
      auto* s4 = reinterpret_cast<sockaddr_in*>(&addr[i]);
      auto* m = reinterpret_cast<sockaddr_in6*>(&mapped[i]);
      *m = {};
      m->sin6_family = AF_INET6;
      m->sin6_port = s4->sin_port;
      m->sin6_addr.s6_addr[10] = m->sin6_addr.s6_addr[11] = 0xff;
      memcpy(m->sin6_addr.s6_addr + 12, &s4->sin_addr, 4);
    }
    std::atomic<bool> stop{false};
    std::atomic<long> got{0};
    double rx_cpu = 0;
    std::thread reader([&] {
      std::vector<pollfd> p(R);
      for (int i = 0; i < R; ++i) p[i] = {rx[i], POLLIN, 0};
      char buf[2048];
      long n = 0;
      while (!stop) {
        poll(p.data(), R, 10);
        for (int i = 0; i < R; ++i)
          while (recv(rx[i], buf, sizeof buf, 0) > 0) ++n;
      }
      for (int i = 0; i < R; ++i)
        while (recv(rx[i], buf, sizeof buf, 0) > 0) ++n;
      got = n;
      rx_cpu = cpu(CLOCK_THREAD_CPUTIME_ID);
    });
    UdpBatch b(tx, gso);
    const double c0 = cpu(CLOCK_THREAD_CPUTIME_ID), p0 = cpu(CLOCK_PROCESS_CPUTIME_ID);
    long sent = 0;
    for (int r = 0; r < rounds; ++r) {
      for (int i = 0; i < R; ++i) {
        for (int k = 0; k < 7; ++k) {
          const size_t len = k < 6 ? 1210 : 700;
          memset(b.slot(), k, len);
          b.commit(mapped[i], sizeof(sockaddr_in6), len);
          ++sent;
        }
        // one audio packet, like the pump
        memset(b.slot(), 9, 120);
        b.commit(mapped[i], sizeof(sockaddr_in6), 120);
        ++sent;
      }
      b.flush();
      usleep(1000);
    }
    const double c1 = cpu(CLOCK_THREAD_CPUTIME_ID);
    usleep(200000);
    stop = true;
    reader.join();
    const double p1 = cpu(CLOCK_PROCESS_CPUTIME_ID);
    printf(
        "gso=%s receivers=%d datagrams=%ld received=%ld sender_cpu_us_per_datagram=%.2f process_cpu_s=%.2f "
        "messages=%llu syscalls=%llu %s\n",
        gso ? "on " : "off", R, sent, got.load(), (c1 - c0) * 1e6 / sent, p1 - p0,
        (unsigned long long)b.stats().messages, (unsigned long long)b.stats().syscalls, b.gso_error().c_str());
    for (int f : rx) close(f);
    close(tx);
  }
}
