// Owns: the fanout-standin executable: runs the stand-in server (standin.h) on 127.0.0.1 until
// SIGINT/SIGTERM, so estuary-load and tools/bench-fanout.sh can measure the fan-out engine in its
// own process. Ports and engine settings from options or the server's environment names
// (ESTUARY_RTMP_PORT, ESTUARY_HTTP_PORT, ESTUARY_FANOUT_THREADS, ESTUARY_FANOUT_WRITE_BATCH_MS).
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/log.h"
#include "standin.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}
}  // namespace

int main(int argc, char** argv) {
  estuary::fanout::standin::Config cfg;
  cfg.rtmp_port = env_int("ESTUARY_RTMP_PORT", 1935);
  cfg.http_port = env_int("ESTUARY_HTTP_PORT", 8080);
  cfg.engine.threads = env_int("ESTUARY_FANOUT_THREADS", 0);
  cfg.engine.write_batch_ms = env_int("ESTUARY_FANOUT_WRITE_BATCH_MS", 0);
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--rtmp-port" && v)
      cfg.rtmp_port = std::atoi(v), ++i;
    else if (a == "--http-port" && v)
      cfg.http_port = std::atoi(v), ++i;
    else if (a == "--threads" && v)
      cfg.engine.threads = std::atoi(v), ++i;
    else if (a == "--batch-ms" && v)
      cfg.engine.write_batch_ms = std::atoi(v), ++i;
    else if (a == "--backlog-kb" && v)
      cfg.limits.max_backlog_bytes = size_t(std::atoi(v)) * 1024, ++i;
    else if (a == "--quiet")
      estuary::log_set_level(estuary::LogLevel::warn);
    else if (a == "--no-video-marks")
      cfg.mark_video = false;
    else {
      std::fprintf(stderr,
                   "usage: fanout-standin [--rtmp-port P] [--http-port P] [--threads N] [--batch-ms MS]\n"
                   "                      [--backlog-kb KB] [--no-video-marks] [--quiet]\n");
      return 2;
    }
  }
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  estuary::fanout::standin::Server server;
  std::string error;
  if (!server.start(cfg, &error)) {
    std::fprintf(stderr, "fanout-standin: %s\n", error.c_str());
    return 1;
  }
  std::printf("fanout-standin ready rtmp=%d http=%d pid=%d\n", server.rtmp_port(), server.http_port(), getpid());
  std::fflush(stdout);
  while (!g_stop) ::usleep(100 * 1000);
  server.stop();
  return 0;
}
