// Owns: a headless Chromium for end-to-end tests, driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: the browser reads commands on fd 3 and writes replies and events on
// fd 4, one NUL-terminated JSON message each), so no debugging port is opened and no WebSocket
// client is needed. Each instance has a fresh profile, is kept off the network (loopback only; see
// design notes §2.13), has a fake camera and microphone, and runs in its own process group, which is
// killed as a whole when the instance goes. Every wait is bounded.
#pragma once

#include <json-glib/json-glib.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace estuary::e2e {

class Chromium {
 public:
  Chromium() = default;
  Chromium(const Chromium&) = delete;
  Chromium& operator=(const Chromium&) = delete;
  ~Chromium();

  // Starts Chromium on url and attaches to its page. false (see error()) if the browser is not
  // installed or does not answer within timeout_ms.
  bool start(const std::string& url, int timeout_ms = 20000);
  // Closes the browser (Browser.close, then SIGKILL to the process group) and removes the profile.
  void stop();

  // Evaluates a JavaScript expression in the page, awaiting a returned promise. Returns the value
  // (returnByValue, so objects come back as JSON) as a new reference, or nullptr with error() set
  // on an exception, a timeout or a dead browser. A value of undefined comes back as a JSON null.
  JsonNode* evaluate(const std::string& expression, int timeout_ms = 5000);
  // evaluate() for expressions that yield a boolean / a number / a string (false, -1, "" otherwise).
  bool evaluate_bool(const std::string& expression, int timeout_ms = 5000);
  double evaluate_number(const std::string& expression, int timeout_ms = 5000);
  std::string evaluate_string(const std::string& expression, int timeout_ms = 5000);
  // Re-evaluates expression every 100 ms until it yields true; false after timeout_ms.
  bool wait_true(const std::string& expression, int timeout_ms);

  // Saves a PNG of the page as it is now (Page.captureScreenshot). false with error() set on failure.
  bool screenshot(const std::string& png_path, int timeout_ms = 10000);

  const std::string& error() const { return error_; }
  // The page's console messages and uncaught exceptions, and the browser's own log entries
  // (failed fetches, CORS refusals), one per line: for failure messages.
  std::string console() const;
  // The browser's stderr.
  std::string log() const;

 private:
  int send(const std::string& method, JsonNode* params, bool to_page);
  // Reads until the reply to id arrives (events on the way are recorded); nullptr on timeout.
  JsonNode* wait_reply(int id, int timeout_ms);
  void record_event(JsonObject* message);
  // One command and its reply's "result" object (a new reference), or nullptr with error_ set.
  JsonNode* call(const std::string& method, JsonNode* params, bool to_page, int timeout_ms);

  pid_t pid_ = -1;
  int to_browser_ = -1;    // our end of the browser's fd 3
  int from_browser_ = -1;  // our end of the browser's fd 4
  std::string profile_dir_;
  std::string session_;  // the page's flat DevTools session
  std::string buffer_;
  int next_id_ = 1;
  std::string error_;
  std::vector<std::string> console_;
};

// The Chromium binary: $ESTUARY_CHROMIUM, /usr/lib/chromium/chromium (Debian's, without its
// wrapper script's extra flags), or chromium on PATH. "" if none.
std::string chromium_binary();

}  // namespace estuary::e2e
