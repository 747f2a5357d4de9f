// Owns: formatting and writing of event log lines (see log.h).
#include "common/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace estuary {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::info)};
std::mutex g_write_mutex;

const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::debug:
      return "DEBUG";
    case LogLevel::info:
      return "INFO";
    case LogLevel::warn:
      return "WARN";
    case LogLevel::error:
      return "ERROR";
  }
  return "INFO";
}
}  // namespace

void log_set_level(LogLevel level) { g_level.store(static_cast<int>(level)); }

bool log_parse_level(std::string_view text, LogLevel* out) {
  if (text == "debug")
    *out = LogLevel::debug;
  else if (text == "info")
    *out = LogLevel::info;
  else if (text == "warn" || text == "warning")
    *out = LogLevel::warn;
  else if (text == "error")
    *out = LogLevel::error;
  else
    return false;
  return true;
}

void log_event(LogLevel level, std::string_view stream, std::string_view client, std::string_view event,
               std::string_view message) {
  if (static_cast<int>(level) < g_level.load(std::memory_order_relaxed)) return;
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string line;
  line.reserve(128 + message.size());
  line += ts;
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms % 1000));
  line += frac;
  line += ' ';
  line += level_name(level);
  line += " stream=";
  line += stream.empty() ? std::string_view("-") : stream;
  line += " client=";
  line += client.empty() ? std::string_view("-") : client;
  line += " event=";
  line += event;
  line += ' ';
  // Keep one event on one line even if a peer sends newlines.
  for (char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
  line += '\n';
  std::lock_guard<std::mutex> lock(g_write_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace estuary
