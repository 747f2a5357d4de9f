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
std::atomic<int> g_format{static_cast<int>(LogFormat::text)};
std::mutex g_write_mutex;
std::FILE* g_file = nullptr;  // nullptr = stderr; guarded by g_write_mutex
std::atomic<int> g_fd{2};     // fileno of the above, readable without the lock
std::string g_file_path;

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

const char* json_level_name(LogLevel l) {
  switch (l) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warn:
      return "warn";
    case LogLevel::error:
      return "error";
  }
  return "info";
}

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

void log_set_format(LogFormat format) { g_format.store(static_cast<int>(format)); }

bool log_parse_format(std::string_view text, LogFormat* out) {
  if (text == "text")
    *out = LogFormat::text;
  else if (text == "json")
    *out = LogFormat::json;
  else
    return false;
  return true;
}

bool log_set_file(const std::string& path, std::string* error) {
  std::FILE* f = nullptr;
  if (!path.empty()) {
    f = std::fopen(path.c_str(), "a");
    if (!f) {
      if (error) *error = "cannot open log file " + path;
      return false;
    }
  }
  std::lock_guard<std::mutex> lock(g_write_mutex);
  g_fd = f ? fileno(f) : 2;
  if (g_file) std::fclose(g_file);
  g_file = f;
  g_file_path = path;
  return true;
}

int log_crash_fd() { return g_fd.load(); }

bool log_reopen(std::string* error) {
  std::string path;
  {
    std::lock_guard<std::mutex> lock(g_write_mutex);
    path = g_file_path;
  }
  if (path.empty()) return true;
  return log_set_file(path, error);
}

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
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms % 1000));
  if (g_format.load(std::memory_order_relaxed) == static_cast<int>(LogFormat::json)) {
    line += "{\"time\":";
    append_json_string(line, std::string(ts) + frac);
    line += ",\"level\":";
    append_json_string(line, json_level_name(level));
    line += ",\"stream\":";
    append_json_string(line, stream);
    line += ",\"client\":";
    append_json_string(line, client);
    line += ",\"event\":";
    append_json_string(line, event);
    line += ",\"message\":";
    append_json_string(line, message);
    line += "}\n";
  } else {
    line += ts;
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
  }
  std::lock_guard<std::mutex> lock(g_write_mutex);
  std::FILE* out = g_file ? g_file : stderr;
  std::fwrite(line.data(), 1, line.size(), out);
  std::fflush(out);
}

}  // namespace estuary
