// Owns: the Prometheus endpoint (see metrics.h).
#include "server/api/metrics.h"

#include <sys/resource.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <set>

#include "pipelines/stream_bus.h"
#include "server/api/api_server.h"
#include "server/control/ports.h"

namespace estuary::server {
namespace {

std::string escape_help(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Byte counters that stay monotonic while clients come and go: each scrape adds every client's
// growth since the last scrape to its series and to the server total.
struct ByteTotals {
  struct Seen {
    uint64_t sent = 0, recv = 0;
  };
  std::map<std::string, Seen> clients;                      // by client id
  std::map<std::string, std::pair<double, double>> series;  // "app\nstream\nproto" -> recv, sent
  double recv_total = 0, sent_total = 0;
};

}  // namespace

std::string prometheus_escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string protocol_of_client_type(const std::string& type) {
  std::string p = type.substr(0, type.find('-'));
  if (p == "fmle" || p == "flash") return "rtmp";
  if (p == "rtc" || p == "whip" || p == "whep") return "webrtc";
  return p.empty() ? "unknown" : p;
}

void PrometheusWriter::add(const std::string& name, const char* type, const std::string& help, const Labels& labels,
                           double value) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    order_.push_back(name);
    it->second.type = type;
    it->second.help = help;
  }
  std::string line = name;
  if (!labels.empty()) {
    line += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) line += ',';
      first = false;
      line += k + "=\"" + prometheus_escape_label(v) + "\"";
    }
    line += '}';
  }
  line += ' ' + format_number(value);
  it->second.samples.push_back(std::move(line));
}

std::string PrometheusWriter::text() const {
  std::string out;
  for (const std::string& name : order_) {
    const Family& f = families_.at(name);
    out += "# HELP " + name + " " + escape_help(f.help) + "\n";
    out += "# TYPE " + name + " " + f.type + "\n";
    for (const auto& s : f.samples) out += s + "\n";
  }
  return out;
}

namespace {

// A connection's labels: app and stream (from the client's url), client id, type, protocol.
PrometheusWriter::Labels client_labels(const api::ClientView& c, const std::string& protocol) {
  std::string path = c.url.size() > 1 ? c.url.substr(1) : "";
  const auto slash = path.find('/');
  return {{"app", path.substr(0, slash)},
          {"stream", slash == std::string::npos ? "" : path.substr(slash + 1)},
          {"client", c.id},
          {"type", c.type},
          {"protocol", protocol}};
}

std::string render(const api::Backend& sup, const MetricsSource& outputs, ByteTotals& totals) {
  PrometheusWriter w;
  const api::SummaryView sum = sup.summary();
  const auto clients = sup.clients();
  const auto streams = sup.streams();

  // Byte accounting.
  std::set<std::string> present;
  for (const auto& c : clients) {
    present.insert(c.id);
    std::string app, stream;
    std::string path = c.url.size() > 1 ? c.url.substr(1) : "";
    auto slash = path.find('/');
    app = path.substr(0, slash);
    stream = slash == std::string::npos ? "" : path.substr(slash + 1);
    auto& seen = totals.clients[c.id];
    const double drecv = c.recv_bytes >= seen.recv ? double(c.recv_bytes - seen.recv) : 0;
    const double dsent = c.send_bytes >= seen.sent ? double(c.send_bytes - seen.sent) : 0;
    seen.recv = c.recv_bytes;
    seen.sent = c.send_bytes;
    auto& s = totals.series[app + "\n" + stream + "\n" + protocol_of_client_type(c.type)];
    s.first += drecv;
    s.second += dsent;
    totals.recv_total += drecv;
    totals.sent_total += dsent;
  }
  std::erase_if(totals.clients, [&](const auto& kv) { return !present.count(kv.first); });

  w.add("estuary_uptime_seconds", "gauge", "Seconds since the server started.", {}, sum.uptime_s);
  w.add("estuary_process_cpu_seconds_total", "counter", "User and system CPU time of the server process.", {},
        process_cpu_seconds());
  w.add("estuary_process_resident_memory_bytes", "gauge", "Resident memory of the server process.", {},
        double(sum.mem_kbyte) * 1024);
  w.add("estuary_connections", "gauge", "Clients (publishers and viewers) of all protocols.", {},
        double(clients.size()));
  w.add("estuary_streams", "gauge", "Streams being published.", {}, double(streams.size()));
  w.add("estuary_play_waiting", "gauge", "Viewers waiting for a stream that is not live yet ([play] wait_ms).", {},
        double(outputs.waiting_viewers()));
  w.add("estuary_bytes_received_total", "counter", "Bytes received from clients of all protocols.", {},
        totals.recv_total);
  w.add("estuary_bytes_sent_total", "counter", "Bytes sent to clients of all protocols.", {}, totals.sent_total);

  // Clients by type.
  std::map<std::string, int> by_type;
  for (const auto& c : clients) by_type[c.type]++;
  for (const auto& [type, n] : by_type)
    w.add("estuary_clients", "gauge", "Clients by SRS client type.",
          {{"protocol", protocol_of_client_type(type)}, {"type", type}}, n);

  // SRT links as libsrt sees them, per connection (client ids are the API's).
  for (const auto& c : clients) {
    if (!c.srt) continue;
    const PrometheusWriter::Labels l = client_labels(c, "srt");
    w.add("estuary_srt_rtt_seconds", "gauge", "Round-trip time of an SRT connection.", l, c.srt->rtt_ms / 1000);
    w.add("estuary_srt_send_rate_bits_per_second", "gauge", "SRT send rate over the last second.", l,
          c.srt->send_mbps * 1e6);
    w.add("estuary_srt_receive_rate_bits_per_second", "gauge", "SRT receive rate over the last second.", l,
          c.srt->recv_mbps * 1e6);
    w.add("estuary_srt_packets_lost_total", "counter", "SRT packets reported lost (either side).", l,
          double(c.srt->pkt_lost));
    w.add("estuary_srt_packets_retransmitted_total", "counter", "SRT packets retransmitted (sent or received).", l,
          double(c.srt->pkt_retrans));
    w.add("estuary_srt_packets_dropped_total", "counter", "SRT packets dropped as too late to send or play.", l,
          double(c.srt->pkt_dropped));
  }
  // WebRTC links (shared engine) from the peers' RTCP, per connection.
  for (const auto& c : clients) {
    if (!c.rtc) continue;
    const PrometheusWriter::Labels l = client_labels(c, "webrtc");
    if (c.rtc->rtt_ms >= 0)
      w.add("estuary_rtc_rtt_seconds", "gauge", "Round-trip time of a WebRTC connection (RTCP).", l,
            c.rtc->rtt_ms / 1000);
    w.add("estuary_rtc_packets_lost_total", "counter", "RTP packets a WebRTC peer reports lost.", l,
          double(c.rtc->packets_lost));
    w.add("estuary_rtc_nacks_total", "counter", "RTP packets a WebRTC peer asked for again (NACK).", l,
          double(c.rtc->nacks));
    w.add("estuary_rtc_packets_retransmitted_total", "counter", "RTP packets resent to a WebRTC peer.", l,
          double(c.rtc->retransmits));
    w.add("estuary_rtc_keyframe_requests_total", "counter", "PLI and FIR keyframe requests from a WebRTC peer.", l,
          double(c.rtc->plis + c.rtc->firs));
  }

  // Per stream and protocol: viewers and publishers.
  struct Counts {
    int viewers = 0, publishers = 0;
  };
  std::map<std::tuple<std::string, std::string, std::string>, Counts> per;
  for (const auto& s : streams) per[{s.app, s.name, "rtmp"}];  // a live stream always has its series
  for (const auto& c : clients) {
    std::string path = c.url.size() > 1 ? c.url.substr(1) : "";
    auto slash = path.find('/');
    if (slash == std::string::npos) continue;
    auto& n = per[{path.substr(0, slash), path.substr(slash + 1), protocol_of_client_type(c.type)}];
    (c.publish ? n.publishers : n.viewers)++;
  }
  for (const auto& [k, n] : per)
    w.add("estuary_stream_viewers", "gauge", "Viewers of a stream by protocol.",
          {{"app", std::get<0>(k)}, {"stream", std::get<1>(k)}, {"protocol", std::get<2>(k)}}, n.viewers);
  for (const auto& [k, n] : per)
    w.add("estuary_stream_publishers", "gauge", "Publishers of a stream by protocol.",
          {{"app", std::get<0>(k)}, {"stream", std::get<1>(k)}, {"protocol", std::get<2>(k)}}, n.publishers);

  // Byte series of streams that still exist (a client or a live stream).
  std::set<std::string> live_keys;
  for (const auto& [k, n] : per) live_keys.insert(std::get<0>(k) + "\n" + std::get<1>(k) + "\n" + std::get<2>(k));
  std::erase_if(totals.series, [&](const auto& kv) { return !live_keys.count(kv.first); });
  for (const char* which : {"received", "sent"}) {
    const bool recv = which[0] == 'r';
    for (const auto& [k, v] : totals.series) {
      auto a = k.find('\n'), b = k.find('\n', a + 1);
      w.add(std::string("estuary_stream_bytes_") + which + "_total", "counter",
            std::string("Bytes ") + which + " by a stream's clients of one protocol.",
            {{"app", k.substr(0, a)}, {"stream", k.substr(a + 1, b - a - 1)}, {"protocol", k.substr(b + 1)}},
            recv ? v.first : v.second);
    }
  }

  // Media of each live stream.
  for (const auto& s : streams) {
    const PrometheusWriter::Labels l{{"app", s.app}, {"stream", s.name}};
    pipelines::BusStats st;
    const std::string key = s.app + "/" + s.name;
    if (pipelines::bus_stats(key, &st)) {
      auto with = [&](const char* type) {
        auto x = l;
        x.emplace_back("type", type);
        return x;
      };
      w.add("estuary_stream_frames_total", "counter", "Media frames published on a stream.", with("video"),
            double(st.video_buffers));
      w.add("estuary_stream_frames_total", "counter", "Media frames published on a stream.", with("audio"),
            double(st.audio_buffers));
      w.add("estuary_stream_keyframes_total", "counter", "Video keyframes published on a stream.", l,
            double(st.keyframes));
      w.add("estuary_stream_keyframe_interval_seconds", "gauge", "Time between the last two keyframes.", l,
            double(st.keyframe_interval_ns) / 1e9);
      const char* held = "Bytes a stream's bus holds now: its GOP cache or its subscribers' queues.";
      w.add("estuary_stream_buffered_bytes", "gauge", held, with("gop_cache"), double(st.gop_cache_bytes));
      w.add("estuary_stream_buffered_bytes", "gauge", held, with("queues"), double(st.queued_bytes));
    }
    w.add("estuary_stream_ready", "gauge", "1 once the stream's tracks are known.", l, s.publish_active ? 1 : 0);
    if (s.video) {
      w.add("estuary_stream_video_width", "gauge", "Video width in pixels.", l, s.video->width);
      w.add("estuary_stream_video_height", "gauge", "Video height in pixels.", l, s.video->height);
    }
    if (s.audio) w.add("estuary_stream_audio_sample_rate_hz", "gauge", "Audio sample rate.", l, s.audio->sample_rate);
    if (s.health) {  // only streams an estuaryhealth pipeline watches
      const std::pair<const char*, bool> conditions[] = {{"black", s.health->black},
                                                         {"frozen", s.health->frozen},
                                                         {"silent", s.health->silent},
                                                         {"drift", s.health->drift}};
      for (const auto& [condition, raised] : conditions) {
        auto hl = l;
        hl.emplace_back("condition", condition);
        w.add("estuary_stream_health_condition", "gauge", "1 while estuaryhealth reports the condition on the stream.",
              hl, raised ? 1 : 0);
      }
      w.add("estuary_stream_av_drift_seconds", "gauge", "Last A/V drift estuaryhealth measured (video minus audio).", l,
            s.health->av_drift_ms / 1000.0);
    }
  }

  for (const auto& m : outputs.extra_metrics()) w.add(m.name, m.type.c_str(), m.help, {}, m.value);

  // Outputs and their fan-out channels.
  for (const auto& m : outputs.output_metrics()) {
    const PrometheusWriter::Labels l{{"app", m.app}, {"stream", m.stream}, {"output", m.output}};
    w.add("estuary_output_restarts_total", "counter", "Restarts of a stream's output after failures.", l, m.restarts);
    w.add("estuary_output_running", "gauge", "1 while the output is running.", l, m.running ? 1 : 0);
    for (const auto& [name, cs] : m.channels) {
      auto cl = l;
      cl.emplace_back("channel", name);
      w.add("estuary_output_viewers", "gauge", "Viewers attached to a fan-out channel.", cl, double(cs.viewers));
      w.add("estuary_output_bytes_total", "counter", "Bytes a fan-out channel received from its pipeline.", cl,
            double(cs.bytes_in));
      w.add("estuary_output_dropped_bytes_total", "counter", "Bytes skipped for slow viewers.", cl,
            double(cs.dropped_bytes));
      w.add("estuary_output_dropped_viewers_total", "counter", "Viewers disconnected for being too slow.", cl,
            double(cs.dropped_viewers));
      w.add("estuary_output_retained_bytes", "gauge", "Bytes a fan-out channel keeps queued.", cl,
            double(cs.retained_bytes));
    }
  }
  return w.text();
}

}  // namespace

void register_metrics(api::ApiServer& api, const api::Backend& model, const MetricsSource& outputs) {
  auto totals = std::make_shared<ByteTotals>();
  api.add_handler("/metrics", [&model, &outputs, totals](SoupServerMessage* msg, const char*, GHashTable*) {
    const char* method = soup_server_message_get_method(msg);
    if (g_strcmp0(method, "GET") != 0 && g_strcmp0(method, "HEAD") != 0) {
      soup_server_message_set_status(msg, 405, nullptr);
      soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow", "GET, HEAD");
      return;
    }
    std::string body = render(model, outputs, *totals);
    soup_server_message_set_status(msg, 200, nullptr);
    soup_server_message_set_response(msg, "text/plain; version=0.0.4; charset=utf-8", SOUP_MEMORY_COPY, body.data(),
                                     body.size());
  });
}

}  // namespace estuary::server
