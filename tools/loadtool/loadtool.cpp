// Owns: the load tool's run loop (connect ramp, publisher pacing, measurement window, server
// /proc sampling), URL parsing and the summary output. Single-threaded.
#include "loadtool.h"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <fstream>
#include <memory>
#include <sstream>

#include "session.h"

namespace estuary::load {
namespace {

struct ProcSample {
  bool ok = false;
  double cpu_s = 0;
  double rss_mb = 0;
  double hwm_mb = 0;
};

ProcSample sample_proc(int pid) {
  ProcSample s;
  if (pid <= 0) return s;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return s;
  // Fields after the command name (which may contain spaces) start at ") ".
  size_t close = line.rfind(')');
  if (close == std::string::npos) return s;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  s.cpu_s = double(utime + stime) / double(sysconf(_SC_CLK_TCK));
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_mb = std::stod(line.substr(6)) / 1024.0;
    if (line.rfind("VmHWM:", 0) == 0) s.hwm_mb = std::stod(line.substr(6)) / 1024.0;
  }
  s.ok = true;
  return s;
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  size_t i = size_t(std::ceil(p / 100.0 * double(v.size())));
  i = i == 0 ? 0 : i - 1;
  return v[std::min(i, v.size() - 1)];
}

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

std::string num2(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    o += c;
  }
  return o + "\"";
}

}  // namespace

bool parse_url(const std::string& text, Url* url, std::string* error) {
  size_t sep = text.find("://");
  if (sep == std::string::npos) {
    *error = "bad URL: " + text;
    return false;
  }
  url->scheme = text.substr(0, sep);
  if (url->scheme != "rtmp" && url->scheme != "http") {
    *error = "unsupported scheme: " + url->scheme;
    return false;
  }
  std::string rest = text.substr(sep + 3);
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  url->path = slash == std::string::npos ? "/" : rest.substr(slash);
  size_t colon = hostport.rfind(':');
  if (colon != std::string::npos && hostport.find(']') == std::string::npos) {
    url->host = hostport.substr(0, colon);
    url->port = std::atoi(hostport.c_str() + colon + 1);
  } else {
    url->host = hostport;
    url->port = url->scheme == "rtmp" ? 1935 : 80;
  }
  if (url->host.size() > 2 && url->host.front() == '[') url->host = url->host.substr(1, url->host.size() - 2);
  if (url->scheme == "rtmp") {
    size_t s2 = url->path.find('/', 1);
    if (s2 == std::string::npos) {
      *error = "RTMP URL needs /app/stream: " + text;
      return false;
    }
    url->app = url->path.substr(1, s2 - 1);
    url->stream = url->path.substr(s2 + 1);
    url->tc_url = "rtmp://" + hostport + "/" + url->app;
    url->format = "rtmp";
  } else {
    std::string p = url->path.substr(0, url->path.find('?'));
    url->format = p.size() >= 3 && p.compare(p.size() - 3, 3, ".ts") == 0 ? "ts" : "flv";
  }
  return true;
}

bool run(const Options& o, Summary* sum, std::string* error, const std::atomic<bool>* stop) {
  Url pub_url, play_url;
  Endpoint pub_ep, play_ep;
  std::vector<FlvTag> tags;
  const bool publish = !o.publish_url.empty();
  const bool play = !o.play_url.empty() && o.players > 0;
  if (publish) {
    if (!parse_url(o.publish_url, &pub_url, error) || !resolve(pub_url, &pub_ep, error)) return false;
    if (pub_url.scheme != "rtmp") {
      *error = "the publisher speaks RTMP only";
      return false;
    }
    if (!load_flv_file(o.file, &tags, error)) return false;
  }
  if (play && (!parse_url(o.play_url, &play_url, error) || !resolve(play_url, &play_ep, error))) return false;
  if (!publish && !play) {
    *error = "nothing to do: give --publish and/or --play with --players";
    return false;
  }
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  Shared shared;
  shared.epfd = epoll_create1(EPOLL_CLOEXEC);
  struct EpollCloser {
    int fd;
    ~EpollCloser() { ::close(fd); }
  } epoll_closer{shared.epfd};

  const int64_t t0 = now_us();
  const int64_t end = t0 + int64_t(o.duration_s * 1e6);
  // Publisher 0 is the one players follow; with --publishers N they are STREAM1..STREAMN, started at
  // publish_ramp per second. A deque keeps each URL where its publisher refers to it.
  std::deque<Url> pub_urls;
  std::vector<std::unique_ptr<Publisher>> publishers;
  const int publisher_count = publish ? o.publishers : 0;
  auto start_publisher = [&](int i) {
    pub_urls.push_back(pub_url);
    if (publisher_count > 1) {
      Url& u = pub_urls.back();
      const size_t q = u.stream.find('?');
      u.stream.insert(q == std::string::npos ? u.stream.size() : q, std::to_string(i + 1));
      u.path = "/" + u.app + "/" + u.stream;
    }
    publishers.push_back(std::make_unique<Publisher>(shared, pub_urls.back(), tags, o.loop));
    publishers.back()->start(pub_ep);
  };
  if (publish) start_publisher(0);
  Publisher* publisher = publish ? publishers.front().get() : nullptr;
  std::vector<std::unique_ptr<Player>> players;
  int64_t players_t0 = publish ? 0 : t0;  // with a publisher: set once publishing
  int64_t window_start = 0;
  int next_player = 0;
  ProcSample cpu_start, cpu_end;
  double rss_peak = -1;
  int64_t next_sample = t0;
  int64_t window_begin_us = 0;
  uint64_t pub_bytes_at_window = 0, pub_frames_at_window = 0;
  epoll_event events[512];

  auto compute_window = [&] {
    const double ramp_s = o.players > 0 ? double(o.players) / std::max(o.ramp, 1.0) : 0;
    int64_t ws = players_t0 + int64_t((ramp_s + o.warmup_s) * 1e6);
    // Keep at least a third of the run for measuring, whatever the ramp and warm-up asked.
    ws = std::min(ws, end - (end - players_t0) / 3);
    window_start = std::max(ws, players_t0);
  };
  if (!publish) compute_window();

  while (true) {
    int64_t now = now_us();
    if (now >= end || (stop && stop->load())) break;
    if (publisher && publisher_count == 1 && publisher->failed) break;
    while (int(publishers.size()) < publisher_count) {
      const int64_t due = t0 + int64_t(double(publishers.size()) / o.publish_ramp * 1e6);
      if (due > now) break;
      start_publisher(int(publishers.size()));
    }
    if (publish && players_t0 == 0 && publisher->publishing) {
      players_t0 = publisher->publish_start_us + int64_t((play ? o.play_delay_s : 0) * 1e6);
      compute_window();
    }
    int64_t next_due = end;
    for (auto& p : publishers) {
      const int64_t d = p->tick(now);
      if (d > 0) next_due = std::min(next_due, d);
    }
    if (int(publishers.size()) < publisher_count)
      next_due = std::min(next_due, t0 + int64_t(double(publishers.size()) / o.publish_ramp * 1e6));
    if (play && players_t0 > 0 && now >= players_t0) {
      while (next_player < o.players) {
        int64_t due = players_t0 + int64_t(double(next_player) / std::max(o.ramp, 1.0) * 1e6);
        if (due > now) {
          next_due = std::min(next_due, due);
          break;
        }
        auto p = std::make_unique<Player>(shared, play_url, o);
        p->start(play_ep);
        players.push_back(std::move(p));
        ++next_player;
      }
    } else if (play && players_t0 > 0) {
      next_due = std::min(next_due, players_t0);
    }
    if (window_start > 0 && !shared.measuring && now >= window_start) {
      shared.measuring = true;
      window_begin_us = now;
      cpu_start = sample_proc(o.server_pid);
      for (auto& p : players) {
        p->bytes_at_window = p->bytes;
        p->frames_at_window = p->video_frames;
      }
      for (auto& p : publishers) {
        pub_bytes_at_window += p->media_bytes;
        pub_frames_at_window += p->video_frames;
      }
    }
    if (window_start > 0 && !shared.measuring) next_due = std::min(next_due, window_start);
    if (now >= next_sample) {
      ProcSample s = sample_proc(o.server_pid);
      if (s.ok) rss_peak = std::max(rss_peak, s.rss_mb);
      shared.expire(now);
      next_sample = now + 1'000'000;
    }
    next_due = std::min(next_due, next_sample);
    const int timeout_ms = int(std::clamp<int64_t>((next_due - now + 999) / 1000, 0, 50));
    const int n = epoll_wait(shared.epfd, events, 512, timeout_ms);
    for (int i = 0; i < n; ++i) static_cast<Conn*>(events[i].data.ptr)->on_event(events[i].events);
  }

  const int64_t stop_us = now_us();
  cpu_end = sample_proc(o.server_pid);
  if (cpu_end.ok) rss_peak = std::max(rss_peak, cpu_end.rss_mb);

  // ---- summary ----
  Summary& s = *sum;
  s = Summary{};
  s.protocol = play ? (play_url.scheme == "rtmp" ? "rtmp" : "http-" + play_url.format) : "none";
  s.players = o.players;
  if (!shared.measuring) window_begin_us = stop_us;  // no window: report what there is
  s.window_s = double(stop_us - window_begin_us) / 1e6;
  std::vector<double> startup, kbps, fps;
  for (auto& p : players) {
    if (p->play_confirmed) ++s.connected;
    if (p->last_media_us > 0 && stop_us - p->last_media_us < 2'000'000 && !p->failed) ++s.receiving;
    if (p->failed || p->closed) ++s.failed;
    if (p->framing_error) ++s.framing_errors;
    if (p->bad_start) ++s.bad_start;
    if ((p->failed || p->closed) && p->first_byte_us == 0) ++s.connect_errors;
    if ((p->failed || p->closed) && p->first_byte_us != 0) ++s.closed_early;
    if ((p->failed || p->closed) && s.sample_errors.size() < 5) s.sample_errors.push_back(p->error);
    if (p->first_kf_us > 0) startup.push_back(double(p->first_kf_us - p->connect_start_us) / 1000.0);
    if (s.window_s > 0.5) {
      int64_t from = std::max(window_begin_us, p->first_byte_us);
      double secs = p->first_byte_us == 0 ? s.window_s : double(stop_us - from) / 1e6;
      if (secs <= 0) secs = s.window_s;
      kbps.push_back(double(p->bytes - p->bytes_at_window) * 8 / 1000.0 / secs);
      fps.push_back(double(p->video_frames - p->frames_at_window) / secs);
    }
  }
  auto mean = [](const std::vector<double>& v) {
    double t = 0;
    for (double x : v) t += x;
    return v.empty() ? 0.0 : t / double(v.size());
  };
  if (!kbps.empty()) {
    s.bitrate_mean_kbps = mean(kbps);
    s.bitrate_min_kbps = *std::min_element(kbps.begin(), kbps.end());
    s.fps_mean = mean(fps);
    s.fps_min = *std::min_element(fps.begin(), fps.end());
  }
  s.startup_count = int(startup.size());
  s.startup_p50_ms = pct(startup, 50);
  s.startup_p95_ms = pct(startup, 95);
  s.startup_max_ms = startup.empty() ? -1 : *std::max_element(startup.begin(), startup.end());
  s.latency_samples = shared.latency.count();
  s.latency_p50_ms = shared.latency.percentile_ms(50);
  s.latency_p95_ms = shared.latency.percentile_ms(95);
  s.latency_max_ms = s.latency_samples ? shared.latency.max_ms() : -1;
  s.audio_latency_samples = shared.audio_latency.count();
  s.audio_latency_p50_ms = shared.audio_latency.percentile_ms(50);
  s.audio_latency_p95_ms = shared.audio_latency.percentile_ms(95);
  s.audio_latency_max_ms = s.audio_latency_samples ? shared.audio_latency.max_ms() : -1;
  s.audio_ambiguous = shared.audio_ambiguous;
  if (!publishers.empty()) {
    uint64_t bytes = 0, frames = 0;
    for (auto& p : publishers) {
      bytes += p->media_bytes;
      frames += p->video_frames;
      if (p->failed || !p->publishing) {
        ++s.publishers_failed;
        if (s.publisher_error.empty()) s.publisher_error = p->error.empty() ? "publish never started" : p->error;
      }
    }
    s.publishers = int(publishers.size());
    s.publisher_ok = s.publishers_failed == 0;
    // Per publisher (the mean when there are several).
    if (s.window_s > 0)
      s.publisher_kbps = double(bytes - pub_bytes_at_window) * 8 / 1000 / s.window_s / double(publishers.size());
    s.publisher_frames = frames - pub_frames_at_window;
  }
  s.server_pid = o.server_pid;
  if (cpu_start.ok && cpu_end.ok && s.window_s > 0) {
    s.server_cpu_cores = (cpu_end.cpu_s - cpu_start.cpu_s) / s.window_s;
    s.server_rss_peak_mb = rss_peak;
    s.server_rss_hwm_mb = cpu_end.hwm_mb;
  }
  return true;
}

std::string Summary::json() const {
  std::ostringstream j;
  j << "{\"protocol\":" << json_string(protocol) << ",\"players\":" << players << ",\"connected\":" << connected
    << ",\"receiving\":" << receiving << ",\"failed\":" << failed << ",\"window_s\":" << num(window_s)
    << ",\"bitrate_kbps\":{\"mean\":" << num(bitrate_mean_kbps) << ",\"min\":" << num(bitrate_min_kbps) << "}"
    << ",\"fps\":{\"mean\":" << num(fps_mean) << ",\"min\":" << num(fps_min) << "}"
    << ",\"publisher\":{\"ok\":" << (publisher_ok ? "true" : "false") << ",\"kbps\":" << num(publisher_kbps)
    << ",\"frames\":" << publisher_frames << ",\"error\":" << json_string(publisher_error)
    << ",\"count\":" << publishers << ",\"failed\":" << publishers_failed << "}"
    << ",\"startup_ms\":{\"count\":" << startup_count << ",\"p50\":" << num(startup_p50_ms)
    << ",\"p95\":" << num(startup_p95_ms) << ",\"max\":" << num(startup_max_ms) << "}"
    << ",\"latency_ms\":{\"samples\":" << latency_samples << ",\"p50\":" << num(latency_p50_ms)
    << ",\"p95\":" << num(latency_p95_ms) << ",\"max\":" << num(latency_max_ms) << "}"
    << ",\"audio_latency_ms\":{\"samples\":" << audio_latency_samples << ",\"p50\":" << num(audio_latency_p50_ms)
    << ",\"p95\":" << num(audio_latency_p95_ms) << ",\"max\":" << num(audio_latency_max_ms)
    << ",\"ambiguous\":" << audio_ambiguous << "}"
    << ",\"server\":{\"pid\":" << server_pid
    << ",\"cpu_cores\":" << (server_cpu_cores < 0 ? "null" : num2(server_cpu_cores))
    << ",\"rss_peak_mb\":" << (server_rss_peak_mb < 0 ? "null" : num(server_rss_peak_mb))
    << ",\"rss_hwm_mb\":" << (server_rss_hwm_mb < 0 ? "null" : num(server_rss_hwm_mb)) << "}"
    << ",\"errors\":{\"framing\":" << framing_errors << ",\"bad_start\":" << bad_start
    << ",\"connect\":" << connect_errors << ",\"closed_early\":" << closed_early << ",\"samples\":[";
  for (size_t i = 0; i < sample_errors.size(); ++i) j << (i ? "," : "") << json_string(sample_errors[i]);
  j << "]}}";
  return j.str();
}

std::string Summary::human() const {
  std::ostringstream h;
  h << "protocol " << protocol << ": " << players << " players, " << connected << " connected, " << receiving
    << " receiving at the end, " << failed << " failed\n";
  h << "  window " << num(window_s) << " s; player bitrate mean " << num(bitrate_mean_kbps) << " kb/s, min "
    << num(bitrate_min_kbps) << " kb/s; video fps mean " << num(fps_mean) << ", min " << num(fps_min) << "\n";
  h << "  publisher " << (publisher_ok ? "ok" : "FAILED " + publisher_error) << ", " << num(publisher_kbps)
    << " kb/s media, " << publisher_frames << " video frames in window";
  if (publishers > 1) h << " (" << publishers << " publishers, " << publishers_failed << " failed; kb/s per publisher)";
  h << "\n";
  h << "  start-up (connect -> first keyframe) p50 " << num(startup_p50_ms) << " ms, p95 " << num(startup_p95_ms)
    << " ms, max " << num(startup_max_ms) << " ms (" << startup_count << " players)\n";
  h << "  latency (publisher send -> player receive) p50 " << num(latency_p50_ms) << " ms, p95 " << num(latency_p95_ms)
    << " ms, max " << num(latency_max_ms) << " ms (" << latency_samples << " video frames)\n";
  h << "  audio latency p50 " << num(audio_latency_p50_ms) << " ms, p95 " << num(audio_latency_p95_ms) << " ms, max "
    << num(audio_latency_max_ms) << " ms (" << audio_latency_samples << " audio frames; " << audio_ambiguous
    << " repeated fingerprints not measured)\n";
  if (server_cpu_cores >= 0) {
    h << "  server pid " << server_pid << ": CPU " << num2(server_cpu_cores) << " cores, RSS peak "
      << num(server_rss_peak_mb) << " MB (VmHWM " << num(server_rss_hwm_mb) << " MB)\n";
  }
  h << "  errors: framing " << framing_errors << ", bad start " << bad_start << ", connect " << connect_errors
    << ", closed early " << closed_early << "\n";
  for (const auto& e : sample_errors) h << "    e.g. " << e << "\n";
  return h.str();
}

}  // namespace estuary::load
