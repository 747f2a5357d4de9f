// Owns: Chromium (see chromium.h).
#include "chromium.h"

#include <fcntl.h>
#include <glib.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.h"

namespace estuary::e2e {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxMessage = 16 * 1024 * 1024;  // a reply beyond this means something is wrong
constexpr size_t kMaxConsoleLines = 200;

// Design notes §2.13: what a test browser needs to run WebRTC on loopback, and what keeps it from
// talking to anything else.
std::vector<std::string> chromium_flags(const std::string& profile_dir) {
  return {"--headless",
          "--no-sandbox",  // required as root, and tests run in containers
          "--remote-debugging-pipe",
          "--user-data-dir=" + profile_dir,
          "--disable-gpu",
          "--disable-dev-shm-usage",
          "--allow-loopback-in-peer-connection",
          "--autoplay-policy=no-user-gesture-required",
          "--use-fake-device-for-media-stream",
          "--use-fake-ui-for-media-stream",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--disable-default-apps",
          "--disable-extensions",
          "--no-first-run",
          "--no-default-browser-check",
          "--disable-quic",
          "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
          "--disable-features=WebRtcHideLocalIpsWithMdns",
          "--mute-audio"};
}

// With two interfaces Chromium's default WebRTC IP handling sends checks from both and the return
// path flaps; only this profile preference fixes it (no command-line switch does).
bool write_preferences(const std::string& profile_dir) {
  std::string dir = profile_dir + "/Default";
  if (g_mkdir_with_parents(dir.c_str(), 0700) != 0) return false;
  const char* prefs = R"({"webrtc":{"ip_handling_policy":"default_public_and_private_interfaces"}})";
  return g_file_set_contents((dir + "/Preferences").c_str(), prefs, -1, nullptr);
}

std::string to_json(JsonNode* node) {
  JsonGenerator* gen = json_generator_new();
  json_generator_set_root(gen, node);
  gchar* text = json_generator_to_data(gen, nullptr);
  std::string out = text ? text : "";
  g_free(text);
  g_object_unref(gen);
  return out;
}

JsonNode* object_node(JsonObject* obj) {
  JsonNode* node = json_node_new(JSON_NODE_OBJECT);
  json_node_take_object(node, obj);
  return node;
}

// json-glib's getters warn on a missing member; DevTools messages omit members freely.
JsonObject* object_member(JsonObject* o, const char* name) {
  JsonNode* n = o ? json_object_get_member(o, name) : nullptr;
  return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : nullptr;
}

JsonArray* array_member(JsonObject* o, const char* name) {
  JsonNode* n = o ? json_object_get_member(o, name) : nullptr;
  return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : nullptr;
}

bool write_all(int fd, const std::string& data, int timeout_ms) {
  size_t done = 0;
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n > 0) {
      done += size_t(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    if (Clock::now() >= deadline) return false;
    pollfd p{fd, POLLOUT, 0};
    poll(&p, 1, 50);
  }
  return true;
}

}  // namespace

std::string chromium_binary() {
  if (const char* env = g_getenv("ESTUARY_CHROMIUM")) return env;
  if (g_file_test("/usr/lib/chromium/chromium", G_FILE_TEST_IS_EXECUTABLE)) return "/usr/lib/chromium/chromium";
  gchar* found = g_find_program_in_path("chromium");
  std::string out = found ? found : "";
  g_free(found);
  return out;
}

Chromium::~Chromium() { stop(); }

bool Chromium::start(const std::string& url, int timeout_ms) {
  std::string binary = chromium_binary();
  if (binary.empty()) {
    error_ = "chromium not found (apt-get install chromium, or set ESTUARY_CHROMIUM)";
    return false;
  }
  profile_dir_ = make_temp_dir();
  if (!write_preferences(profile_dir_)) {
    error_ = "cannot write the profile in " + profile_dir_;
    return false;
  }
  std::vector<std::string> argv = {binary};
  for (auto& f : chromium_flags(profile_dir_)) argv.push_back(f);
  argv.push_back(url);
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  std::string log_path = profile_dir_ + "/chromium.log";

  // A browser that dies leaves a broken pipe: writes must fail, not kill the test with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  int commands[2], replies[2];
  if (pipe2(commands, O_CLOEXEC) != 0) return false;
  if (pipe2(replies, O_CLOEXEC) != 0) {
    close(commands[0]);
    close(commands[1]);
    return false;
  }
  pid_ = fork();
  if (pid_ == 0) {
    setpgid(0, 0);
    // A test binary killed by its timeout takes the browser with it (its helpers exit when their
    // browser process goes).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    // Move both ends out of the way first: either may already be fd 3 or 4.
    int in = fcntl(commands[0], F_DUPFD_CLOEXEC, 10);
    int out = fcntl(replies[1], F_DUPFD_CLOEXEC, 10);
    dup2(in, 3);
    dup2(out, 4);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    int logfd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (logfd >= 0) {
      dup2(logfd, 1);
      dup2(logfd, 2);
    }
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  close(commands[0]);
  close(replies[1]);
  to_browser_ = commands[1];
  from_browser_ = replies[0];
  if (pid_ < 0) {
    error_ = "fork failed";
    return false;
  }
  fcntl(to_browser_, F_SETFL, fcntl(to_browser_, F_GETFL) | O_NONBLOCK);
  fcntl(from_browser_, F_SETFL, fcntl(from_browser_, F_GETFL) | O_NONBLOCK);

  // The page target appears shortly after the browser answers; attach to it in flat mode so page
  // commands go over the same pipe with a sessionId.
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline && session_.empty()) {
    int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    JsonNode* targets = call("Target.getTargets", nullptr, false, std::max(left, 1));
    if (!targets) return false;
    std::string target_id;
    JsonArray* infos = array_member(json_node_get_object(targets), "targetInfos");
    for (guint i = 0; infos && i < json_array_get_length(infos); ++i) {
      JsonObject* t = json_array_get_object_element(infos, i);
      if (std::string(json_object_get_string_member_with_default(t, "type", "")) == "page")
        target_id = json_object_get_string_member_with_default(t, "targetId", "");
    }
    json_node_unref(targets);
    if (target_id.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    JsonObject* p = json_object_new();
    json_object_set_string_member(p, "targetId", target_id.c_str());
    json_object_set_boolean_member(p, "flatten", TRUE);
    JsonNode* attached = call("Target.attachToTarget", object_node(p), false, std::max(left, 1));
    if (!attached) return false;
    session_ = json_object_get_string_member_with_default(json_node_get_object(attached), "sessionId", "");
    json_node_unref(attached);
  }
  if (session_.empty()) {
    error_ = "no page target within " + std::to_string(timeout_ms) + " ms";
    return false;
  }
  // Console and browser log entries are recorded for failure messages.
  for (const char* domain : {"Runtime.enable", "Log.enable"}) {
    JsonNode* r = call(domain, nullptr, true, 5000);
    if (!r) return false;
    json_node_unref(r);
  }
  return true;
}

void Chromium::stop() {
  if (pid_ > 0) {
    if (to_browser_ >= 0) send("Browser.close", nullptr, false);
    auto deadline = Clock::now() + std::chrono::milliseconds(3000);
    int status = 0;
    bool reaped = false;
    while (Clock::now() < deadline && !reaped) {
      reaped = waitpid(pid_, &status, WNOHANG) == pid_;
      if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    // Renderer, GPU and utility processes share the group; none may outlive the test.
    kill(-pid_, SIGKILL);
    if (!reaped) waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  if (to_browser_ >= 0) close(to_browser_);
  if (from_browser_ >= 0) close(from_browser_);
  to_browser_ = from_browser_ = -1;
  if (!profile_dir_.empty() && profile_dir_.rfind("/tmp/", 0) == 0) run({"rm", "-rf", profile_dir_}, 20);
  profile_dir_.clear();
  session_.clear();
}

int Chromium::send(const std::string& method, JsonNode* params, bool to_page) {
  int id = next_id_++;
  JsonObject* msg = json_object_new();
  json_object_set_int_member(msg, "id", id);
  json_object_set_string_member(msg, "method", method.c_str());
  if (params)
    json_object_set_member(msg, "params", params);
  else
    json_object_set_object_member(msg, "params", json_object_new());
  if (to_page) json_object_set_string_member(msg, "sessionId", session_.c_str());
  JsonNode* node = object_node(msg);
  std::string text = to_json(node);
  json_node_unref(node);
  text.push_back('\0');
  if (!write_all(to_browser_, text, 5000)) {
    error_ = "cannot send " + method + " (browser gone?)";
    return -1;
  }
  return id;
}

JsonNode* Chromium::wait_reply(int id, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    size_t end;
    while ((end = buffer_.find('\0')) != std::string::npos) {
      std::string text = buffer_.substr(0, end);
      buffer_.erase(0, end + 1);
      JsonNode* node = parse_json(text);
      if (!node || !JSON_NODE_HOLDS_OBJECT(node)) {
        if (node) json_node_unref(node);
        continue;
      }
      JsonObject* obj = json_node_get_object(node);
      if (json_object_has_member(obj, "id") && json_object_get_int_member(obj, "id") == id) return node;
      if (!json_object_has_member(obj, "id")) record_event(obj);
      json_node_unref(node);  // a late reply to a command that timed out
    }
    auto now = Clock::now();
    if (now >= deadline) {
      error_ = "no DevTools reply within " + std::to_string(timeout_ms) + " ms";
      return nullptr;
    }
    pollfd p{from_browser_, POLLIN, 0};
    int wait_ms = int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) + 1;
    if (poll(&p, 1, std::min(wait_ms, 200)) <= 0) continue;
    char chunk[65536];
    ssize_t n = read(from_browser_, chunk, sizeof chunk);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      error_ = "the browser closed the DevTools pipe (crashed?)";
      return nullptr;
    }
    if (n > 0) buffer_.append(chunk, size_t(n));
    if (buffer_.size() > kMaxMessage) {
      error_ = "DevTools message larger than " + std::to_string(kMaxMessage) + " bytes";
      return nullptr;
    }
  }
}

void Chromium::record_event(JsonObject* message) {
  if (console_.size() >= kMaxConsoleLines) return;
  std::string method = json_object_get_string_member_with_default(message, "method", "");
  JsonObject* params = object_member(message, "params");
  if (!params) return;
  if (method == "Runtime.consoleAPICalled") {
    std::string line = std::string("console.") + json_object_get_string_member_with_default(params, "type", "") + ":";
    JsonArray* args = array_member(params, "args");
    for (guint i = 0; args && i < json_array_get_length(args); ++i) {
      JsonObject* a = json_array_get_object_element(args, i);
      if (!a) continue;
      JsonNode* v = json_object_get_member(a, "value");
      line += " " + (v ? (JSON_NODE_HOLDS_VALUE(v) && json_node_get_value_type(v) == G_TYPE_STRING
                              ? std::string(json_node_get_string(v))
                              : to_json(v))
                       : std::string(json_object_get_string_member_with_default(a, "description", "?")));
    }
    console_.push_back(line);
  } else if (method == "Runtime.exceptionThrown") {
    JsonObject* d = object_member(params, "exceptionDetails");
    JsonObject* e = d ? object_member(d, "exception") : nullptr;
    console_.push_back(std::string("exception: ") +
                       (e   ? json_object_get_string_member_with_default(e, "description", "")
                        : d ? json_object_get_string_member_with_default(d, "text", "")
                            : ""));
  } else if (method == "Log.entryAdded") {
    JsonObject* e = object_member(params, "entry");
    if (e)
      console_.push_back(std::string("log.") + json_object_get_string_member_with_default(e, "level", "") + ": " +
                         json_object_get_string_member_with_default(e, "text", "") + " " +
                         json_object_get_string_member_with_default(e, "url", ""));
  }
}

JsonNode* Chromium::call(const std::string& method, JsonNode* params, bool to_page, int timeout_ms) {
  if (pid_ <= 0) {
    if (params) json_node_unref(params);
    error_ = "browser not running";
    return nullptr;
  }
  int id = send(method, params, to_page);
  if (id < 0) return nullptr;
  JsonNode* reply = wait_reply(id, timeout_ms);
  if (!reply) {
    error_ = method + ": " + error_;
    return nullptr;
  }
  JsonObject* obj = json_node_get_object(reply);
  JsonNode* result = nullptr;
  if (JsonObject* err = object_member(obj, "error")) {
    error_ = method + ": " + json_object_get_string_member_with_default(err, "message", "error");
  } else if (json_object_has_member(obj, "result")) {
    result = json_node_copy(json_object_get_member(obj, "result"));
  }
  json_node_unref(reply);
  return result;
}

JsonNode* Chromium::evaluate(const std::string& expression, int timeout_ms) {
  JsonObject* p = json_object_new();
  json_object_set_string_member(p, "expression", expression.c_str());
  json_object_set_boolean_member(p, "returnByValue", TRUE);
  json_object_set_boolean_member(p, "awaitPromise", TRUE);
  JsonNode* r = call("Runtime.evaluate", object_node(p), true, timeout_ms);
  if (!r) return nullptr;
  JsonObject* obj = json_node_get_object(r);
  JsonNode* value = nullptr;
  if (JsonObject* ex = object_member(obj, "exceptionDetails")) {
    JsonObject* e = object_member(ex, "exception");
    error_ = "exception: " + std::string(e ? json_object_get_string_member_with_default(e, "description", "")
                                           : json_object_get_string_member_with_default(ex, "text", ""));
  } else {
    JsonObject* result = object_member(obj, "result");
    JsonNode* v = result ? json_object_get_member(result, "value") : nullptr;
    value = v ? json_node_copy(v) : json_node_new(JSON_NODE_NULL);
  }
  json_node_unref(r);
  return value;
}

bool Chromium::screenshot(const std::string& png_path, int timeout_ms) {
  JsonObject* p = json_object_new();
  json_object_set_string_member(p, "format", "png");
  JsonNode* r = call("Page.captureScreenshot", object_node(p), true, timeout_ms);
  if (!r) return false;
  std::string data = json_object_get_string_member_with_default(json_node_get_object(r), "data", "");
  json_node_unref(r);
  gsize length = 0;
  guchar* png = g_base64_decode(data.c_str(), &length);
  GError* err = nullptr;
  const bool ok =
      length > 0 && g_file_set_contents(png_path.c_str(), reinterpret_cast<const gchar*>(png), gssize(length), &err);
  g_free(png);
  if (!ok) {
    error_ = "cannot save the screenshot to " + png_path + (err ? std::string(": ") + err->message : "");
    g_clear_error(&err);
  }
  return ok;
}

bool Chromium::evaluate_bool(const std::string& expression, int timeout_ms) {
  JsonNode* v = evaluate(expression, timeout_ms);
  bool out = v && JSON_NODE_HOLDS_VALUE(v) && json_node_get_value_type(v) == G_TYPE_BOOLEAN && json_node_get_boolean(v);
  if (v) json_node_unref(v);
  return out;
}

double Chromium::evaluate_number(const std::string& expression, int timeout_ms) {
  JsonNode* v = evaluate(expression, timeout_ms);
  double out = -1;
  if (v && JSON_NODE_HOLDS_VALUE(v)) {
    GType t = json_node_get_value_type(v);
    if (t == G_TYPE_INT64 || t == G_TYPE_DOUBLE) out = json_node_get_double(v);
  }
  if (v) json_node_unref(v);
  return out;
}

std::string Chromium::evaluate_string(const std::string& expression, int timeout_ms) {
  JsonNode* v = evaluate(expression, timeout_ms);
  std::string out;
  if (v && JSON_NODE_HOLDS_VALUE(v) && json_node_get_value_type(v) == G_TYPE_STRING) out = json_node_get_string(v);
  if (v) json_node_unref(v);
  return out;
}

bool Chromium::wait_true(const std::string& expression, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    if (evaluate_bool(expression, 2000)) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::string Chromium::console() const {
  std::string out;
  for (auto& l : console_) out += l + "\n";
  return out;
}

std::string Chromium::log() const {
  std::ifstream f(profile_dir_ + "/chromium.log");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace estuary::e2e
