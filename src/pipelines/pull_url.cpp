// Owns: pulled-source URL interpretation (see pull_url.h).
#include "pipelines/pull_url.h"

#include <glib.h>

#include <string_view>

namespace estuary::pipelines {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = g_ascii_tolower(c);
  return s;
}

bool is_secret_param(std::string name) {
  name = lower(std::move(name));
  for (const char* word : {"pass", "key", "token", "secret", "auth", "sign", "pwd"})
    if (name.find(word) != std::string::npos) return true;
  return false;
}

// Redacts secret values in a query string "a=1&passphrase=x".
std::string redact_query(const std::string& query) {
  std::string out;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    std::string pair = query.substr(start, end - start);
    const size_t eq = pair.find('=');
    if (eq != std::string::npos && is_secret_param(pair.substr(0, eq))) pair = pair.substr(0, eq + 1) + "***";
    out += (out.empty() && start == 0 ? "" : "&") + pair;
    start = end + 1;
  }
  return out;
}

// The demuxer for a container named by a path's extension; parsebin (which finds one by content
// but never says when it has all its pads, so tracks are fixed by timeout) when unknown.
std::string demuxer_for_path(const std::string& path) {
  const std::string p = lower(path);
  auto ends = [&](const char* ext) { return g_str_has_suffix(p.c_str(), ext); };
  if (ends(".mp4") || ends(".m4v") || ends(".mov") || ends(".m4a")) return "qtdemux";
  if (ends(".mkv") || ends(".webm") || ends(".mka")) return "matroskademux";
  if (ends(".flv")) return "flvdemux";
  if (ends(".ts") || ends(".m2ts") || ends(".mts")) return "tsdemux";
  return "parsebin";
}

}  // namespace

const char* pull_kind_name(PullKind k) {
  switch (k) {
    case PullKind::rtsp:
      return "rtsp";
    case PullKind::srt:
      return "srt";
    case PullKind::rtmp:
      return "rtmp";
    case PullKind::hls:
      return "hls";
    case PullKind::http:
      return "http";
    case PullKind::file:
      return "file";
  }
  return "?";
}

Result<ReaderPlan> plan_reader(const std::string& url, const PullOptions& options) {
  GUri* uri = g_uri_parse(url.c_str(), G_URI_FLAGS_NONE, nullptr);
  if (!uri) return Error{"not a URL: " + redact_url(url)};
  const std::string scheme = lower(g_uri_get_scheme(uri) ? g_uri_get_scheme(uri) : "");
  const std::string path = g_uri_get_path(uri) ? g_uri_get_path(uri) : "";
  g_uri_unref(uri);

  ReaderPlan plan;
  plan.url_value = url;
  if (scheme == "rtsp" || scheme == "rtsps") {
    plan.kind = PullKind::rtsp;
    // tcp: interleaved on the RTSP connection (firewalls, NAT); udp: RTP/RTCP on UDP ports; auto:
    // UDP first, TCP when no UDP arrives (rtspsrc's own fallback).
    std::string protocols = options.rtsp_transport == "tcp"   ? "tcp"
                            : options.rtsp_transport == "udp" ? "udp"
                                                              : "udp+tcp";
    plan.launch = "rtspsrc name=src latency=200 drop-on-latency=true protocols=" + protocols;
    plan.url_property = "location";
    plan.rtp_pads = true;
  } else if (scheme == "srt") {
    plan.kind = PullKind::srt;
    plan.launch = "srtsrc name=src ! tsdemux name=demux";  // caller is srtsrc's default mode
    plan.url_property = "uri";
  } else if (scheme == "rtmp" || scheme == "rtmps") {
    plan.kind = PullKind::rtmp;
    plan.launch = "rtmp2src name=src ! flvdemux name=demux";
    plan.url_property = "location";
  } else if (scheme == "http" || scheme == "https") {
    const bool hls = g_str_has_suffix(lower(path).c_str(), ".m3u8");
    plan.kind = hls ? PullKind::hls : PullKind::http;
    plan.launch = hls ? "souphttpsrc name=src ! hlsdemux ! tsdemux name=demux"
                      : "souphttpsrc name=src is-live=true ! " + demuxer_for_path(path) + " name=demux";
    plan.url_property = "location";
  } else if (scheme == "file") {
    plan.kind = PullKind::file;
    gchar* local = g_filename_from_uri(url.c_str(), nullptr, nullptr);
    if (!local) return Error{"not a file:/// URL: " + url};
    plan.url_value = local;
    g_free(local);
    const std::string demuxer = demuxer_for_path(plan.url_value);
    // tsdemux would pull from filesrc, past the guard that checks its input in push mode
    // (ts_guard_probe.h): a queue keeps it pushed to.
    plan.launch = "filesrc name=src ! " + std::string(demuxer == "tsdemux" ? "queue ! " : "") + demuxer + " name=demux";
    plan.url_property = "location";
    plan.live = false;
  } else {
    return Error{"cannot pull URL scheme \"" + scheme + "\""};
  }
  return plan;
}

std::string redact_url(const std::string& url) {
  const GUriFlags flags = GUriFlags(G_URI_FLAGS_ENCODED | G_URI_FLAGS_HAS_PASSWORD);
  GUri* uri = g_uri_parse(url.c_str(), flags, nullptr);
  if (!uri) return "(invalid URL)";
  const char* user = g_uri_get_user(uri);
  const char* password = g_uri_get_password(uri);
  const char* query = g_uri_get_query(uri);
  std::string redacted_query = query ? redact_query(query) : "";
  GUri* clean = g_uri_build_with_user(flags, g_uri_get_scheme(uri), user, password && *password ? "***" : nullptr,
                                      nullptr, g_uri_get_host(uri), g_uri_get_port(uri), g_uri_get_path(uri),
                                      query ? redacted_query.c_str() : nullptr, g_uri_get_fragment(uri));
  gchar* text = g_uri_to_string(clean);
  std::string out = text ? text : "";
  g_free(text);
  g_uri_unref(clean);
  g_uri_unref(uri);
  return out;
}

}  // namespace estuary::pipelines
