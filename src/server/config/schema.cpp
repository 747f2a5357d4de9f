// Owns: the table of known config keys (types, ranges, one-line help) and value parsing.
// Adding a key: add the member to config.h, a row here, and a documented line in
// conf/estuary.conf (a unit test checks that the shipped file names every key).
#include "server/config/schema.h"

#include <glib.h>

#include <charconv>
#include <string>

#include "server/config/ip_rules.h"

namespace estuary::config {
namespace {

constexpr int kHour = 3600 * 1000;  // ms
constexpr int kGiB = 1024 * 1024;   // in KB

const char* const kSections[] = {"server",  "rtmp", "http",      "api",      "rtsp",   "fanout", "bus",
                                 "outputs", "play", "hooks",     "security", "hls",    "dvr",    "tls",
                                 "rtc",     "srt",  "pipelines", "encoders", "cluster"};
const char* const kClusterModes[] = {"standalone", "origin", "edge"};
const char* const kPullProtocols[] = {"rtmp", "srt"};
const char* const kLogLevels[] = {"debug", "info", "warn", "error"};
const char* const kLogFormats[] = {"text", "json"};
const char* const kApiAuth[] = {"none", "basic", "bearer"};
const char* const kDvrFormats[] = {"flv", "ts", "mp4"};
const char* const kDvrPlans[] = {"session", "segment"};
const char* const kSrtModes[] = {"publish", "request"};
const char* const kRtcEngines[] = {"shared", "webrtcbin"};
const char* const kHlsVariants[] = {"ts", "fmp4", "lowlatency"};

KeySpec boolean_key(const char* section, const char* key, bool* (*field)(Config&), const char* help) {
  KeySpec s{section, key, ValueType::boolean, 0, 0, {}, help};
  s.bool_field = field;
  return s;
}

KeySpec int_key(const char* section, const char* key, int min, int max, int* (*field)(Config&), const char* help) {
  KeySpec s{section, key, ValueType::integer, min, max, {}, help};
  s.int_field = field;
  return s;
}

KeySpec choice_key(const char* section, const char* key, std::span<const char* const> choices,
                   std::string* (*field)(Config&), const char* help) {
  KeySpec s{section, key, ValueType::choice, 0, 0, choices, help};
  s.string_field = field;
  return s;
}

KeySpec address_key(const char* section, const char* key, std::string* (*field)(Config&), const char* help) {
  KeySpec s{section, key, ValueType::ip_address, 0, 0, {}, help};
  s.string_field = field;
  return s;
}

KeySpec string_key(const char* section, const char* key, ValueType type, std::string* (*field)(Config&),
                   const char* help) {
  KeySpec s{section, key, type, 0, 0, {}, help};
  s.string_field = field;
  return s;
}

// Ranges: ports are real TCP ports; timeouts are positive and at most an hour (so ms arithmetic
// never overflows an int); sizes are bounded by what the protocol or memory can sensibly hold.
const KeySpec kKeys[] = {
    choice_key(
        "server", "log_level", kLogLevels, [](Config& c) { return &c.server.log_level; },
        "least severe event written to the log: debug, info, warn or error"),
    choice_key(
        "server", "log_format", kLogFormats, [](Config& c) { return &c.server.log_format; },
        "log line format: text (human) or json (one object per line)"),
    string_key(
        "server", "log_file", ValueType::text, [](Config& c) { return &c.server.log_file; },
        "append the log to this file instead of stderr; reopened on SIGUSR1 (for logrotate)"),
    int_key(
        "server", "max_connections", 0, 10000000, [](Config& c) { return &c.server.max_connections; },
        "most clients of all protocols at once; more are refused (0 = unlimited)"),
    int_key(
        "server", "header_timeout_ms", 100, kHour, [](Config& c) { return &c.server.header_timeout_ms; },
        "an HTTP, API or RTSP connection whose first request head is not complete in this time is closed"),
    int_key(
        "server", "keepalive_timeout_ms", 100, kHour, [](Config& c) { return &c.server.keepalive_timeout_ms; },
        "a kept-alive HTTP or API connection that starts no new request in this time is closed"),
    int_key(
        "server", "body_timeout_ms", 100, kHour, [](Config& c) { return &c.server.body_timeout_ms; },
        "an HTTP or API request body that has not arrived whole in this time closes its connection"),
    int_key(
        "server", "max_body_kb", 1, 1024 * 1024, [](Config& c) { return &c.server.max_body_kb; },
        "largest HTTP or API request body accepted, in KiB (413 and close beyond)"),
    int_key(
        "server", "max_connections_per_ip", 0, 10000000, [](Config& c) { return &c.server.max_connections_per_ip; },
        "most open HTTP, API, RTSP and RTMP connections from one address; more are refused (0 = unlimited)"),

    boolean_key(
        "rtmp", "enabled", [](Config& c) { return &c.rtmp.enabled; }, "accept RTMP publishers and players"),
    address_key(
        "rtmp", "address", [](Config& c) { return &c.rtmp.address; }, "IP address to listen on"),
    int_key(
        "rtmp", "port", 1, 65535, [](Config& c) { return &c.rtmp.port; }, "TCP port to listen on"),
    int_key(
        "rtmp", "rtmps_port", 0, 65535, [](Config& c) { return &c.rtmp.rtmps_port; },
        "TCP port for RTMPS (RTMP over TLS); listens only when [tls] cert_file is set (0 = off)"),
    int_key(
        "rtmp", "chunk_size", 128, 65536, [](Config& c) { return &c.rtmp.chunk_size; },
        "outgoing chunk size in bytes (128..65536)"),
    int_key(
        "rtmp", "publish_timeout_ms", 1, kHour, [](Config& c) { return &c.rtmp.publish_timeout_ms; },
        "a publisher that sends nothing for this long is dropped"),
    int_key(
        "rtmp", "takeover_idle_ms", 0, kHour, [](Config& c) { return &c.rtmp.takeover_idle_ms; },
        "a new publisher replaces a live one that has been silent this long (0 = always)"),
    int_key(
        "rtmp", "handshake_timeout_ms", 1, kHour, [](Config& c) { return &c.rtmp.handshake_timeout_ms; },
        "a connection that has not finished handshake and publish/play in this time is closed"),
    // RTMP message lengths are 24-bit: 16 MiB is the protocol's own limit.
    int_key(
        "rtmp", "max_message_kb", 1, 16384, [](Config& c) { return &c.rtmp.max_message_kb; },
        "largest RTMP message accepted, in KiB (1..16384)"),

    boolean_key(
        "http", "enabled", [](Config& c) { return &c.http.enabled; }, "serve HTTP-FLV, HTTP-TS and HLS viewers"),
    address_key(
        "http", "address", [](Config& c) { return &c.http.address; }, "IP address to listen on"),
    int_key(
        "http", "port", 1, 65535, [](Config& c) { return &c.http.port; }, "TCP port to listen on"),
    int_key(
        "http", "https_port", 0, 65535, [](Config& c) { return &c.http.https_port; },
        "TCP port for HTTPS (FLV, TS, HLS); listens only when [tls] cert_file is set (0 = off)"),
    boolean_key(
        "http", "cors", [](Config& c) { return &c.http.cors; },
        "send Access-Control-Allow-Origin: * so browser players on other origins work"),
    string_key(
        "http", "www_dir", ValueType::directory, [](Config& c) { return &c.http.www_dir; },
        "serve this directory's files as static pages (/players/whep.html, ...); empty = the built-in pages"),

    boolean_key(
        "api", "enabled", [](Config& c) { return &c.api.enabled; }, "serve the HTTP API, WHIP/WHEP and /metrics"),
    address_key(
        "api", "address", [](Config& c) { return &c.api.address; }, "IP address to listen on"),
    int_key(
        "api", "port", 1, 65535, [](Config& c) { return &c.api.port; }, "TCP port to listen on"),
    int_key(
        "api", "https_port", 0, 65535, [](Config& c) { return &c.api.https_port; },
        "TCP port for the HTTPS API; listens only when [tls] cert_file is set (0 = off)"),
    choice_key(
        "api", "auth", kApiAuth, [](Config& c) { return &c.api.auth; },
        "API authentication: none, basic (username/password) or bearer (token)"),
    string_key(
        "api", "username", ValueType::text, [](Config& c) { return &c.api.username; }, "user name for auth=basic"),
    string_key(
        "api", "password", ValueType::text, [](Config& c) { return &c.api.password; }, "password for auth=basic"),
    string_key(
        "api", "token", ValueType::text, [](Config& c) { return &c.api.token; }, "token for auth=bearer"),

    boolean_key(
        "rtsp", "enabled", [](Config& c) { return &c.rtsp.enabled; },
        "serve every live stream over RTSP as rtsp://host:port/app/stream (UDP and TCP transports)"),
    address_key(
        "rtsp", "address", [](Config& c) { return &c.rtsp.address; }, "IP address to listen on"),
    int_key(
        "rtsp", "port", 1, 65535, [](Config& c) { return &c.rtsp.port; }, "TCP port to listen on"),

    int_key(
        "fanout", "threads", 0, 1024, [](Config& c) { return &c.fanout.threads; },
        "fan-out writer threads (0 = one per core)"),
    int_key(
        "fanout", "write_batch_ms", 0, 1000, [](Config& c) { return &c.fanout.write_batch_ms; },
        "a video frame waits at most this long to share one write per viewer with the next frames (0 = write "
        "every packet)"),
    int_key(
        "fanout", "max_backlog_kb", 1, kGiB, [](Config& c) { return &c.fanout.max_backlog_kb; },
        "a viewer with more than this many KiB unsent skips to the next keyframe"),
    int_key(
        "fanout", "max_behind_ms", 1, kHour, [](Config& c) { return &c.fanout.max_behind_ms; },
        "a viewer this far behind is disconnected"),

    int_key(
        "bus", "gop_cache_max_kb", 1, kGiB, [](Config& c) { return &c.bus.gop_cache_max_kb; },
        "largest GOP kept for late joiners, in KiB"),
    int_key(
        "bus", "subscriber_queue_ms", 1, kHour, [](Config& c) { return &c.bus.subscriber_queue_ms; },
        "per-subscriber queue bound; above it the subscriber drops to the next keyframe"),

    int_key(
        "outputs", "linger_ms", 0, kHour, [](Config& c) { return &c.outputs.linger_ms; },
        "on-demand outputs stay up this long after their last viewer leaves"),
    int_key(
        "outputs", "restart_backoff_ms", 1, kHour, [](Config& c) { return &c.outputs.restart_backoff_ms; },
        "first restart delay of a failed output (doubles on each failure)"),
    int_key(
        "outputs", "restart_backoff_max_ms", 1, kHour, [](Config& c) { return &c.outputs.restart_backoff_max_ms; },
        "restart delay cap (not below restart_backoff_ms)"),

    int_key(
        "play", "wait_ms", 0, kHour, [](Config& c) { return &c.play.wait_ms; },
        "a viewer of a stream that is not live yet waits this long for it, then gets not-found (0 = no wait)"),
    int_key(
        "play", "max_waiters_per_stream", 0, 1000000, [](Config& c) { return &c.play.max_waiters_per_stream; },
        "most viewers waiting for one stream; more are refused at once"),
    int_key(
        "play", "max_waiters", 0, 10000000, [](Config& c) { return &c.play.max_waiters; },
        "most viewers waiting for streams in all; more are refused at once"),

    string_key(
        "hooks", "on_publish", ValueType::url_list, [](Config& c) { return &c.hooks.on_publish; },
        "URLs asked before a publish starts; all must answer 200/201 with 0 or {\"code\":0}"),
    string_key(
        "hooks", "on_unpublish", ValueType::url_list, [](Config& c) { return &c.hooks.on_unpublish; },
        "URLs told when a publisher leaves (answer ignored)"),
    string_key(
        "hooks", "on_play", ValueType::url_list, [](Config& c) { return &c.hooks.on_play; },
        "URLs asked before a viewer starts; all must accept"),
    string_key(
        "hooks", "on_stop", ValueType::url_list, [](Config& c) { return &c.hooks.on_stop; },
        "URLs told when a viewer leaves (answer ignored)"),
    string_key(
        "hooks", "on_dvr", ValueType::url_list, [](Config& c) { return &c.hooks.on_dvr; },
        "URLs told when a DVR file is finished (answer ignored)"),
    string_key(
        "hooks", "on_hls", ValueType::url_list, [](Config& c) { return &c.hooks.on_hls; },
        "URLs told of each new HLS segment (answer ignored)"),
    int_key(
        "hooks", "timeout_ms", 1, kHour, [](Config& c) { return &c.hooks.timeout_ms; },
        "a hook that has not answered in this time refuses"),
    int_key(
        "hooks", "max_in_flight", 1, 100000, [](Config& c) { return &c.hooks.max_in_flight; },
        "hook requests at once; beyond it publish/play is refused and notifications are dropped"),

    string_key(
        "security", "allow_publish", ValueType::ip_rules, [](Config& c) { return &c.security.allow_publish; },
        "if set, only these IPs/CIDRs (or all) may publish"),
    string_key(
        "security", "deny_publish", ValueType::ip_rules, [](Config& c) { return &c.security.deny_publish; },
        "these IPs/CIDRs (or all) may not publish; deny wins over allow"),
    string_key(
        "security", "allow_play", ValueType::ip_rules, [](Config& c) { return &c.security.allow_play; },
        "if set, only these IPs/CIDRs (or all) may play"),
    string_key(
        "security", "deny_play", ValueType::ip_rules, [](Config& c) { return &c.security.deny_play; },
        "these IPs/CIDRs (or all) may not play; deny wins over allow"),
    int_key(
        "security", "max_viewers_per_stream", 0, 10000000, [](Config& c) { return &c.security.max_viewers_per_stream; },
        "most viewers of one stream (all protocols); more are refused (0 = unlimited)"),

    boolean_key(
        "hls", "enabled", [](Config& c) { return &c.hls.enabled; }, "serve /app/stream.m3u8 for every live stream"),
    int_key(
        "hls", "target_duration_s", 1, 60, [](Config& c) { return &c.hls.target_duration_s; },
        "segments end at the first keyframe after this many seconds"),
    int_key(
        "hls", "playlist_length", 1, 100, [](Config& c) { return &c.hls.playlist_length; },
        "segments in the playlist window"),
    int_key(
        "hls", "dispose_s", 0, 86400, [](Config& c) { return &c.hls.dispose_s; },
        "playlist and segments are kept this long after the publisher leaves"),
    string_key(
        "hls", "directory", ValueType::text, [](Config& c) { return &c.hls.directory; },
        "also write playlists and segments under this directory (empty = memory only)"),
    string_key(
        "hls", "disabled_apps", ValueType::text, [](Config& c) { return &c.hls.disabled_apps; },
        "space-separated apps that get no HLS"),
    choice_key(
        "hls", "variant", kHlsVariants, [](Config& c) { return &c.hls.variant; },
        "ts (MPEG-TS segments), fmp4 (CMAF segments) or lowlatency (CMAF with LL-HLS parts)"),
    int_key(
        "hls", "part_target_ms", 50, 2000, [](Config& c) { return &c.hls.part_target_ms; },
        "LL-HLS part length in milliseconds (whole frames, at most this)"),
    int_key(
        "hls", "part_hold_back_ms", 0, 10000, [](Config& c) { return &c.hls.part_hold_back_ms; },
        "LL-HLS PART-HOLD-BACK in milliseconds: how far behind the live edge players start (0 = three parts; at "
        "least two parts)"),
    boolean_key(
        "hls", "always", [](Config& c) { return &c.hls.always; },
        "run HLS from publish on (false: start on the first HLS request, stop after linger_s)"),
    int_key(
        "hls", "linger_s", 1, 86400, [](Config& c) { return &c.hls.linger_s; },
        "always = false: stop a stream's HLS output this long after its last HLS request"),
    boolean_key(
        "hls", "fast_path", [](Config& c) { return &c.hls.fast_path; },
        "serve LL-HLS playlists and parts on kept-alive plain HTTP connections without libsoup"),

    boolean_key(
        "dvr", "enabled", [](Config& c) { return &c.dvr.enabled; }, "record streams matching match from publish on"),
    string_key(
        "dvr", "match", ValueType::text, [](Config& c) { return &c.dvr.match; },
        "space-separated glob patterns on app/stream"),
    choice_key(
        "dvr", "format", kDvrFormats, [](Config& c) { return &c.dvr.format; }, "file format: flv, ts or mp4"),
    choice_key(
        "dvr", "plan", kDvrPlans, [](Config& c) { return &c.dvr.plan; },
        "session (one file per publish) or segment (a new file every segment_s)"),
    int_key(
        "dvr", "segment_s", 1, 86400, [](Config& c) { return &c.dvr.segment_s; },
        "plan=segment: a new file starts at the first keyframe after this many seconds"),
    string_key(
        "dvr", "path", ValueType::text, [](Config& c) { return &c.dvr.path; },
        "file path template: [app] [stream] [timestamp] [2006] [01] [02] [15] [04] [05]"),
    int_key(
        "dvr", "max_age_s", 0, 10 * 365 * 86400, [](Config& c) { return &c.dvr.max_age_s; },
        "retention, each app separately: delete recordings older than this (0 = keep them)"),
    int_key(
        "dvr", "max_mb", 0, 1 << 30, [](Config& c) { return &c.dvr.max_mb; },
        "retention, each app separately: delete the oldest recordings to stay under this many MiB (0 = no limit)"),

    string_key(
        "tls", "cert_file", ValueType::text, [](Config& c) { return &c.tls.cert_file; },
        "PEM certificate (chain) for HTTPS and RTMPS; empty = no TLS listeners"),
    string_key(
        "tls", "key_file", ValueType::text, [](Config& c) { return &c.tls.key_file; },
        "PEM private key of cert_file; empty = the key is in cert_file"),

    boolean_key(
        "rtc", "enabled", [](Config& c) { return &c.rtc.enabled; },
        "serve WebRTC WHIP (publish) and WHEP (play) on the API port"),
    choice_key(
        "rtc", "engine", kRtcEngines, [](Config& c) { return &c.rtc.engine; },
        "WHEP viewers: shared (one UDP port, RTP payloaded once per stream) or webrtcbin (a pipeline per viewer)"),
    choice_key(
        "rtc", "whip_engine", kRtcEngines, [](Config& c) { return &c.rtc.whip_engine; },
        "WHIP publishers: shared (through the engine on the one UDP port, when engine = shared) or webrtcbin "
        "(a pipeline and libnice port per publisher)"),
    int_key(
        "rtc", "port", 0, 65535, [](Config& c) { return &c.rtc.port; },
        "the one UDP port of the shared engine (every WHEP viewer; 0 = none: ICE-TCP on tcp_port only)"),
    int_key(
        "rtc", "tcp_port", 0, 65535, [](Config& c) { return &c.rtc.tcp_port; },
        "the one TCP port of the shared engine for ICE-TCP (viewers whose UDP is blocked; 0 = none)"),
    boolean_key(
        "rtc", "gso", [](Config& c) { return &c.rtc.gso; },
        "shared engine: send a viewer's consecutive equal-size datagrams as one UDP GSO message (UDP_SEGMENT, Linux "
        ">= 4.18; turned off by itself if the kernel refuses)"),
    boolean_key(
        "rtc", "twcc", [](Config& c) { return &c.rtc.twcc; },
        "shared engine: answer a WHIP publisher's transport-wide congestion control (extmap + transport-cc) and send "
        "it transport-cc feedback every 50 ms, so its encoder can raise its bitrate"),
    string_key(
        "rtc", "candidate", ValueType::text, [](Config& c) { return &c.rtc.candidate; },
        "address written into answers as an extra host candidate (IP, host name or $ENV_VAR; empty = none)"),
    string_key(
        "rtc", "interfaces", ValueType::text, [](Config& c) { return &c.rtc.interfaces; },
        "space-separated local IP addresses to gather ICE candidates on (empty = every interface)"),
    int_key(
        "rtc", "port_min", 1, 65535, [](Config& c) { return &c.rtc.port_min; },
        "lowest UDP/TCP port of WebRTC sessions (one port per session)"),
    int_key(
        "rtc", "port_max", 1, 65535, [](Config& c) { return &c.rtc.port_max; },
        "highest UDP/TCP port of WebRTC sessions (not below port_min)"),
    boolean_key(
        "rtc", "ice_tcp", [](Config& c) { return &c.rtc.ice_tcp; }, "also gather passive ICE-TCP candidates"),
    int_key(
        "rtc", "gather_timeout_ms", 1, 60000, [](Config& c) { return &c.rtc.gather_timeout_ms; },
        "the answer waits at most this long for ICE candidate gathering"),
    int_key(
        "rtc", "session_timeout_ms", 1, kHour, [](Config& c) { return &c.rtc.session_timeout_ms; },
        "a session whose ICE and DTLS have not connected in this time (or that lost them) is closed"),
    int_key(
        "rtc", "pli_interval_ms", 0, kHour, [](Config& c) { return &c.rtc.pli_interval_ms; },
        "ask WHIP publishers for a keyframe this often (0 = only when a session starts)"),
    int_key(
        "rtc", "opus_bitrate", 6000, 510000, [](Config& c) { return &c.rtc.opus_bitrate; },
        "bit rate of the Opus audio that WHEP viewers get (AAC is transcoded once per stream)"),

    boolean_key(
        "srt", "enabled", [](Config& c) { return &c.srt.enabled; },
        "accept SRT publishers and players (srt://host:port?streamid=#!::r=app/stream,m=publish)"),
    address_key(
        "srt", "address", [](Config& c) { return &c.srt.address; }, "IP address to listen on"),
    int_key(
        "srt", "port", 1, 65535, [](Config& c) { return &c.srt.port; }, "UDP port to listen on"),
    int_key(
        "srt", "latency_ms", 0, 60000, [](Config& c) { return &c.srt.latency_ms; },
        "SRT latency (TSBPD): how long lost packets may take to be recovered"),
    string_key(
        "srt", "passphrase", ValueType::text, [](Config& c) { return &c.srt.passphrase; },
        "encrypt with this passphrase (10..79 characters); callers must use the same; empty = none"),
    int_key(
        "srt", "pbkeylen", 16, 32, [](Config& c) { return &c.srt.pbkeylen; }, "AES key length in bytes: 16, 24 or 32"),
    int_key(
        "srt", "max_bw", -1, 2147483647, [](Config& c) { return &c.srt.max_bw; },
        "bytes/s one connection may send, retransmissions included (-1 = unlimited, 0 = relative to input)"),
    int_key(
        "srt", "peer_idle_timeout_ms", 1000, kHour, [](Config& c) { return &c.srt.peer_idle_timeout_ms; },
        "a peer (or a publisher's data) silent this long is disconnected"),
    int_key(
        "srt", "max_bitrate_kbps", 500, 1000000, [](Config& c) { return &c.srt.max_bitrate_kbps; },
        "highest bitrate one SRT connection is sized for: its buffers hold latency_ms + 1 s of it"),
    choice_key(
        "srt", "default_mode", kSrtModes, [](Config& c) { return &c.srt.default_mode; },
        "mode of a stream id without m= (a bare app/stream): publish or request"),

    string_key(
        "pipelines", "plugins_dir", ValueType::text, [](Config& c) { return &c.pipelines_section.plugins_dir; },
        "directories (space- or :-separated) whose GStreamer plugins (*.so) are loaded at start"),
    boolean_key(
        "pipelines", "watch", [](Config& c) { return &c.pipelines_section.watch; },
        "reload (as on SIGHUP) when the config file's directory or pipelines.d changes"),

    string_key(
        "encoders", "prefer", ValueType::text, [](Config& c) { return &c.encoders.prefer; },
        "element names tried first for @h264enc/@h265enc/@h264dec/@h265dec, in order (space-separated)"),
    string_key(
        "encoders", "exclude", ValueType::text, [](Config& c) { return &c.encoders.exclude; },
        "element names never chosen for the placeholders (space-separated)"),
    string_key(
        "encoders", "device", ValueType::text, [](Config& c) { return &c.encoders.device; },
        "GPU for the placeholders: a CUDA device index or /dev/dri/renderD<N>; empty = each family's default"),

    choice_key(
        "cluster", "mode", kClusterModes, [](Config& c) { return &c.cluster.mode; },
        "standalone (one box), origin (publishers; registers its streams) or edge (pulls streams on demand)"),
    string_key(
        "cluster", "node_id", ValueType::text, [](Config& c) { return &c.cluster.node_id; },
        "this node's name in the registry; empty = host name and RTMP port"),
    string_key(
        "cluster", "advertise", ValueType::text, [](Config& c) { return &c.cluster.advertise; },
        "URL bases other nodes reach this one at: rtmp://HOST:PORT, srt://HOST:PORT, http://HOST:API_PORT (empty = "
        "127.0.0.1)"),
    string_key(
        "cluster", "origins", ValueType::text, [](Config& c) { return &c.cluster.origins; },
        "edge: static origin list, rtmp://HOST:PORT or srt://HOST:PORT ..., tried in order (without a registry or when "
        "it fails)"),
    string_key(
        "cluster", "registry", ValueType::text, [](Config& c) { return &c.cluster.registry; },
        "redis://HOST:PORT/DB of the shared registry (empty = none)"),
    choice_key(
        "cluster", "pull_protocol", kPullProtocols, [](Config& c) { return &c.cluster.pull_protocol; },
        "protocol an edge pulls from its origin with: rtmp or srt"),
    int_key(
        "cluster", "linger_ms", 0, kHour, [](Config& c) { return &c.cluster.linger_ms; },
        "an edge pull stops this long after its last viewer leaves"),
    int_key(
        "cluster", "heartbeat_ms", 100, kHour, [](Config& c) { return &c.cluster.heartbeat_ms; },
        "how often a node refreshes its registry entries"),
    int_key(
        "cluster", "ttl_ms", 200, kHour, [](Config& c) { return &c.cluster.ttl_ms; },
        "registry entries expire this long after their last refresh (more than heartbeat_ms)"),
    int_key(
        "cluster", "lookup_timeout_ms", 1, kHour, [](Config& c) { return &c.cluster.lookup_timeout_ms; },
        "a registry lookup slower than this counts as not found"),
    int_key(
        "cluster", "max_hops", 1, 16, [](Config& c) { return &c.cluster.max_hops; },
        "most edges a pull may pass through (edge of edge); deeper pulls are refused as loops"),
    int_key(
        "cluster", "failover_ms", 0, kHour, [](Config& c) { return &c.cluster.failover_ms; },
        "an edge keeps the viewers of a lost upstream this long while it looks for the stream again")};

Status check_url_list(std::string_view text) {
  std::string all(text);
  gchar** parts = g_strsplit_set(all.c_str(), " \t", -1);
  Status st = ok_status();
  for (gchar** p = parts; *p && st; ++p) {
    if (!**p) continue;
    GUri* uri = g_uri_parse(*p, G_URI_FLAGS_NONE, nullptr);
    const char* scheme = uri ? g_uri_get_scheme(uri) : nullptr;
    const char* host = uri ? g_uri_get_host(uri) : nullptr;
    if (!uri || !scheme || (g_ascii_strcasecmp(scheme, "http") != 0 && g_ascii_strcasecmp(scheme, "https") != 0) ||
        !host || !*host)
      st = Error{"\"" + std::string(*p) + "\" is not an http:// or https:// URL"};
    if (uri) g_uri_unref(uri);
  }
  g_strfreev(parts);
  return st;
}

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

Status parse_integer(const KeySpec& spec, std::string_view text, int* out) {
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  if (begin != end && *begin == '+') ++begin;  // from_chars rejects '+'; users write it
  long long value = 0;
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (text.empty() || ptr != end || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    return Error{"value " + quoted(text) + " is not an integer"};
  }
  if (ec == std::errc::result_out_of_range || value < spec.min || value > spec.max) {
    return Error{"value " + std::string(text) + " is out of range " + std::to_string(spec.min) + ".." +
                 std::to_string(spec.max)};
  }
  *out = static_cast<int>(value);
  return ok_status();
}

}  // namespace

std::span<const char* const> schema_sections() { return kSections; }

std::span<const KeySpec> schema_keys() { return kKeys; }

bool is_per_app_section(std::string_view section) {
  return section == "hooks" || section == "security" || section == "srt" || section == "dvr";
}

bool is_schema_section(std::string_view section) {
  for (const char* s : kSections) {
    if (section == s) return true;
  }
  return false;
}

const KeySpec* find_key(std::string_view section, std::string_view key) {
  for (const KeySpec& spec : kKeys) {
    if (section == spec.section && key == spec.key) return &spec;
  }
  return nullptr;
}

Status apply_value(const KeySpec& spec, std::string_view raw, Config& config) {
  // Trailing blanks survive GKeyFile parsing and are invisible in an editor: ignore them.
  std::string_view text = raw;
  while (!text.empty() && g_ascii_isspace(text.back())) text.remove_suffix(1);
  while (!text.empty() && g_ascii_isspace(text.front())) text.remove_prefix(1);

  switch (spec.type) {
    case ValueType::boolean:
      if (text == "true") {
        *spec.bool_field(config) = true;
      } else if (text == "false") {
        *spec.bool_field(config) = false;
      } else {
        return Error{"value " + quoted(text) + " is not a boolean (true or false)"};
      }
      return ok_status();
    case ValueType::integer: {
      int value = 0;
      Status st = parse_integer(spec, text, &value);
      if (!st) return st;
      *spec.int_field(config) = value;
      return ok_status();
    }
    case ValueType::choice: {
      std::string list;
      for (const char* choice : spec.choices) {
        if (text == choice) {
          *spec.string_field(config) = choice;
          return ok_status();
        }
        list += list.empty() ? "" : ", ";
        list += choice;
      }
      return Error{"value " + quoted(text) + " is not one of " + list};
    }
    case ValueType::ip_address: {
      std::string value(text);
      if (!g_hostname_is_ip_address(value.c_str())) {
        return Error{"value " + quoted(text) + " is not an IPv4 or IPv6 address (e.g. 0.0.0.0, 127.0.0.1, ::)"};
      }
      *spec.string_field(config) = value;
      return ok_status();
    }
    case ValueType::text:
      *spec.string_field(config) = std::string(text);
      return ok_status();
    case ValueType::url_list: {
      Status st = check_url_list(text);
      if (!st) return st;
      *spec.string_field(config) = std::string(text);
      return ok_status();
    }
    case ValueType::ip_rules: {
      auto rules = IpRules::parse(text);
      if (!rules) return rules.error();
      *spec.string_field(config) = std::string(text);
      return ok_status();
    }
    case ValueType::directory: {
      std::string value(text);
      if (!value.empty() && !g_file_test(value.c_str(), G_FILE_TEST_IS_DIR))
        return Error{"value " + quoted(text) + " is not an existing directory"};
      *spec.string_field(config) = value;
      return ok_status();
    }
  }
  return Error{"unsupported value type"};
}

std::string format_value(const KeySpec& spec, const Config& config) {
  // The field accessors are shared with apply_value and take a mutable Config; nothing is written.
  Config& c = const_cast<Config&>(config);
  switch (spec.type) {
    case ValueType::boolean:
      return *spec.bool_field(c) ? "true" : "false";
    case ValueType::integer:
      return std::to_string(*spec.int_field(c));
    case ValueType::choice:
    case ValueType::ip_address:
    case ValueType::text:
    case ValueType::url_list:
    case ValueType::ip_rules:
    case ValueType::directory:
      return *spec.string_field(c);
  }
  return "";
}

}  // namespace estuary::config
