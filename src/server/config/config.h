// Owns: the server configuration model, its built-in defaults, and loading + validation of the
// server config file (GLib key file), environment overrides (ESTUARY_<SECTION>_<KEY>) and the
// pipeline descriptions in pipelines.d/*.conf. Every error names file, line and problem.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/names.h"
#include "common/result.h"
#include "server/config/sources_config.h"

namespace estuary::config {

struct ServerSection {
  std::string log_level = "info";   // debug | info | warn | error
  std::string log_format = "text";  // text | json (one object per line)
  std::string log_file;             // "" = stderr; reopened on SIGUSR1
  int max_connections = 0;          // all protocols together; 0 = unlimited
  // Deadlines and caps of every TCP port that speaks HTTP or RTSP (8080, 1985, their HTTPS twins,
  // 8554); RTMP has its own handshake_timeout_ms.
  int header_timeout_ms = 10000;     // a connection's first request head must be complete by then
  int keepalive_timeout_ms = 15000;  // between requests on a kept-alive connection
  int body_timeout_ms = 10000;       // a request body must arrive whole by then
  int max_body_kb = 1024;            // largest request body accepted (413 beyond)
  int max_connections_per_ip = 0;    // open HTTP/API/RTSP/RTMP connections from one address; 0 = unlimited
  bool operator==(const ServerSection&) const = default;
};

struct RtmpSection {
  bool enabled = true;
  std::string address = "0.0.0.0";
  int port = 1935;
  int chunk_size = 60000;           // outgoing chunk size, 128..65536
  int publish_timeout_ms = 5000;    // a publisher that sends nothing this long is dropped
  int takeover_idle_ms = 1000;      // a new publisher replaces a live one silent for this long
  int handshake_timeout_ms = 5000;  // connection that does not finish handshake+publish/play in time is closed
  int max_message_kb = 8192;        // largest RTMP message accepted
  int rtmps_port = 1443;            // RTMP over TLS; listens only when [tls] cert_file is set (0 = off)
  bool operator==(const RtmpSection&) const = default;
};

struct HttpSection {
  bool enabled = true;
  std::string address = "0.0.0.0";
  int port = 8080;
  bool cors = true;
  int https_port = 8088;  // HTTPS-FLV/TS/HLS; listens only when [tls] cert_file is set (0 = off)
  std::string www_dir;    // static pages (players); "" = the built-in ones (source tree or installed)
  bool operator==(const HttpSection&) const = default;
};

struct ApiSection {
  bool enabled = true;
  std::string address = "0.0.0.0";
  int port = 1985;
  std::string auth = "none";  // none | basic | bearer
  std::string username;       // basic
  std::string password;       // basic
  std::string token;          // bearer
  int https_port = 1990;      // HTTPS API; listens only when [tls] cert_file is set (0 = off)
  bool operator==(const ApiSection&) const = default;
};

struct RtspSection {
  bool enabled = true;
  std::string address = "0.0.0.0";
  int port = 8554;
  bool operator==(const RtspSection&) const = default;
};

struct FanoutSection {
  int threads = 0;            // 0 = one per core
  int write_batch_ms = 20;    // longest wait of a video frame for the next ones to share its write; 0 = at once
  int max_backlog_kb = 4096;  // slow viewer skips to next keyframe above this
  int max_behind_ms = 5000;   // slow viewer is dropped after this long behind
  bool operator==(const FanoutSection&) const = default;
};

struct BusSection {
  int gop_cache_max_kb = 32768;    // largest GOP kept for late joiners
  int subscriber_queue_ms = 3000;  // per-subscriber queue bound before drop-to-keyframe
  bool operator==(const BusSection&) const = default;
};

struct OutputsSection {
  int linger_ms = 3000;          // on-demand outputs stay up this long after the last viewer
  int restart_backoff_ms = 500;  // first restart delay of a failed output (doubles, capped)
  int restart_backoff_max_ms = 10000;
  bool operator==(const OutputsSection&) const = default;
};

// [play]: a viewer of a stream that is not live yet waits for it (every play protocol), bounded.
struct PlaySection {
  int wait_ms = 10000;                // longest wait for the stream before not-found (0 = refuse at once)
  int max_waiters_per_stream = 1000;  // more waiting viewers of one stream are refused at once
  int max_waiters = 10000;            // more waiting viewers in all are refused at once
  bool operator==(const PlaySection&) const = default;
};

// [hooks] (defaults) and [hooks:APP] (per app, over the defaults): SRS HTTP callbacks. URL lists
// are space-separated; every URL of an event must accept.
struct HooksSection {
  std::string on_publish, on_unpublish, on_play, on_stop, on_dvr, on_hls;
  int timeout_ms = 5000;
  int max_in_flight = 256;  // requests beyond this are refused at once (publish/play) or dropped
  bool operator==(const HooksSection&) const = default;
};

// [security] (defaults) and [security:APP]: IP rules ("all", IPs, CIDRs; space-separated). Deny
// wins; a non-empty allow list admits only the addresses it names.
struct SecuritySection {
  std::string allow_publish, deny_publish, allow_play, deny_play;
  int max_viewers_per_stream = 0;  // 0 = unlimited
  bool operator==(const SecuritySection&) const = default;
};

// [hls]: HLS for every live stream (MPEG-TS segments cut at keyframes).
struct HlsSection {
  bool enabled = true;
  int target_duration_s = 2;  // segments end at the first keyframe after this
  int playlist_length = 5;    // segments in the playlist window
  int dispose_s = 30;         // playlist and segments kept this long after the publisher leaves
  std::string directory;      // "" = serve from memory only; else also write <directory>/<app>/
  std::string disabled_apps;  // space-separated apps without HLS
  // ts: MPEG-TS from hlssink2; fmp4: CMAF segments; lowlatency: CMAF with LL-HLS parts (and DASH).
  std::string variant = "lowlatency";
  int part_target_ms = 200;   // LL-HLS part length (whole frames, at most this)
  int part_hold_back_ms = 0;  // LL-HLS PART-HOLD-BACK (0 = 3 parts; at least 2 parts)
  // false: the HLS/CMAF output of a stream starts on its first HLS request and stops linger_s after
  // the last one; true: it runs from publish on (forced by an on_hls hook or a directory, see
  // Config::hls_always).
  bool always = false;
  int linger_s = 30;
  // LL-HLS keep-alive connections of admitted viewers are served by Estuary itself (playlists and
  // parts, blocking reload) instead of libsoup: a fraction of the CPU per request.
  bool fast_path = true;
  bool operator==(const HlsSection&) const = default;
};

// [dvr]: recording streams to files.
struct DvrSection {
  bool enabled = false;                                   // record matching streams from publish on
  std::string match = "*";                                // space-separated globs on app/stream
  std::string format = "flv";                             // flv | ts | mp4
  std::string plan = "session";                           // session (one file per publish) | segment
  int segment_s = 30;                                     // plan=segment: new file at the first keyframe after this
  std::string path = "./dvr/[app]/[stream].[timestamp]";  // template; the format's extension is added
  int max_age_s = 0;                                      // retention per app: delete older files (0 = keep)
  int max_mb = 0;                                         // retention per app: keep the total under this (0 = no limit)
  bool operator==(const DvrSection&) const = default;
};

// [tls]: one certificate for HTTPS (API and HTTP server) and RTMPS. Checked at load: readable,
// key matching the certificate, no weak key or SHA-1 signature. Reloaded on SIGHUP.
struct TlsSection {
  std::string cert_file;  // PEM certificate (chain); "" = no TLS listeners
  std::string key_file;   // PEM private key; "" = read from cert_file
  bool operator==(const TlsSection&) const = default;
};

// [rtc]: WebRTC on the API port: WHIP publishers (POST /rtc/v1/whip/) and WHEP viewers (POST
// /rtc/v1/whep/). On the shared engine every session uses the one `port`; webrtcbin sessions bind a libnice
// port each from [port_min, port_max].
struct RtcSection {
  bool enabled = true;
  // WHEP viewers: "shared" = one UDP socket on `port` for every viewer, RTP payloaded once per stream
  // (engine/, the default); "webrtcbin" = a webrtcbin pipeline and libnice port per viewer.
  std::string engine = "shared";
  // WHIP publishers: "shared" = through the engine (when `engine` is shared), an ingest pipeline fed with
  // their decrypted RTP; "webrtcbin" = a webrtcbin pipeline and a libnice port from port_min..port_max.
  std::string whip_engine = "shared";
  int port = 8000;         // the shared engine's one UDP port
  int tcp_port = 0;        // the shared engine's ICE-TCP port (RFC 6544 passive, RFC 4571 framing; 0 = none)
  bool gso = false;        // the shared engine sends a viewer's equal-size datagrams as one UDP GSO message
  bool twcc = true;        // the shared engine sends WHIP publishers transport-cc feedback
  std::string candidate;   // address added to answers (IP or host name; "$VAR" = from the environment)
  std::string interfaces;  // space-separated local IPs to gather candidates on ("" = every interface)
  int port_min = 8000;     // UDP (and ICE-TCP) ports of sessions
  int port_max = 8999;
  bool ice_tcp = false;            // also offer ICE-TCP candidates (passive)
  int gather_timeout_ms = 2000;    // the answer waits this long at most for candidate gathering
  int session_timeout_ms = 10000;  // a session not connected (ICE + DTLS) by then is closed
  int pli_interval_ms = 2000;      // WHIP: ask the publisher for a keyframe this often (0 = only on start)
  int opus_bitrate = 64000;        // WHEP: AAC is transcoded to Opus once per stream at this bit rate
  bool operator==(const RtcSection&) const = default;
};

// [srt] (and [srt:APP] for passphrase and pbkeylen): SRT publishers and players on one UDP port,
// routed by stream id (#!::r=app/stream,m=publish|request).
struct SrtSection {
  bool enabled = true;
  std::string address = "0.0.0.0";
  int port = 10080;
  int latency_ms = 120;                  // TSBPD latency: the window in which lost packets are recovered
  std::string passphrase;                // "" = no encryption; else 10..79 characters
  int pbkeylen = 16;                     // AES key length in bytes: 16, 24 or 32
  int max_bw = -1;                       // bytes/s per connection; -1 = unlimited, 0 = relative to input rate
  int peer_idle_timeout_ms = 5000;       // a peer silent this long is disconnected
  int max_bitrate_kbps = 20000;          // per-connection buffers hold latency + 1 s of this much
  std::string default_mode = "request";  // mode of a bare "app/stream" stream id: publish | request
  bool operator==(const SrtSection&) const = default;
};

// [pipelines]: users' own GStreamer plugins, loaded before pipelines.d is validated.
struct PipelinesSection {
  std::string plugins_dir;  // directories (space- or ':'-separated) whose *.so plugins are loaded
  bool watch = false;       // reload when the config file's directory or pipelines.d changes
  bool operator==(const PipelinesSection&) const = default;
};

// [encoders]: how @h264enc/@h265enc/@h264dec/@h265dec resolve (once, at start).
struct EncodersSection {
  std::string prefer;   // factory names tried first, space-separated, in order
  std::string exclude;  // factory names never chosen, space-separated
  std::string device;   // "" = default; a CUDA device index; or /dev/dri/renderD<N>
  bool operator==(const EncodersSection&) const = default;
};

enum class Trigger { on_publish, on_demand, always };
const char* trigger_name(Trigger t);

// Launch-line variables chosen per stream from its codecs (the defaults are H.264 + AAC, which is
// also what a pipeline is validated with).
struct CodecVars {
  std::string video_parser = "h264parse";  // {video_parser}: h264parse | h265parse | av1parse | vp9parse
  std::string audio_parser = "aacparse";   // {audio_parser}: aacparse | mpegaudioparse | opusparse
  std::string flv_audio = "aacparse";      // {flv_audio}: a chain ending in parsed AAC (what flvmux takes)
  int audio_tracks = 1;                    // the stream's audio tracks: audio_extra is added audio_tracks - 1 times
  int audio_track = 0;                     // {audio_track}: the one a single-audio output carries (?audio=N)
};

// One [pipeline NAME] group from a pipelines.d/*.conf file.
struct PipelineSpec {
  std::string name;                // group suffix, unique across pipelines.d
  std::string file;                // source file path
  int line = 0;                    // line of the group header
  std::vector<std::string> match;  // glob patterns on "app/stream" (e.g. "live/*"); empty = all
  Trigger trigger = Trigger::on_publish;
  std::string output;  // "" = custom pipeline; "flv" = built-in FLV fan-out source
  std::string launch;  // GStreamer launch syntax with {app} {stream} {name} variables
  // Optional per-track branches appended to launch only when the stream has that track (a muxer
  // waits forever for a branch whose bus pad never appears).
  std::string video;
  std::string audio;
  // Optional branch for each audio track after the first (audio_1, audio_2, ...), with {track} its
  // number: e.g. "src.audio_{track} ! queue ! {audio_parser} ! mux.". Without it an output takes the
  // first audio track only.
  std::string audio_extra;
  bool matches(const std::string& app_stream) const;
  // Launch line with variables substituted verbatim (no quoting): callers must pass only app and
  // stream names accepted by is_valid_name_component, or a client could inject launch syntax.
  // Includes both track branches (as validated).
  std::string expand(const std::string& app, const std::string& stream) const;
  // Launch line for a stream with the given tracks.
  // {video_parser}, {audio_parser} and {flv_audio} come from codecs (see CodecVars).
  std::string expand_for_tracks(const std::string& app, const std::string& stream, bool has_video, bool has_audio,
                                const CodecVars& codecs = {}) const;
  bool operator==(const PipelineSpec&) const = default;
};

// True for a safe app or stream name (common/names.h).
using estuary::is_valid_name_component;

// [cluster]: origin/edge roles (issue #14). standalone changes nothing.
struct ClusterSection {
  std::string mode = "standalone";  // standalone | origin | edge
  std::string node_id;              // "" = host name + ":" + RTMP port
  std::string advertise;            // URL bases other nodes use: rtmp://host:port http://host:api_port
  std::string origins;              // static origin list (rtmp:// URL bases), tried in order
  std::string registry;             // redis://host:port/db ("" = none)
  std::string pull_protocol = "rtmp";
  int linger_ms = 3000;          // an edge pull stops this long after its last viewer
  int heartbeat_ms = 1000;       // registry refresh period
  int ttl_ms = 5000;             // registry entries expire this long after the last refresh
  int lookup_timeout_ms = 2000;  // a registry answer slower than this counts as not found
  int max_hops = 4;              // edge-of-edge depth; deeper pulls are refused (loops)
  int failover_ms = 10000;       // an edge keeps viewers this long after its upstream broke
  bool operator==(const ClusterSection&) const = default;
};

struct Config {
  ServerSection server;
  RtmpSection rtmp;
  HttpSection http;
  ApiSection api;
  RtspSection rtsp;
  FanoutSection fanout;
  BusSection bus;
  OutputsSection outputs;
  PlaySection play;
  HooksSection hooks;
  SecuritySection security;
  HlsSection hls;
  DvrSection dvr;
  RtcSection rtc;
  TlsSection tls;
  SrtSection srt;
  PipelinesSection pipelines_section;  // [pipelines]
  EncodersSection encoders;
  ClusterSection cluster;
  // Per-app groups ([hooks:live], [security:live]): the defaults with the group's keys applied.
  std::map<std::string, HooksSection> app_hooks;
  std::map<std::string, SecuritySection> app_security;
  const HooksSection& hooks_for(const std::string& app) const;
  // Whether app's HLS/CMAF output runs from publish on: [hls] always, or needed by something that
  // must see every segment (an on_hls hook for the app, segments written to [hls] directory).
  bool hls_always(const std::string& app) const;
  const SecuritySection& security_for(const std::string& app) const;
  // [srt:live]: the [srt] section with the group's passphrase/pbkeylen applied.
  std::map<std::string, SrtSection> app_srt;
  const SrtSection& srt_for(const std::string& app) const;
  // [dvr:live]: the [dvr] section with the group's retention (max_age_s, max_mb) applied.
  std::map<std::string, DvrSection> app_dvr;
  std::string pipelines_dir;  // directory the pipelines were read from ("" = none)
  std::vector<PipelineSpec> pipelines;
  std::vector<SourceSpec> sources;    // [source NAME] groups: pulled sources
  std::vector<ForwardSpec> forwards;  // [forward NAME] groups: restream destinations
  std::string source_file;            // "" when running on built-in defaults
  // First pipeline whose output is `output` and which matches app/stream, or nullptr.
  const PipelineSpec* find_output(const std::string& output, const std::string& app_stream) const;
  bool operator==(const Config&) const = default;
};

using Environment = std::map<std::string, std::string>;
Environment current_environment();

// Called by load() once the sections and users' plugins are in, before pipelines.d is validated:
// the composition root resolves the hardware placeholders from [encoders] here (their expansion is
// the launch preprocessor, pipelines_dir.h). An error refuses the configuration. Empty: none.
using SectionsHook = std::function<Status(const Config&)>;
void set_sections_hook(SectionsHook fn);

// Loads the server config. config_path may be "" (built-in defaults only). pipelines_dir may be
// "" (no pipelines). env supplies ESTUARY_* overrides. Launch lines are parsed with GStreamer
// (so the caller must have called gst_init and registered Estuary's own elements) and discarded.
Result<Config> load(const std::string& config_path, const std::string& pipelines_dir, const Environment& env);

}  // namespace estuary::config
