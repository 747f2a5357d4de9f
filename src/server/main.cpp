// Owns: the composition root: command line, GStreamer and plugin registration, configuration
// (with SIGHUP reload), the fan-out engine, supervisor, protocol servers, HTTP API and the main loop.
#include <glib-unix.h>
#include <gst/gst.h>
#include <libsoup/soup.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "build_info.h"
#include "common/control_thread.h"
#include "common/crash_report.h"
#include "common/log.h"
#include "git_commit.h"
#include "pipelines/element_catalog.h"
#include "pipelines/stream_bus.h"
#include "server/api/api_server.h"
#include "server/api/dvr_api.h"
#include "server/api/encoders.h"
#include "server/api/listen_api.h"
#include "server/api/metrics.h"
#include "server/api/recordings_api.h"
#include "server/api/reload_api.h"
#include "server/cluster/cluster_node.h"
#include "server/config/config.h"
#include "server/config/config_watch.h"
#include "server/control/control_plane.h"
#include "server/control/demand_chain.h"
#include "server/net/http_guard.h"
#include "server/net/tls_context.h"
#include "server/outputs/custom/pipeline_output.h"
#include "server/outputs/dvr/dvr_output.h"
#include "server/outputs/fanout/flv_fanout_output.h"
#include "server/outputs/fanout/ts_fanout_output.h"
#include "server/outputs/forward/forward_output.h"
#include "server/outputs/hls/abr_http.h"
#include "server/outputs/hls/hls_output.h"
#include "server/outputs/transcode/transcode_output.h"
#include "server/protocols/http/http_byte_stream.h"
#include "server/protocols/http/http_server.h"
#include "server/protocols/http/static_files.h"
#include "server/protocols/rtmp/rtmp_server.h"
#include "server/protocols/rtmp/rtmps_server.h"
#include "server/protocols/rtsp/rtsp_server.h"
#include "server/protocols/srt/srt_server.h"
#include "server/protocols/webrtc/rtc_feed.h"
#include "server/protocols/webrtc/rtc_service.h"
#include "server/sources/pull_sources.h"

namespace {

using namespace estuary;

struct Options {
  std::string config_path;
  std::string pipelines_dir;
  bool check_only = false;
  bool list_elements = false;
  std::string inspect;  // element name for --inspect
};

void print_version() {
  guint major = 0, minor = 0, micro = 0, nano = 0;
  gst_version(&major, &minor, &micro, &nano);
  std::printf("Estuary %s (commit %s)\n", ESTUARY_VERSION, ESTUARY_GIT_COMMIT);
  std::printf("build: %s, %s, sanitizers: %s, prefix %s\n", ESTUARY_BUILDTYPE, ESTUARY_COMPILER,
              std::strcmp(ESTUARY_SANITIZE, "none") == 0 ? "none" : ESTUARY_SANITIZE, ESTUARY_PREFIX);
  std::printf("GStreamer %u.%u.%u (runtime), libsoup %u.%u.%u (runtime), GLib %u.%u.%u (runtime)\n", major, minor,
              micro, soup_get_major_version(), soup_get_minor_version(), soup_get_micro_version(), glib_major_version,
              glib_minor_version, glib_micro_version);
}

void usage() {
  std::fprintf(stderr,
               "usage: estuary [--config FILE] [--pipelines DIR] [--check-config | --list-elements | --inspect NAME]\n"
               "       estuary --version\n"
               "  Runs on built-in defaults with no arguments. ESTUARY_<SECTION>_<KEY> overrides any key.\n");
}

bool parse_args(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--config" || a == "-c") && i + 1 < argc)
      o->config_path = argv[++i];
    else if (a == "--pipelines" && i + 1 < argc)
      o->pipelines_dir = argv[++i];
    else if (a == "--check-config")
      o->check_only = true;
    else if (a == "--list-elements")
      o->list_elements = true;
    else if (a == "--inspect" && i + 1 < argc)
      o->inspect = argv[++i];
    else
      return false;
  }
  // A config file brings the pipelines.d beside it unless told otherwise.
  if (o->pipelines_dir.empty() && !o->config_path.empty()) {
    gchar* dir = g_path_get_dirname(o->config_path.c_str());
    gchar* candidate = g_build_filename(dir, "pipelines.d", nullptr);
    if (g_file_test(candidate, G_FILE_TEST_IS_DIR)) o->pipelines_dir = candidate;
    g_free(candidate);
    g_free(dir);
  }
  return true;
}

Result<config::Config> load_config(const Options& o) {
  auto cfg = config::load(o.config_path, o.pipelines_dir, config::current_environment());
  if (cfg) {
    LogLevel level;
    if (log_parse_level(cfg->server.log_level, &level)) log_set_level(level);
    LogFormat format;
    if (log_parse_format(cfg->server.log_format, &format)) log_set_format(format);
    std::string error;
    if (!log_set_file(cfg->server.log_file, &error)) return Error{"[server] log_file: " + error};
  }
  return cfg;
}

struct App {
  Options options;
  GMainLoop* loop = nullptr;
  server::ControlPlane* control = nullptr;
  server::PullSources* pull = nullptr;
  server::TlsContext* tls = nullptr;
};

// SIGHUP, POST /api/v1/reload, GET /api/v1/raw?rpc=reload: a bad file keeps the running configuration.
Status reload_config(App* app) {
  auto cfg = load_config(app->options);
  if (!cfg) {
    log_error("", "", "config-reload", "rejected, keeping the running configuration: " + cfg.error().message);
    return Error{cfg.error().message, ErrorReason::invalid, "config"};
  }
  app->tls->reload(cfg->tls);  // the files may have been renewed in place
  app->control->apply_config(std::move(cfg.value()));
  if (app->pull) app->pull->apply(app->control->config().sources);
  return ok_status();
}

// The config file's directory ("" without a file).
std::string config_dir(const Options& o) {
  if (o.config_path.empty()) return "";
  gchar* dir = g_path_get_dirname(o.config_path.c_str());
  std::string out = dir;
  g_free(dir);
  return out;
}

gboolean on_sighup(gpointer data) {
  reload_config(static_cast<App*>(data));
  return G_SOURCE_CONTINUE;
}

gboolean on_sigusr1(gpointer) {
  std::string error;
  if (!log_reopen(&error))
    log_error("", "", "log-reopen", error);
  else
    log_info("", "", "log-reopen", "log file reopened");
  return G_SOURCE_CONTINUE;
}

api::ApiOptions api_options(const config::Config& cfg) {
  api::ApiOptions o;
  o.auth = cfg.api.auth;
  o.username = cfg.api.username;
  o.password = cfg.api.password;
  o.token = cfg.api.token;
  return o;
}

bool is_loopback_address(const std::string& address) {
  return address == "localhost" || address == "::1" || address.rfind("127.", 0) == 0;
}

// --list-elements / --inspect NAME: what launch lines can use, users' plugins included.
int print_elements(const Options& o) {
  if (o.list_elements) {
    std::fputs(pipelines::list_elements_text().c_str(), stdout);
    return 0;
  }
  auto text = pipelines::inspect_element_text(o.inspect);
  if (!text) {
    std::fprintf(stderr, "estuary: %s\n", text.error().message.c_str());
    return 1;
  }
  std::fputs(text->c_str(), stdout);
  return 0;
}

gboolean on_quit(gpointer data) {
  log_info("", "", "shutdown", "signal received, stopping");
  g_main_loop_quit(static_cast<App*>(data)->loop);
  return G_SOURCE_CONTINUE;
}

}  // namespace

int main(int argc, char** argv) {
  install_crash_report();
  if (argc == 2 && (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "-V") == 0)) {
    print_version();
    return 0;
  }
  gst_init(&argc, &argv);
  pipelines::register_estuary_elements();
  server::install_encoder_placeholders();  // resolved at the first config load: launch lines may use @h264enc
  App app;
  if (!parse_args(argc, argv, &app.options)) {
    usage();
    return 2;
  }
  auto loaded = load_config(app.options);
  if (!loaded) {
    std::fprintf(stderr, "estuary: configuration error: %s\n", loaded.error().message.c_str());
    return 1;
  }
  if (app.options.list_elements || !app.options.inspect.empty())  // with [pipelines] plugins_dir loaded
    return print_elements(app.options);
  if (app.options.check_only) {
    std::fprintf(stderr, "estuary: configuration OK (%zu pipelines)\n", loaded->pipelines.size());
    return 0;
  }
  config::Config cfg = std::move(loaded.value());

  GMainContext* context = g_main_context_default();
  set_control_context(context);
  app.loop = g_main_loop_new(context, FALSE);

  server::register_flv_fanout_output();
  server::register_pipeline_output();
  server::register_ts_fanout_output();
  server::register_dvr_output();
  server::open_dvr_catalog(cfg);  // the recordings index, rebuilt from disk off the main loop
  server::register_forward_output();
  webrtc::register_rtc_feed_output();

  fanout::EngineConfig ec;
  ec.threads = cfg.fanout.threads;
  ec.write_batch_ms = cfg.fanout.write_batch_ms;
  auto engine = fanout::Engine::create(ec);

  api::ServerIdentity identity = api::make_server_identity("0.1.0");
  std::unique_ptr<server::ControlPlane> control = server::make_control_plane(cfg, *engine);
  control->set_vhost_id(identity.vhost_id);
  control->admission().set_server_identity(identity.server, identity.service);
  app.control = control.get();
  const server::ControlPorts ports = control->ports();
  server::register_transcode_output(*control, *control);  // publishes renditions as new streams

  server::TlsContext tls;
  if (Status st = tls.load(cfg.tls); !st) {
    std::fprintf(stderr, "estuary: %s\n", st.error().message.c_str());
    return 1;
  }
  app.tls = &tls;

  int rc = 0;
  {
    server::RtmpServer rtmp(ports, *engine);
    server::RtmpsServer rtmps(rtmp, tls, cfg.rtmp.handshake_timeout_ms);
    server::RtspServer rtsp(ports);
    server::register_rtsp_output(rtsp);  // the "rtsp" output kind mounts streams on it
    server::SrtServer srt(ports);
    server::HttpServer http;
    http.set_cors(cfg.http.cors);
    server::register_http_byte_stream(http, ports, *engine, {".flv", "flv", "video/x-flv", "flv-play"});
    server::register_http_byte_stream(http, ports, *engine, {".ts", "ts", "video/mp2t", "ts-play"});
    server::register_hls_output(http, *control, *control, ports.clients, ports.admission);
    server::register_abr_playlist(http, *control);
    api::ApiServer api_server(*control, identity, api_options(cfg));
    server::register_metrics(api_server, *control, *control);
    server::register_dvr_api(api_server, *control);
    server::register_recordings_api(api_server);
    server::DemandChain demand(*control);  // pulled sources first, then the cluster edge
    server::PullSources pull(ports, demand.add_port());
    app.pull = &pull;
    server::register_sources_api(api_server, pull);
    server::register_forwards_api(api_server);
    server::register_encoder_api(api_server, identity);
    server::register_reload_api(api_server, [&app]() { return reload_config(&app); });
    {
      const bool tls_on = tls.enabled();
      server::ListenPorts listening;
      listening.rtmp = cfg.rtmp.enabled ? cfg.rtmp.port : 0;
      listening.rtmps = cfg.rtmp.enabled && tls_on ? cfg.rtmp.rtmps_port : 0;
      listening.http = cfg.http.enabled ? cfg.http.port : 0;
      listening.https = cfg.http.enabled && tls_on ? cfg.http.https_port : 0;
      listening.api = cfg.api.enabled ? cfg.api.port : 0;
      listening.api_https = cfg.api.enabled && tls_on ? cfg.api.https_port : 0;
      listening.srt = cfg.srt.enabled ? cfg.srt.port : 0;
      listening.rtsp = cfg.rtsp.enabled ? cfg.rtsp.port : 0;
      server::register_listen_api(api_server, listening);
    }
    // [cluster]: registry, cluster API and metrics (nothing in standalone mode).
    std::unique_ptr<server::cluster::ClusterNode> cluster;
    if (cfg.cluster.mode != "standalone")
      cluster = std::make_unique<server::cluster::ClusterNode>(cfg, *control, *control, api_server);
    if (cluster && cfg.cluster.mode == "edge")
      cluster->start_edge(ports, demand.add_port(), uint64_t(cfg.bus.gop_cache_max_kb) * 1024);
    // WHIP/WHEP on the API port; declared after api_server so it is destroyed (and its handlers
    // removed) first.
    std::unique_ptr<webrtc::RtcService> rtc;
    if (cfg.rtc.enabled) rtc = std::make_unique<webrtc::RtcService>(ports, api_server, control.get());
    // Deadlines and caps of the TCP ports ([server] header_timeout_ms ...), read at each connection.
    auto per_ip = std::make_shared<server::PerIpConnections>();
    const server::ConnectionLimitsSource limits = [control = control.get()] {
      const config::ServerSection& s = control->config().server;
      return server::ConnectionLimits{s.header_timeout_ms, s.keepalive_timeout_ms, s.body_timeout_ms,
                                      uint64_t(s.max_body_kb) * 1024, s.max_connections_per_ip};
    };
    server::guard_http_server(http.soup_server(), "http", limits, per_ip);
    server::guard_http_server(api_server.soup_server(), "api", limits, per_ip);
    rtmp.set_connection_limits(limits, per_ip);
    rtsp.set_connection_limits(limits, per_ip);

    Status st = ok_status();
    if (st && cfg.rtmp.enabled) st = rtmp.listen(cfg.rtmp.address, cfg.rtmp.port);
    if (st && cfg.http.enabled) st = server::serve_static_pages(http, cfg.http.www_dir);
    if (st && cfg.http.enabled) st = http.listen(cfg.http.address, cfg.http.port);
    if (st && cfg.rtsp.enabled) st = rtsp.listen(cfg.rtsp.address, cfg.rtsp.port);
    if (st && cfg.srt.enabled) st = srt.listen();
    // TLS listeners exist only with a certificate ([tls] cert_file), so the defaults start without one.
    if (tls.enabled()) {
      tls.attach(http.soup_server());
      tls.attach(api_server.soup_server());
      if (st && cfg.rtmp.enabled && cfg.rtmp.rtmps_port) st = rtmps.listen(cfg.rtmp.address, cfg.rtmp.rtmps_port);
      if (st && cfg.http.enabled && cfg.http.https_port) st = http.listen(cfg.http.address, cfg.http.https_port, true);
      if (st && cfg.api.enabled && cfg.api.https_port)
        st = api_server.listen(cfg.api.address, cfg.api.https_port, true);
    }
    if (st && cfg.api.enabled) {
      st = api_server.listen(cfg.api.address, cfg.api.port);
      if (st && cfg.api.auth == "none" && !is_loopback_address(cfg.api.address))
        log_warn("", "", "api-auth",
                 "the HTTP API listens on " + cfg.api.address +
                     " without authentication; set [api] auth = basic or bearer, or listen on 127.0.0.1");
    }
    if (!st) {
      std::fprintf(stderr, "estuary: %s\n", st.error().message.c_str());
      rc = 1;
    } else {
      g_unix_signal_add(SIGHUP, on_sighup, &app);
      g_unix_signal_add(SIGUSR1, on_sigusr1, &app);
      g_unix_signal_add(SIGINT, on_quit, &app);
      g_unix_signal_add(SIGTERM, on_quit, &app);
      log_info("", "", "start",
               std::string("Estuary 0.1.0 running") +
                   (cfg.source_file.empty() ? " on built-in defaults" : " with " + cfg.source_file));
      pull.apply(cfg.sources);  // pulled sources start once every listener is up
      std::unique_ptr<config::ConfigWatch> watch;
      if (cfg.pipelines_section.watch) {
        auto started = config::ConfigWatch::start({app.options.pipelines_dir, config_dir(app.options)}, 500,
                                                  [&app]() { reload_config(&app); });
        if (started)
          watch = std::move(started.value());
        else
          log_error("", "", "config-watch", started.error().message);
      }
      g_main_loop_run(app.loop);
      app.pull = nullptr;
    }
  }
  engine.reset();
  g_main_loop_unref(app.loop);
  return rc;
}
