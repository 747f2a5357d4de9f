// Owns: the estuary-load command line: parses options, runs the load (loadtool.h), prints the
// human summary and one machine-readable line "RESULT {json}". Exit status 0 when the run
// completed (whatever it measured), 2 on bad usage or when it could not start.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "loadtool.h"

namespace {

std::atomic<bool> g_stop{false};

void usage() {
  std::fprintf(stderr,
               "usage: estuary-load [--publish rtmp://HOST:PORT/APP/STREAM --file F.flv [--loop]\n"
               "                     [--publishers N [--publish-ramp PER_S]]]\n"
               "                    [--play URL --players N [--ramp PER_S] [--buffer-ms MS]]\n"
               "                    [--duration S] [--warmup S] [--play-delay S] [--server-pid PID]\n"
               "  URL: rtmp://HOST:PORT/APP/STREAM, http://HOST:PORT/APP/STREAM.flv or .ts\n"
               "  Publisher and players run in one process so latency is measured on one clock:\n"
               "  publisher send of a video frame -> player receipt of the same frame.\n"
               "  --publishers N publishes STREAM1..STREAMN (each paced by the file's timestamps) from\n"
               "  this one process, N per --publish-ramp second (default 25).\n"
               "  Prints a summary and a line 'RESULT {json}'.\n");
}

}  // namespace

int main(int argc, char** argv) {
  estuary::load::Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", name);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--publish")
      o.publish_url = val("--publish");
    else if (a == "--file")
      o.file = val("--file");
    else if (a == "--loop")
      o.loop = true;
    else if (a == "--publishers")
      o.publishers = std::atoi(val("--publishers"));
    else if (a == "--publish-ramp")
      o.publish_ramp = std::atof(val("--publish-ramp"));
    else if (a == "--play")
      o.play_url = val("--play");
    else if (a == "--players")
      o.players = std::atoi(val("--players"));
    else if (a == "--ramp")
      o.ramp = std::atof(val("--ramp"));
    else if (a == "--duration")
      o.duration_s = std::atof(val("--duration"));
    else if (a == "--warmup")
      o.warmup_s = std::atof(val("--warmup"));
    else if (a == "--play-delay")
      o.play_delay_s = std::atof(val("--play-delay"));
    else if (a == "--server-pid")
      o.server_pid = std::atoi(val("--server-pid"));
    else if (a == "--buffer-ms")
      o.buffer_ms = std::atoi(val("--buffer-ms"));
    else if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      usage();
      return 2;
    }
  }
  if (o.publishers < 1 || o.publishers > 10000 || o.publish_ramp <= 0) {
    std::fprintf(stderr, "--publishers must be 1..10000 and --publish-ramp above 0\n");
    return 2;
  }
  if (o.duration_s <= 0 || o.duration_s > 24 * 3600) {
    std::fprintf(stderr, "--duration must be between 0 and 86400 s\n");
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, [](int) { g_stop = true; });
  std::signal(SIGTERM, [](int) { g_stop = true; });
  estuary::load::Summary s;
  std::string error;
  if (!estuary::load::run(o, &s, &error, &g_stop)) {
    std::fprintf(stderr, "estuary-load: %s\n", error.c_str());
    return 2;
  }
  std::printf("%s", s.human().c_str());
  std::printf("RESULT %s\n", s.json().c_str());
  return 0;
}
