// Owns: the end-to-end test harness (see harness.h).
#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <glib.h>
#include <libsoup/soup.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace estuary::e2e {

namespace {

// A port the kernel has free now for `type`. The kernel may hand the same ephemeral port out again
// to the next bind (it did: one server got its RTMP and RTSP ports equal, and its RTSP listener
// failed), so a port is never given twice within a test process (bounded retries).
int free_port(int type) {
  static std::set<int> given;
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  int port = 0;
  for (int attempt = 0; attempt < 100; ++attempt) {
    int fd = socket(AF_INET, type, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    close(fd);
    if (given.insert(port).second) break;
  }
  return port;
}

}  // namespace

int free_tcp_port() { return free_port(SOCK_STREAM); }

int free_udp_port() { return free_port(SOCK_DGRAM); }

std::string make_temp_dir() {
  char tmpl[] = "/tmp/estuary-e2e-XXXXXX";
  char* d = mkdtemp(tmpl);
  return d ? d : "/tmp";
}

std::string source_root() {
  const char* v = g_getenv("ESTUARY_SOURCE_ROOT");
  return v ? v : ".";
}

std::string build_root() {
  const char* v = g_getenv("ESTUARY_BUILD_ROOT");
  return v ? v : "build";
}

RunResult run(const std::vector<std::string>& argv, int timeout_s) {
  std::vector<std::string> full = {"timeout", "-s", "KILL", std::to_string(timeout_s)};
  full.insert(full.end(), argv.begin(), argv.end());
  std::vector<char*> cargv;
  for (auto& a : full) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  gchar* out = nullptr;
  gchar* err = nullptr;
  gint status = 0;
  GError* error = nullptr;
  RunResult r;
  if (!g_spawn_sync(nullptr, cargv.data(), nullptr, G_SPAWN_SEARCH_PATH, nullptr, nullptr, &out, &err, &status,
                    &error)) {
    r.err = error ? error->message : "spawn failed";
    if (error) g_error_free(error);
    return r;
  }
  r.out = out ? out : "";
  r.err = err ? err : "";
  g_free(out);
  g_free(err);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

Process::Process(const std::vector<std::string>& argv, const std::string& log_path) {
  pid_ = fork();
  if (pid_ == 0) {
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    if (!log_path.empty()) {
      int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
    }
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    execvp(cargv[0], cargv.data());
    _exit(127);
  }
}

Process::Process(Process&& o) noexcept { *this = std::move(o); }
Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    kill_now();
    pid_ = o.pid_;
    status_ = o.status_;
    reaped_ = o.reaped_;
    o.pid_ = -1;
  }
  return *this;
}
Process::~Process() { kill_now(); }

bool Process::running() { return pid_ > 0 && wait(0) == -1; }

int Process::wait(int timeout_ms) {
  if (pid_ <= 0) return status_;
  if (reaped_) return status_;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void Process::signal(int sig) {
  if (pid_ > 0 && !reaped_) ::kill(pid_, sig);
}

void Process::kill_now() {
  if (pid_ <= 0 || reaped_) return;
  ::kill(pid_, SIGCONT);
  ::kill(pid_, SIGTERM);
  if (wait(3000) == -1) {
    ::kill(pid_, SIGKILL);
    wait(3000);
  }
}

Server::Server(std::map<std::string, std::string> extra_env, std::vector<std::string> args)
    : env_(std::move(extra_env)), args_(std::move(args)) {
  dir_ = make_temp_dir();
  rtmp_port_ = free_tcp_port();
  http_port_ = free_tcp_port();
  api_port_ = free_tcp_port();
  rtsp_port_ = free_tcp_port();
  srt_port_ = free_udp_port();
  rtc_port_ = free_udp_port();
  https_port_ = free_tcp_port();
  api_https_port_ = free_tcp_port();
  rtmps_port_ = free_tcp_port();
}

Server::~Server() { stop(); }

bool Server::start(int timeout_ms) {
  // WebRTC gathers candidates on loopback only: tests send nothing beyond the host.
  std::vector<std::string> argv = {"env",
                                   "ESTUARY_RTMP_PORT=" + std::to_string(rtmp_port_),
                                   "ESTUARY_HTTP_PORT=" + std::to_string(http_port_),
                                   "ESTUARY_API_PORT=" + std::to_string(api_port_),
                                   "ESTUARY_RTMP_ADDRESS=127.0.0.1",
                                   "ESTUARY_HTTP_ADDRESS=127.0.0.1",
                                   "ESTUARY_API_ADDRESS=127.0.0.1",
                                   "ESTUARY_RTSP_PORT=" + std::to_string(rtsp_port_),
                                   "ESTUARY_RTSP_ADDRESS=127.0.0.1",
                                   "ESTUARY_HTTP_HTTPS_PORT=" + std::to_string(https_port_),
                                   "ESTUARY_API_HTTPS_PORT=" + std::to_string(api_https_port_),
                                   "ESTUARY_RTMP_RTMPS_PORT=" + std::to_string(rtmps_port_),
                                   "ESTUARY_RTC_INTERFACES=127.0.0.1"};
  argv.push_back("ESTUARY_SRT_PORT=" + std::to_string(srt_port_));  // UDP
  argv.push_back("ESTUARY_SRT_ADDRESS=127.0.0.1");
  argv.push_back("ESTUARY_RTC_PORT=" + std::to_string(rtc_port_));  // UDP, the shared engine
  for (auto& [k, v] : env_) argv.push_back(k + "=" + v);
  argv.push_back(build_root() + "/src/server/estuary");
  argv.insert(argv.end(), args_.begin(), args_.end());
  process_ = Process(argv, dir_ + "/server.log");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string body;
    if (http_request("GET", "http://127.0.0.1:" + std::to_string(api_port_) + "/api/v1/versions", &body) == 200)
      return true;
    if (!process_.running()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void Server::stop() { process_.kill_now(); }

std::string Server::log() const {
  std::ifstream f(dir_ + "/server.log");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string Server::rtmp_url(const std::string& path) const {
  return "rtmp://127.0.0.1:" + std::to_string(rtmp_port_) + "/" + path;
}
std::string Server::flv_url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(http_port_) + "/" + path + ".flv";
}

Process start_publisher(const std::string& url, int width, int height, const std::string& log_path, int duration_s,
                        int gop) {
  std::string size = std::to_string(width) + "x" + std::to_string(height);
  return Process({"ffmpeg",   "-hide_banner",
                  "-nostats", "-loglevel",
                  "error",    "-re",
                  "-f",       "lavfi",
                  "-i",       "testsrc2=size=" + size + ":rate=25:duration=" + std::to_string(duration_s),
                  "-f",       "lavfi",
                  "-i",       "sine=frequency=440:sample_rate=44100:duration=" + std::to_string(duration_s),
                  "-c:v",     "libx264",
                  "-preset",  "ultrafast",
                  "-tune",    "zerolatency",
                  "-g",       std::to_string(gop),
                  "-pix_fmt", "yuv420p",
                  "-c:a",     "aac",
                  "-b:a",     "64k",
                  "-f",       "flv",
                  url},
                 log_path);
}

Process start_two_language_publisher(const std::string& url, const std::string& log_path, int duration_s) {
  const std::string d = ":duration=" + std::to_string(duration_s);
  std::istringstream line(
      "ffmpeg -hide_banner -nostats -loglevel error -re -f lavfi -i testsrc2=size=320x240:rate=25" + d +
      " -f lavfi -i sine=frequency=440:sample_rate=44100" + d + " -f lavfi -i sine=frequency=880:sample_rate=48000" +
      d +
      " -map 0:v -map 1:a -map 2:a -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -pix_fmt yuv420p"
      " -c:a aac -b:a 64k -ac:a:1 2 -metadata:s:a:0 language=eng -metadata:s:a:1 language=fra -f mpegts");
  std::vector<std::string> argv;
  for (std::string word; line >> word;) argv.push_back(word);
  argv.push_back(url);
  return Process(argv, log_path);
}

bool make_hevc_aac_file(const std::string& path, std::string* err, const std::string& x265_params) {
  RunResult r = run({"ffmpeg",  "-nostdin",  "-loglevel",    "error",
                     "-f",      "lavfi",     "-i",           "testsrc2=size=320x240:rate=25",
                     "-f",      "lavfi",     "-i",           "sine=frequency=440:sample_rate=48000",
                     "-t",      "2",         "-c:v",         "libx265",
                     "-preset", "ultrafast", "-x265-params", x265_params,
                     "-c:a",    "aac",       "-b:a",         "64k",
                     "-y",      path},
                    60);
  if (err) *err = r.err;
  return r.exit_code == 0;
}

Process start_ertmp_publisher(const std::string& file, const std::string& url, const std::string& log, int loops) {
  return Process({build_root() + "/tools/ertmp/estuary-ertmp-publish", "--loop=" + std::to_string(loops), file, url},
                 log);
}

Process start_srt_publisher(const std::string& url, int width, int height, const std::string& log, int duration_s,
                            const std::string& vcodec, const std::string& acodec) {
  const std::string size = std::to_string(width) + "x" + std::to_string(height);
  const std::string rate = acodec == "libopus" ? "48000" : "44100";  // libopus encodes 48 kHz
  std::vector<std::string> argv = {
      "ffmpeg",   "-hide_banner",
      "-nostats", "-loglevel",
      "error",    "-re",
      "-f",       "lavfi",
      "-i",       "testsrc2=size=" + size + ":rate=25:duration=" + std::to_string(duration_s),
      "-f",       "lavfi",
      "-i",       "sine=frequency=440:sample_rate=" + rate + ":duration=" + std::to_string(duration_s),
      "-c:v",     vcodec,
      "-preset",  "ultrafast",
      "-g",       "25",
      "-pix_fmt", "yuv420p"};
  if (vcodec == "libx264") argv.insert(argv.end(), {"-tune", "zerolatency"});
  if (vcodec == "libx265") argv.insert(argv.end(), {"-x265-params", "log-level=error:bframes=0"});
  argv.insert(argv.end(), {"-c:a", acodec, "-b:a", "64k", "-f", "mpegts", url});
  return Process(argv, log);
}

int http_request(const std::string& method, const std::string& url, std::string* body,
                 std::map<std::string, std::string>* headers) {
  SoupSession* session = soup_session_new_with_options("timeout", 5, nullptr);
  SoupMessage* msg = soup_message_new(method.c_str(), url.c_str());
  if (!msg) {
    g_object_unref(session);
    return 0;
  }
  GError* err = nullptr;
  GBytes* bytes = soup_session_send_and_read(session, msg, nullptr, &err);
  int status = err ? 0 : int(soup_message_get_status(msg));
  if (err) g_error_free(err);
  if (bytes) {
    gsize n = 0;
    const char* data = static_cast<const char*>(g_bytes_get_data(bytes, &n));
    if (body) body->assign(data ? data : "", n);
    g_bytes_unref(bytes);
  }
  if (headers) {
    SoupMessageHeadersIter it;
    const char *name, *value;
    soup_message_headers_iter_init(&it, soup_message_get_response_headers(msg));
    while (soup_message_headers_iter_next(&it, &name, &value)) (*headers)[name] = value;
  }
  g_object_unref(msg);
  g_object_unref(session);
  return status;
}

JsonNode* parse_json(const std::string& text) {
  JsonParser* parser = json_parser_new();
  JsonNode* root = nullptr;
  if (json_parser_load_from_data(parser, text.c_str(), gssize(text.size()), nullptr))
    root = json_node_copy(json_parser_get_root(parser));
  g_object_unref(parser);
  return root;
}

bool has_stream(const std::vector<ProbeStream>& streams, const std::string& type, const std::string& codec) {
  for (const auto& st : streams)
    if (st.codec_type == type && st.codec_name == codec) return true;
  return false;
}

std::vector<ProbeStream> probe_streams(const std::string& url, int timeout_s) {
  auto r = run({"ffprobe", "-v", "error", "-rw_timeout", "5000000", "-show_streams", "-of", "json", url}, timeout_s);
  std::vector<ProbeStream> out;
  JsonNode* root = parse_json(r.out);
  if (!root) return out;
  JsonObject* obj = json_node_get_object(root);
  if (obj && json_object_has_member(obj, "streams")) {
    JsonArray* arr = json_object_get_array_member(obj, "streams");
    for (guint i = 0; i < json_array_get_length(arr); ++i) {
      JsonObject* s = json_array_get_object_element(arr, i);
      ProbeStream p;
      p.codec_type = json_object_get_string_member_with_default(s, "codec_type", "");
      p.codec_name = json_object_get_string_member_with_default(s, "codec_name", "");
      p.width = int(json_object_get_int_member_with_default(s, "width", 0));
      p.height = int(json_object_get_int_member_with_default(s, "height", 0));
      p.sample_rate = std::atoi(json_object_get_string_member_with_default(s, "sample_rate", "0"));
      p.channels = int(json_object_get_int_member_with_default(s, "channels", 0));
      if (json_object_has_member(s, "tags"))
        p.language =
            json_object_get_string_member_with_default(json_object_get_object_member(s, "tags"), "language", "");
      out.push_back(p);
    }
  }
  json_node_unref(root);
  return out;
}

int first_video_frame_is_key(const std::string& url, int timeout_s) {
  auto r = run({"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_frames", "-read_intervals", "%+#1",
                "-show_entries", "frame=key_frame,pict_type", "-of", "json", url},
               timeout_s);
  JsonNode* root = parse_json(r.out);
  if (!root) return -1;
  int result = -1;
  JsonObject* obj = json_node_get_object(root);
  if (obj && json_object_has_member(obj, "frames")) {
    JsonArray* frames = json_object_get_array_member(obj, "frames");
    if (json_array_get_length(frames) > 0)
      result = int(json_object_get_int_member_with_default(json_array_get_object_element(frames, 0), "key_frame", -1));
  }
  json_node_unref(root);
  return result;
}

static std::string api_url(const Server& s, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(s.api_port()) + path;
}

bool wait_for_stream(const Server& server, const std::string& app_stream, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto slash = app_stream.find('/');
  std::string app = app_stream.substr(0, slash), name = app_stream.substr(slash + 1);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string body;
    if (http_request("GET", api_url(server, "/api/v1/streams?count=100"), &body) == 200) {
      JsonNode* root = parse_json(body);
      bool found = false;
      if (root) {
        JsonArray* arr = json_object_get_array_member(json_node_get_object(root), "streams");
        for (guint i = 0; arr && i < json_array_get_length(arr); ++i) {
          JsonObject* s = json_array_get_object_element(arr, i);
          JsonObject* pub = json_object_get_object_member(s, "publish");
          if (std::string(json_object_get_string_member_with_default(s, "app", "")) == app &&
              std::string(json_object_get_string_member_with_default(s, "name", "")) == name && pub &&
              json_object_get_boolean_member_with_default(pub, "active", false))
            found = true;
        }
        json_node_unref(root);
      }
      if (found) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

int api_clients(const Server& server, std::vector<std::pair<std::string, std::string>>* id_type) {
  std::string body;
  if (http_request("GET", api_url(server, "/api/v1/clients?count=1000"), &body) != 200) return -1;
  JsonNode* root = parse_json(body);
  if (!root) return -1;
  JsonArray* arr = json_object_get_array_member(json_node_get_object(root), "clients");
  int n = arr ? int(json_array_get_length(arr)) : -1;
  for (int i = 0; id_type && i < n; ++i) {
    JsonObject* c = json_array_get_object_element(arr, guint(i));
    id_type->emplace_back(json_object_get_string_member_with_default(c, "id", ""),
                          json_object_get_string_member_with_default(c, "type", ""));
  }
  json_node_unref(root);
  return n;
}

int api_stream_count(const Server& server) {
  std::string body;
  if (http_request("GET", api_url(server, "/api/v1/streams?count=1000"), &body) != 200) return -1;
  JsonNode* root = parse_json(body);
  if (!root) return -1;
  JsonArray* arr = json_object_get_array_member(json_node_get_object(root), "streams");
  int n = arr ? int(json_array_get_length(arr)) : -1;
  json_node_unref(root);
  return n;
}

bool wait_until(const std::function<bool()>& pred, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

}  // namespace estuary::e2e
