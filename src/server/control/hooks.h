// Owns: SRS-compatible HTTP callbacks ("hooks"): the JSON body with SRS's field names, the accept
// rule, and an asynchronous libsoup client on the control thread's main context with a per-request
// timeout and a bound on requests in flight. Knows nothing about protocols or the supervisor; the
// admission helper (server/control/admission.h) decides which URLs to call and what a verdict means.
#pragma once

#include <libsoup/soup.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace estuary::hooks {

// The fields of one callback. Empty strings are still sent (SRS sends every field).
struct HookFields {
  std::string client_id, ip, vhost = "__defaultVhost__", app, stream;
  std::string param;  // query string with its leading '?' ("?token=abc"), or ""
  std::string tc_url, stream_url, stream_id;
  std::map<std::string, std::string> extra_strings;  // on_dvr/on_hls: file, cwd, url, m3u8, ...
  std::map<std::string, double> extra_numbers;       // on_hls: duration, seq_no
};

// SRS's rule: status 200 or 201 and a body that is `0` or a JSON object with integer code 0.
// On refusal *why says what was wrong (for the log).
bool response_accepts(unsigned status, std::string_view body, std::string* why = nullptr);

// "token=a&b=c" -> "?token=a&b=c"; "" stays ""; an existing leading '?' is kept.
std::string param_from_query(std::string_view query);

// Space-separated URL list -> URLs.
std::vector<std::string> split_urls(std::string_view text);

// The JSON body for `action` (on_publish, on_play, ...) with server_id and service_id.
std::string hook_body(const std::string& action, const std::string& server_id, const std::string& service_id,
                      const HookFields& fields);

struct HookLimits {
  int timeout_ms = 5000;
  int max_in_flight = 256;
};

// Runs on the thread whose thread-default main context was current at construction (the control
// thread); callbacks arrive there. Destroying the client cancels what is in flight; no callback
// runs after that.
class HookClient {
 public:
  HookClient();
  ~HookClient();
  HookClient(const HookClient&) = delete;
  HookClient& operator=(const HookClient&) = delete;

  // POSTs body to every URL at once; done(true, "") once all accepted, or done(false, reason) at
  // the first refusal (the rest are cancelled). No URLs: done(true) synchronously. Over the
  // in-flight bound: done(false) synchronously.
  using Done = std::function<void(bool accepted, const std::string& reason)>;
  void ask(const std::vector<std::string>& urls, const std::string& body, HookLimits limits, Done done);
  // Like ask, but the result is only logged (on_unpublish, on_stop, on_dvr, on_hls).
  void tell(const std::vector<std::string>& urls, const std::string& body, HookLimits limits,
            const std::string& log_stream, const std::string& log_client, const std::string& action);

  int in_flight() const;

  struct State;  // public so the C callbacks can name it

 private:
  std::shared_ptr<State> state_;
};

}  // namespace estuary::hooks
