// Owns: the end-to-end test harness: the real estuary binary on 127.0.0.1 with free ports and a
// temp directory, real ffmpeg/ffprobe processes with bounded run times, and HTTP/JSON helpers.
#pragma once

#include <json-glib/json-glib.h>
#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace estuary::e2e {

int free_tcp_port();
int free_udp_port();
std::string make_temp_dir();
std::string source_root();
std::string build_root();

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs argv to completion, killed after timeout_s.
RunResult run(const std::vector<std::string>& argv, int timeout_s);

// A background process (publisher, player) killed on destruction.
class Process {
 public:
  Process() = default;
  explicit Process(const std::vector<std::string>& argv, const std::string& log_path = "");
  Process(Process&& o) noexcept;
  Process& operator=(Process&& o) noexcept;
  ~Process();
  pid_t pid() const { return pid_; }
  bool running();
  // Waits up to timeout_ms for exit; returns exit status (or -1 if still running).
  int wait(int timeout_ms);
  void signal(int sig);
  void kill_now();

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  bool reaped_ = false;
};

class Server {
 public:
  // extra_env: ESTUARY_* overrides; args: extra command-line arguments.
  explicit Server(std::map<std::string, std::string> extra_env = {}, std::vector<std::string> args = {});
  ~Server();
  bool start(int timeout_ms = 20000);  // startup test-encodes the @h264enc/@h265enc picks: slow on a loaded machine
  void stop();
  int rtmp_port() const { return rtmp_port_; }
  int http_port() const { return http_port_; }
  int api_port() const { return api_port_; }
  int rtsp_port() const { return rtsp_port_; }
  int srt_port() const { return srt_port_; }  // UDP
  int rtc_port() const { return rtc_port_; }  // UDP: the shared WebRTC engine's one port
  // TLS listeners (open only when the server is given a certificate: ESTUARY_TLS_CERT_FILE).
  int https_port() const { return https_port_; }
  int api_https_port() const { return api_https_port_; }
  int rtmps_port() const { return rtmps_port_; }
  const std::string& dir() const { return dir_; }
  std::string log() const;
  std::string rtmp_url(const std::string& path) const;
  std::string flv_url(const std::string& path) const;
  Process& process() { return process_; }

 private:
  std::map<std::string, std::string> env_;
  std::vector<std::string> args_;
  std::string dir_;
  int rtmp_port_, http_port_, api_port_, rtsp_port_;
  int srt_port_;
  int rtc_port_;
  int https_port_, api_https_port_, rtmps_port_;
  Process process_;
};

// ffmpeg publishing a lavfi test pattern (H.264 + AAC) to url; flv output.
Process start_publisher(const std::string& url, int width, int height, const std::string& log_path, int duration_s = 60,
                        int gop = 25);

// A 2 s HEVC + AAC MP4 (libx265 ultrafast, 320x240 25 fps, a 440 Hz tone) written to path by ffmpeg;
// x265_params e.g. "keyint=25:bframes=0:log-level=error". False (with ffmpeg's error in *err) on failure.
bool make_hevc_aac_file(const std::string& path, std::string* err,
                        const std::string& x265_params = "keyint=25:log-level=error");
// tools/ertmp's estuary-ertmp-publish sending file to url as enhanced RTMP in real time, `loops` times.
Process start_ertmp_publisher(const std::string& file, const std::string& url, const std::string& log_path,
                              int loops = 40);

// ffmpeg publishing a lavfi test pattern as MPEG-TS over SRT to url (vcodec libx264 or libx265,
// acodec aac or libopus), keyframe every 25 frames (1 s).
Process start_srt_publisher(const std::string& url, int width, int height, const std::string& log_path, int duration_s,
                            const std::string& vcodec = "libx264", const std::string& acodec = "aac");
// ffmpeg publishing MPEG-TS over SRT to url with two AAC tracks in two languages: eng mono 44.1 kHz
// (440 Hz) and fra stereo 48 kHz (880 Hz), after H.264 320x240, keyframe every second.
Process start_two_language_publisher(const std::string& url, const std::string& log_path, int duration_s);
// HTTP GET/DELETE to 127.0.0.1; returns status (0 on failure) and body.
int http_request(const std::string& method, const std::string& url, std::string* body,
                 std::map<std::string, std::string>* headers = nullptr);

// Parses JSON text; returns a new reference to the root node (nullptr on error).
JsonNode* parse_json(const std::string& text);

struct ProbeStream {
  std::string codec_type;
  std::string codec_name;
  int width = 0;
  int height = 0;
  int sample_rate = 0;
  int channels = 0;
  std::string language;  // the stream's language tag, "" when none
};
// ffprobe -show_streams on url; empty on failure.
std::vector<ProbeStream> probe_streams(const std::string& url, int timeout_s = 15);
// Whether the probed streams include one of codec_type `type` (video, audio) and codec `codec`.
bool has_stream(const std::vector<ProbeStream>& streams, const std::string& type, const std::string& codec);
// key_frame flag of the first decoded video frame (-1 on failure).
int first_video_frame_is_key(const std::string& url, int timeout_s = 15);

// Waits until the API lists a ready stream named app/stream (true) within timeout_ms.
bool wait_for_stream(const Server& server, const std::string& app_stream, int timeout_ms);
// Number of clients in /api/v1/clients (-1 on error); optionally their ids by type.
int api_clients(const Server& server, std::vector<std::pair<std::string, std::string>>* id_type = nullptr);
int api_stream_count(const Server& server);

// Polls pred every 100 ms until it holds (true) or timeout_ms has passed (false after one last try).
bool wait_until(const std::function<bool()>& pred, int timeout_ms);

}  // namespace estuary::e2e
