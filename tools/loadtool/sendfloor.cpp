// Owns: estuary-sendfloor, the kernel's floor under fan-out on this machine. It opens N loopback
// TCP connections (a child process reads and discards everything), then writes BYTES to each one
// RATE times a second from one thread, like a fan-out engine with no work of its own, and prints
// that thread's CPU time per write and in cores. A server writing the same number and size of
// writes cannot cost less; bench-fanout.sh figures are read against it.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double thread_cpu_s() {
  rusage r{};
  getrusage(RUSAGE_THREAD, &r);
  return double(r.ru_utime.tv_sec + r.ru_stime.tv_sec) + double(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

[[noreturn]] void reader_main(const sockaddr_in& addr, int n, int seconds) {
  const int ep = epoll_create1(0);
  for (int i = 0; i < n; ++i) {
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) _exit(2);
    fcntl(s, F_SETFL, O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = s;
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
  }
  static char buf[256 * 1024];
  epoll_event events[512];
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < end) {
    const int got = epoll_wait(ep, events, 512, 100);
    for (int i = 0; i < got; ++i) {
      while (recv(events[i].data.fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
      }
    }
  }
  _exit(0);
}

int arg_int(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "--help") == 0) {
      std::printf(
          "usage: estuary-sendfloor [--connections N] [--bytes B] [--rate W] [--seconds S] [--port P]\n"
          "  N loopback TCP connections (default 1000); B bytes per write (default 8300, one 30 fps frame of\n"
          "  2 Mb/s with its audio); W writes per connection per second (default 30); S seconds (default 10).\n"
          "  Prints the writing thread's CPU: the least a fan-out of that many writes can cost here.\n");
      return 0;
    }
  }
  const int n = arg_int(argc, argv, "--connections", 1000);
  const int bytes = arg_int(argc, argv, "--bytes", 8300);
  const int rate = arg_int(argc, argv, "--rate", 30);
  const int seconds = arg_int(argc, argv, "--seconds", 10);
  const int port = arg_int(argc, argv, "--port", 29931);
  if (n < 1 || n > 20000 || bytes < 1 || bytes > (1 << 20) || rate < 1 || rate > 1000 || seconds < 1 || seconds > 600) {
    std::fprintf(stderr, "estuary-sendfloor: argument out of range (see --help)\n");
    return 2;
  }
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(listener, 4096) != 0) {
    std::fprintf(stderr, "estuary-sendfloor: cannot listen on 127.0.0.1:%d: %s\n", port, std::strerror(errno));
    return 1;
  }
  const pid_t child = fork();
  if (child == 0) reader_main(addr, n, seconds + 5);
  std::vector<int> conns;
  for (int i = 0; i < n; ++i) {
    const int c = accept(listener, nullptr, nullptr);
    if (c < 0) {
      std::fprintf(stderr, "estuary-sendfloor: accept: %s (raise ulimit -n)\n", std::strerror(errno));
      kill(child, SIGKILL);
      return 1;
    }
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(c, F_SETFL, O_NONBLOCK);
    conns.push_back(c);
  }
  std::vector<char> data(size_t(bytes), 'x');
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double cpu0 = thread_cpu_s();
  const auto t0 = Clock::now();
  auto next = t0;
  uint64_t writes = 0, short_writes = 0;
  while (Clock::now() < t0 + std::chrono::seconds(seconds)) {
    for (int c : conns) {
      if (send(c, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL) != ssize_t(data.size())) ++short_writes;
      ++writes;
    }
    next += std::chrono::microseconds(1'000'000 / rate);
    std::this_thread::sleep_until(next);
  }
  const double cpu = thread_cpu_s() - cpu0;
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  std::printf("%d connections x %d writes/s of %d bytes: %.3f cores, %.2f us per write (%llu writes, %llu short)\n", n,
              rate, bytes, cpu / elapsed, cpu / double(writes) * 1e6, static_cast<unsigned long long>(writes),
              static_cast<unsigned long long>(short_writes));
  return short_writes == 0 ? 0 : 1;
}
