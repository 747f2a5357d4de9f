// Owns: RtcService (see rtc_service.h).
#include "server/protocols/webrtc/rtc_service.h"

#include <sys/random.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/log.h"
#include "common/timer.h"
#include "pipelines/stream_bus.h"
#include "server/control/http_routes.h"

namespace estuary::webrtc {
namespace {

constexpr const char* kPublishPrefixes[] = {"/rtc/v1/whip", "/whip"};
constexpr const char* kPlayPrefixes[] = {"/rtc/v1/whep", "/rtc/v1/whip-play", "/whep"};
constexpr const char* kSessionPrefix = "/rtc/v1/session";

void reply_now(SoupServerMessage* msg, int status, const std::string& text, const char* methods = "POST, OPTIONS") {
  soup_server_message_set_status(msg, guint(status), nullptr);
  std::string body = text.empty() ? "" : text + "\n";
  soup_server_message_set_response(msg, "text/plain", SOUP_MEMORY_COPY, body.data(), body.size());
  server::set_cors_headers(msg, false, methods);
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  soup_message_headers_replace(h, "Cache-Control", "no-store");
  if (status == 405) soup_message_headers_replace(h, "Allow", methods);
}

void reply_preflight(SoupServerMessage* msg, const char* methods) {
  soup_server_message_set_status(msg, 204, nullptr);
  server::set_cors_headers(msg, true, methods);
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  soup_message_headers_replace(h, "Allow", methods);
  soup_message_headers_replace(h, "Access-Control-Allow-Headers",
                               "content-type, authorization, if-match, x-requested-with, origin");
  soup_message_headers_replace(h, "Access-Control-Expose-Headers", "Location, ETag, Link");
}

std::string request_body(SoupServerMessage* msg) {
  SoupMessageBody* body = soup_server_message_get_request_body(msg);
  if (!body) return "";
  GBytes* bytes = soup_message_body_flatten(body);
  gsize n = 0;
  const char* data = static_cast<const char*>(g_bytes_get_data(bytes, &n));
  std::string out(data ? data : "", n);
  g_bytes_unref(bytes);
  return out;
}

bool content_type_is(SoupServerMessage* msg, const char* expected) {
  const char* ct = soup_message_headers_get_content_type(soup_server_message_get_request_headers(msg), nullptr);
  return !ct || g_ascii_strcasecmp(ct, expected) == 0;  // absent: accepted (curl --data-binary)
}

std::string random_secret() {
  unsigned char raw[12];
  if (getrandom(raw, sizeof raw, 0) != ssize_t(sizeof raw))
    for (auto& b : raw) b = static_cast<unsigned char>(g_random_int());
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : raw) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string lookup(GHashTable* query, const char* key) {
  const char* v = query ? static_cast<const char*>(g_hash_table_lookup(query, key)) : nullptr;
  return v ? v : "";
}

// The hook `param` of the request: its query without our own keys, plus a WHIP bearer token (OBS
// sends the stream key that way) as token= when the query has none.
std::string hook_query(SoupServerMessage* msg, GHashTable* query) {
  std::string out;
  if (query) {
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, query);
    while (g_hash_table_iter_next(&it, &k, &v)) {
      std::string_view key = static_cast<const char*>(k);
      if (key == "app" || key == "stream" || key == "eip") continue;
      gchar* ek = g_uri_escape_string(static_cast<const char*>(k), nullptr, FALSE);
      gchar* ev = g_uri_escape_string(v ? static_cast<const char*>(v) : "", nullptr, FALSE);
      out += std::string(out.empty() ? "" : "&") + ek + "=" + ev;
      g_free(ek);
      g_free(ev);
    }
  }
  const char* auth = soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Authorization");
  if (auth && g_ascii_strncasecmp(auth, "Bearer ", 7) == 0 && lookup(query, "token").empty()) {
    gchar* ev = g_uri_escape_string(auth + 7, nullptr, FALSE);
    out += std::string(out.empty() ? "" : "&") + "token=" + ev;
    g_free(ev);
  }
  return out;
}

StreamTracks stream_tracks(const std::string& key) {
  StreamTracks t;
  Ref<GstCaps> v = pipelines::bus_caps(key, "video");
  Ref<GstCaps> a = pipelines::bus_caps(key, "audio");
  t.video = bool(v);
  t.audio = bool(a);
  if (v) {
    t.hevc = gst_structure_has_name(gst_caps_get_structure(v.get(), 0), "video/x-h265");
    const char* profile = gst_structure_get_string(gst_caps_get_structure(v.get(), 0), "profile");
    t.h264_profile_idc = h264_profile_idc_from_name(profile ? profile : "");
  }
  return t;
}

}  // namespace

RtcService::RtcService(server::ControlPorts ports, server::PathRoutes& api, server::OutputControl* waits)
    : ports_(ports), rtc_config_(ports.slice(&config::Config::rtc)), api_(api), waits_(waits) {
  std::weak_ptr<bool> alive = alive_;
  set_rtc_feed_lost_handler([this, alive](const std::string& key, const std::string& reason) {
    if (!alive.expired()) on_feed_lost(key, reason);
  });
  for (const char* p : kPublishPrefixes)
    api_.add_handler(p, [this, p](SoupServerMessage* msg, const char* path, GHashTable* query) {
      serve_endpoint(msg, path, query, OfferRole::publish, p);
    });
  for (const char* p : kPlayPrefixes)
    api_.add_handler(p, [this, p](SoupServerMessage* msg, const char* path, GHashTable* query) {
      serve_endpoint(msg, path, query, OfferRole::play, p);
    });
  api_.add_handler(kSessionPrefix,
                   [this](SoupServerMessage* msg, const char* path, GHashTable*) { serve_session(msg, path); });
  // Owned by tick_, which is cancelled before `this` goes.
  tick_ = start_repeating_timer(int(500), [this]() {
    on_tick();
    return true;
  });
  configured_candidate();  // starts resolving a host name early
  const auto& rc = *rtc_config_;
  if (rc.enabled && rc.engine == "shared" && rc.ice_tcp)
    log_info("", "", "rtc-engine",
             "ice_tcp = true: WHEP viewers and WHIP publishers use webrtcbin (the shared engine serves ICE-TCP with "
             "tcp_port)");
  if (rc.enabled && rc.engine == "shared" && !rc.ice_tcp) {
    engine::SharedEngine::Settings es;
    es.port = rc.port;
    es.tcp_port = rc.tcp_port;
    es.gso = rc.gso;
    es.twcc = rc.twcc;
    es.tcp_idle_ms = std::max(rc.session_timeout_ms, 1000);
    gchar** parts = g_strsplit_set(rc.interfaces.c_str(), " \t", -1);
    for (gchar** p = parts; *p; ++p)
      if (**p) es.interfaces.emplace_back(*p);
    g_strfreev(parts);
    es.queue_ns = uint64_t(ports_.slice(&config::Config::bus)->subscriber_queue_ms) * 1000000ull;
    auto created = engine::SharedEngine::create(es);
    if (created)
      shared_ = std::move(*created);
    else
      log_error("", "", "rtc-engine", created.error().message + "; WHEP viewers fall back to webrtcbin");
  }
  log_info("", "", "rtc-listen",
           "WHIP /rtc/v1/whip/ and WHEP /rtc/v1/whep/ on the API port; " +
               std::string(shared_ ? (rc.whip_engine == "shared" ? "every session on the shared engine, "
                                                                 : "viewers on the shared engine, ")
                                   : "") +
               "webrtcbin ICE ports " + std::to_string(rc.port_min) + "-" + std::to_string(rc.port_max) +
               (rc.interfaces.empty() ? "" : " on " + rc.interfaces) +
               (rc.candidate.empty() ? "" : ", candidate " + rc.candidate));
}

RtcService::~RtcService() {
  set_rtc_feed_lost_handler({});
  tick_.reset();
  for (const char* p : kPublishPrefixes) api_.remove_handler(p);
  for (const char* p : kPlayPrefixes) api_.remove_handler(p);
  api_.remove_handler(kSessionPrefix);
  auto sessions = sessions_;
  for (auto& [id, s] : sessions) s->close("shutdown");
  sessions_.clear();
  shared_.reset();
}

std::string RtcService::configured_candidate() {
  std::string setting = rtc_config_->candidate;
  if (setting.empty()) return "";
  if (setting[0] == '$') {
    const char* env = g_getenv(setting.c_str() + 1);
    setting = env ? env : "";
  }
  if (setting.empty() || g_hostname_is_ip_address(setting.c_str())) return setting;
  if (setting == resolving_) return resolved_candidate_;
  // A host name: resolved once in the background (no blocking DNS on the control thread); until
  // then answers carry the host candidates only.
  resolving_ = setting;
  resolved_candidate_.clear();
  std::weak_ptr<bool> alive = alive_;
  auto* data = new std::pair<RtcService*, std::weak_ptr<bool>>(this, alive);
  g_resolver_lookup_by_name_async(
      g_resolver_get_default(), setting.c_str(), nullptr,
      [](GObject* source, GAsyncResult* res, gpointer d) {
        auto* p = static_cast<std::pair<RtcService*, std::weak_ptr<bool>>*>(d);
        GError* err = nullptr;
        GList* addrs = g_resolver_lookup_by_name_finish(G_RESOLVER(source), res, &err);
        if (!p->second.expired()) {
          if (addrs) {
            gchar* ip = g_inet_address_to_string(G_INET_ADDRESS(addrs->data));
            p->first->resolved_candidate_ = ip;
            log_info("", "", "rtc-candidate", p->first->resolving_ + " resolved to " + ip);
            g_free(ip);
          } else {
            log_warn("", "", "rtc-candidate",
                     "cannot resolve " + p->first->resolving_ + ": " + (err ? err->message : "no address"));
          }
        }
        if (addrs) g_resolver_free_addresses(addrs);
        g_clear_error(&err);
        delete p;
      },
      data);
  g_object_unref(g_resolver_get_default());  // the async call holds its own reference
  return "";
}

void RtcService::serve_endpoint(SoupServerMessage* msg, const char* path, GHashTable* query, OfferRole role,
                                const std::string& prefix) {
  const std::string method = soup_server_message_get_method(msg);
  if (method == "OPTIONS") return reply_preflight(msg, "POST, OPTIONS");
  if (method != "POST") return reply_now(msg, 405, "use POST with an SDP offer");
  if (!rtc_config_->enabled) return reply_now(msg, 503, "WebRTC is disabled ([rtc] enabled = false)");
  std::string app = lookup(query, "app"), stream = lookup(query, "stream");
  std::string_view rest = std::string_view(path ? path : "").substr(std::min(prefix.size(), strlen(path ? path : "")));
  while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  if (!rest.empty()) {  // short form /whip/APP/STREAM
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return reply_now(msg, 404, "expected /APP/STREAM");
    app = std::string(rest.substr(0, slash));
    stream = std::string(rest.substr(slash + 1));
    while (!stream.empty() && stream.back() == '/') stream.pop_back();
  }
  if (!config::is_valid_name_component(app) || !config::is_valid_name_component(stream))
    return reply_now(msg, 400, "app and stream are required: ?app=APP&stream=STREAM (letters, digits, _ . -)");
  if (!content_type_is(msg, "application/sdp")) return reply_now(msg, 415, "the body must be application/sdp");
  const std::string key = app + "/" + stream;
  const std::string eip = lookup(query, "eip");
  if (role == OfferRole::play && !ports_.play.stream_is_live(key)) {
    if (waits_ && ports_.play.stream_is_playable(key))
      return await_then_serve(msg, app, stream, hook_query(msg, query), eip);
    return reply_now(msg, 404, "stream " + key + " is not published");
  }
  serve_offer(msg, role, app, stream, hook_query(msg, query), eip);
}

void RtcService::await_then_serve(SoupServerMessage* msg, const std::string& app, const std::string& stream,
                                  const std::string& query_for_hooks, const std::string& eip) {
  const std::string key = app + "/" + stream;
  auto held = Ref<SoupServerMessage>::add_ref(msg);
  auto sync = std::make_shared<bool>(true);
  auto live_now = std::make_shared<bool>(false);
  std::weak_ptr<bool> alive = alive_;
  Status st =
      waits_->await_stream(key, [this, sync, live_now, held, alive, app, stream, query_for_hooks, eip, key](bool live) {
        if (*sync) {
          *live_now = live;
          return;
        }
        if (alive.expired()) return;
        SoupServerMessage* m = held.get();
        soup_server_message_unpause(m);  // before serving: the session pauses it again for its answer
        if (live && ports_.play.stream_is_live(key)) {
          serve_offer(m, OfferRole::play, app, stream, query_for_hooks, eip);
        } else {
          reply_now(m, 404, "stream " + key + " is not published");
        }
      });
  *sync = false;
  if (*live_now) return serve_offer(msg, OfferRole::play, app, stream, query_for_hooks, eip);
  if (!st) return reply_now(msg, server::http_status_for(st.error(), 404), st.error().message);
  log_info(key, "", "rtc-play-wait", "WHEP offer held until the on-demand stream is live");
  soup_server_message_pause(msg);
}

void RtcService::serve_offer(SoupServerMessage* msg, OfferRole role, const std::string& app, const std::string& stream,
                             const std::string& query_for_hooks, const std::string& eip) {
  const std::string key = app + "/" + stream;
  StreamTracks tracks;
  if (role == OfferRole::play) tracks = stream_tracks(key);
  const std::string body = request_body(msg);
  auto plan = validate_offer(body, role, tracks);
  const char* remote = soup_server_message_get_remote_host(msg);
  if (!plan) {
    log_warn(key, "", "rtc-bad-offer",
             std::string(remote ? remote : "?") + ": " + error_reason_name(plan.error().reason) + " " +
                 plan.error().message);
    return reply_now(msg, server::http_status_for(plan.error(), 400), plan.error().message);
  }
  if (!eip.empty() && !g_hostname_is_ip_address(eip.c_str())) return reply_now(msg, 400, "eip must be an IP address");

  SessionRequest req;
  req.role = role;
  req.id = new_client_id();
  req.secret = random_secret();
  req.app = app;
  req.stream = stream;
  req.query = query_for_hooks;
  req.ip = remote ? remote : "";
  req.candidate_ip = eip.empty() ? configured_candidate() : eip;
  req.plan = std::move(*plan);
  RtcSession::Env env;
  env.ports = &ports_;
  env.shared = shared_.get();
  env.shared_whip = rtc_config_->whip_engine == "shared";
  std::weak_ptr<bool> alive = alive_;
  env.forget = [this, alive](const std::string& id) {
    if (!alive.expired()) sessions_.erase(id);
  };
  env.keyframe_wanted = [this, alive](const std::string& k) {
    if (!alive.expired()) on_keyframe_wanted(k);
  };
  auto session = std::make_shared<RtcSession>(std::move(env), std::move(req), msg);
  sessions_[session->id()] = session;
  session->begin();
}

void RtcService::serve_session(SoupServerMessage* msg, const char* path) {
  constexpr const char* methods = "DELETE, PATCH, OPTIONS";
  const std::string method = soup_server_message_get_method(msg);
  if (method == "OPTIONS") return reply_preflight(msg, methods);
  std::string_view rest = std::string_view(path ? path : "");
  rest.remove_prefix(std::min(rest.size(), strlen(kSessionPrefix)));
  while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  size_t slash = rest.find('/');
  const std::string id(rest.substr(0, slash));
  const std::string_view secret = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || !same_secret(secret, it->second->secret()))
    return reply_now(msg, 404, "no such session", methods);
  std::shared_ptr<RtcSession> session = it->second;
  if (method == "DELETE") {
    session->close("DELETE by the client");
    return reply_now(msg, 200, "", methods);
  }
  if (method == "PATCH") {
    if (!content_type_is(msg, "application/trickle-ice-sdpfrag"))
      return reply_now(msg, 415, "the body must be application/trickle-ice-sdpfrag", methods);
    auto frag = parse_trickle_fragment(request_body(msg), session->mids());
    if (!frag) return reply_now(msg, server::http_status_for(frag.error(), 400), frag.error().message, methods);
    Status st = session->add_candidates(*frag);
    if (!st) return reply_now(msg, server::http_status_for(st.error(), 400), st.error().message, methods);
    return reply_now(msg, 204, "", methods);
  }
  reply_now(msg, 405, "use DELETE or PATCH on a session", methods);
}

void RtcService::on_tick() {
  const int64_t now = g_get_monotonic_time();
  std::vector<std::shared_ptr<RtcSession>> all;
  all.reserve(sessions_.size());
  for (auto& [id, s] : sessions_) all.push_back(s);
  for (auto& s : all) s->tick(now);
}

void RtcService::on_keyframe_wanted(const std::string& key) {
  for (auto& [id, s] : sessions_)
    if (s->role() == OfferRole::publish && s->key() == key) s->request_keyframe();
}

void RtcService::on_feed_lost(const std::string& key, const std::string& reason) {
  std::vector<std::shared_ptr<RtcSession>> viewers;
  for (auto& [id, s] : sessions_)
    if (s->role() == OfferRole::play && s->key() == key) viewers.push_back(s);
  for (auto& s : viewers) s->close(reason);
}

}  // namespace estuary::webrtc
