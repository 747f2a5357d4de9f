// Owns: the server's event log. One line per event naming the stream and the client/session id,
// so a user can follow one client with grep. Thread-safe; streaming threads may log.
#pragma once

#include <string>
#include <string_view>

namespace estuary {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

void log_set_level(LogLevel level);
bool log_parse_level(std::string_view text, LogLevel* out);

// text: "TIME LEVEL stream=S client=C event=E message"; json: one object per line with time, level,
// stream, client, event, message.
enum class LogFormat { text, json };
void log_set_format(LogFormat format);
bool log_parse_format(std::string_view text, LogFormat* out);
// Appends to path from now on ("" = stderr). False (and *error) if it cannot be opened; the
// previous destination stays.
bool log_set_file(const std::string& path, std::string* error = nullptr);
// Reopens the current file (after logrotate moved it; SIGUSR1). True with no file.
bool log_reopen(std::string* error = nullptr);
// The descriptor log lines go to now (stderr or the log file): for the crash report, which may not
// take locks.
int log_crash_fd();

// stream: "app/stream" or "" ; client: client/session id or "" ; event: short token such as
// "publish", "play", "close"; message: free text.
void log_event(LogLevel level, std::string_view stream, std::string_view client, std::string_view event,
               std::string_view message);

inline void log_info(std::string_view stream, std::string_view client, std::string_view event,
                     std::string_view message) {
  log_event(LogLevel::info, stream, client, event, message);
}
inline void log_warn(std::string_view stream, std::string_view client, std::string_view event,
                     std::string_view message) {
  log_event(LogLevel::warn, stream, client, event, message);
}
inline void log_error(std::string_view stream, std::string_view client, std::string_view event,
                      std::string_view message) {
  log_event(LogLevel::error, stream, client, event, message);
}
inline void log_debug(std::string_view stream, std::string_view client, std::string_view event,
                      std::string_view message) {
  log_event(LogLevel::debug, stream, client, event, message);
}

}  // namespace estuary
