// Owns: the last words of a crashing process: on SIGSEGV, SIGBUS, SIGFPE, SIGILL or SIGABRT it
// writes one log line naming the signal and a backtrace (function names where the binary exports
// them; module+offset otherwise, for addr2line) to the current log, then dies of the same signal
// (so core dumps and systemd's Restart=on-failure see what happened).
// Must not know: anything of the server; it runs in a signal handler and only writes.
#pragma once

namespace estuary {

// Installs the handlers (on an alternate stack, so a stack overflow is reported too). Call once,
// early in main.
void install_crash_report();

}  // namespace estuary
