// Owns: install_crash_report (see crash_report.h). Only async-signal-safe calls in the handler:
// write(2), backtrace_symbols_fd(3) (backtrace(3) is called once at install so that its lazy
// loading of libgcc happens outside the handler), sigaction, raise.
#include "common/crash_report.h"

#include <execinfo.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <cstdlib>

#include "common/log.h"

namespace estuary {
namespace {

constexpr int kSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

void write_text(int fd, const char* s) {
  size_t len = strlen(s);
  while (len > 0) {
    const ssize_t n = write(fd, s, len);
    if (n <= 0) return;
    s += n;
    len -= size_t(n);
  }
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGSEGV:
      return "SIGSEGV";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGILL:
      return "SIGILL";
    case SIGABRT:
      return "SIGABRT";
  }
  return "signal";
}

void on_fatal_signal(int sig, siginfo_t* info, void*) {
  const int fd = log_crash_fd();
  char pid[24];
  char* p = pid + sizeof pid - 1;
  *p = '\0';
  unsigned long v = static_cast<unsigned long>(getpid());
  do *--p = char('0' + v % 10);
  while ((v /= 10) != 0);
  write_text(fd, "FATAL stream=- client=- event=crash the server received ");
  write_text(fd, signal_name(sig));
  write_text(fd, info && info->si_code <= 0 ? " (sent by a process)" : "");
  write_text(fd, " (pid ");
  write_text(fd, p);
  write_text(fd, "); backtrace follows, innermost first (symbolize with: addr2line -Cfe BINARY OFFSET)\n");
  void* frames[64];
  const int n = backtrace(frames, 64);
  backtrace_symbols_fd(frames, n, fd);
  write_text(fd, "FATAL stream=- client=- event=crash end of backtrace\n");
  // Die of the same signal, with the default action (core dump where enabled).
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, nullptr);
  raise(sig);
  _exit(128 + sig);
}

}  // namespace

void install_crash_report() {
  void* warm[1];
  backtrace(warm, 1);  // loads the unwinder now, not inside the handler
  static char alt_stack[64 * 1024];
  stack_t ss{};
  ss.ss_sp = alt_stack;
  ss.ss_size = sizeof alt_stack;
  sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_sigaction = on_fatal_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  for (int sig : kSignals) sigaction(sig, &sa, nullptr);
}

}  // namespace estuary
