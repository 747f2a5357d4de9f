// Owns: HLS/DASH viewer sessions (see hls_sessions.h).
#include "server/outputs/hls/hls_sessions.h"

#include <vector>

#include "common/ids.h"
#include "common/log.h"
#include "common/timer.h"

namespace estuary::server {
namespace {

constexpr const char* kCookie = "estuary_hls";
constexpr size_t kMaxCookie = 64;
// Requests of one session waiting for its admission (on_play hooks): more are refused.
constexpr size_t kMaxQueued = 64;

// The value of our cookie in the request, or "" (bounded, printable).
std::string cookie_of(SoupServerMessage* msg) {
  return hls_cookie_of(soup_message_headers_get_list(soup_server_message_get_request_headers(msg), "Cookie"));
}

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!g_ascii_isdigit(c)) return false;
  return true;
}

// "t-t2" -> "t" (DASH's per-track names).
std::string strip_track(const std::string& s) {
  const auto t = s.rfind("-t");
  if (t != std::string::npos && t > 0 && all_digits(s.substr(t + 2)) && s.size() - t - 2 <= 2) return s.substr(0, t);
  return s;
}

}  // namespace

struct HlsSessions::Session {
  std::string client_id;
  std::string cookie;
  enum class State { admitting, admitted, refused } state = State::admitting;
  int refusal_status = 403;
  std::string refusal;
  gint64 last_us = 0;
  std::shared_ptr<uint64_t> bytes = std::make_shared<uint64_t>(0);
  std::vector<std::pair<Ref<SoupServerMessage>, std::function<void()>>> queued;
  bool cors = false;
};

std::string hls_cookie_of(const char* header) {
  if (!header) return "";
  std::string h = header;
  const std::string name = std::string(kCookie) + "=";
  for (size_t at = h.find(name); at != std::string::npos; at = h.find(name, at + 1)) {
    if (at != 0 && h[at - 1] != ' ' && h[at - 1] != ';') continue;
    size_t end = h.find(';', at);
    std::string v = h.substr(at + name.size(), (end == std::string::npos ? h.size() : end) - at - name.size());
    if (v.empty() || v.size() > kMaxCookie) return "";
    for (char c : v)
      if (!g_ascii_isalnum(c) && c != '-' && c != '_') return "";
    return v;
  }
  return "";
}

std::string hls_set_cookie(const std::string& cookie) {
  return std::string(kCookie) + "=" + cookie + "; Path=/; SameSite=Lax; HttpOnly";
}

std::string hls_stream_of(const std::string& extension, const std::string& name) {
  if (extension == ".m3u8" || extension == ".mpd") return name;
  std::string s = name;
  if (extension == ".m4s") {
    const auto dot = s.rfind('.');  // "t-12.3": a part
    if (dot != std::string::npos && all_digits(s.substr(dot + 1))) s = s.substr(0, dot);
  }
  const auto dash = s.rfind('-');
  if (dash == std::string::npos || dash == 0 || !all_digits(s.substr(dash + 1))) return name;
  return strip_track(s.substr(0, dash));
}

HlsSessions::HlsSessions(ClientRegistry& clients, Admission& admission, HlsSessionSettings settings)
    : clients_(clients), admission_(admission), settings_(settings) {
  sweeper_ = start_repeating_timer(1000, [this] {
    sweep();
    return true;
  });
}

HlsSessions::~HlsSessions() {
  *alive_ = false;
  sweeper_ = SourceGuard();
  std::vector<std::string> keys;
  for (auto& [k, s] : sessions_) keys.push_back(k);
  for (auto& k : keys) end(k, "server stopping");
}

void HlsSessions::gate(SoupServerMessage* msg, const std::string& app, const std::string& stream,
                       const std::string& query, const char* type, bool cors, std::function<void()> serve) {
  const char* host = soup_server_message_get_remote_host(msg);
  const std::string ip = host ? host : "";
  if (soup_server_message_get_method(msg) == SOUP_METHOD_HEAD) {
    const Verdict v = admission_.check_rules(ip, app, stream, Admission::Action::play);
    if (!v.allowed)
      respond_text(msg, v.http_status, v.reason + "\n", cors);
    else
      serve();
    return;
  }
  std::string cookie = cookie_of(msg);
  const bool has_cookie = !cookie.empty();
  // Without the cookie (a player that does not keep cookies, or its first request), the address
  // tells viewers apart; a playlist and an MPD are then two viewers, and a segment (which both use)
  // belongs to either.
  const std::string key = app + "/" + stream;
  auto address_key = [&](const char* t) { return key + "|a:" + t + ":" + ip; };
  auto it = find_session(key, cookie, ip, type);
  if (!type) type = "hls-play";
  if (!has_cookie) {
    cookie = it != sessions_.end() ? it->second->cookie : new_client_id();
    soup_message_headers_append(soup_server_message_get_response_headers(msg), "Set-Cookie",
                                hls_set_cookie(cookie).c_str());
  }
  // Count the bytes each answer writes.
  auto count = [](SoupServerMessage* m, const std::shared_ptr<uint64_t>& bytes) {
    g_signal_connect_data(
        m, "wrote-body-data", G_CALLBACK(+[](SoupServerMessage*, guint chunk, gpointer p) {
          **static_cast<std::shared_ptr<uint64_t>*>(p) += chunk;
        }),
        new std::shared_ptr<uint64_t>(bytes),
        [](gpointer p, GClosure*) { delete static_cast<std::shared_ptr<uint64_t>*>(p); }, GConnectFlags(0));
  };
  const gint64 now = g_get_monotonic_time();
  if (it != sessions_.end()) {
    Session& s = *it->second;
    s.last_us = now;
    switch (s.state) {
      case Session::State::admitted:
        count(msg, s.bytes);
        serve();
        return;
      case Session::State::refused:
        respond_text(msg, s.refusal_status, s.refusal + "\n", cors);
        return;
      case Session::State::admitting:
        if (s.queued.size() >= kMaxQueued) {
          respond_text(msg, 503, "too many requests waiting for admission\n", cors);
          return;
        }
        count(msg, s.bytes);
        soup_server_message_pause(msg);
        s.queued.emplace_back(Ref<SoupServerMessage>::add_ref(msg), std::move(serve));
        return;
    }
  }
  auto session = std::make_shared<Session>();
  session->client_id = new_client_id();
  session->cookie = cookie;
  session->last_us = now;
  session->cors = cors;
  // Found later by its cookie, or by the address while the player sends none.
  sessions_[key + "|c:" + cookie] = session;
  if (!has_cookie) sessions_[address_key(type)] = session;

  Client c;
  c.id = session->client_id;
  c.type = type;
  c.ip = ip;
  c.app = app;
  c.stream = stream;
  c.query = query;
  c.start_us = now;
  std::weak_ptr<Session> weak = session;
  std::weak_ptr<bool> alive = alive_;
  c.kick = [this, weak, alive]() {
    auto s = weak.lock();
    if (!s || alive.expired()) return;
    s->state = Session::State::refused;
    s->refusal = "kicked";
    s->refusal_status = 403;
    s->last_us = g_get_monotonic_time();
    clients_.remove_client(s->client_id, "kicked");
  };
  c.bytes_sent = [bytes = session->bytes]() { return *bytes; };
  clients_.add_client(std::move(c));
  log_info(key, session->client_id, "hls-session", std::string("new ") + type + " session from " + ip);

  count(msg, session->bytes);
  soup_server_message_pause(msg);
  session->queued.emplace_back(Ref<SoupServerMessage>::add_ref(msg), std::move(serve));
  admission_.admit(session->client_id, Admission::Action::play, [this, weak, alive](const Verdict& v) {
    auto s = weak.lock();
    if (!s || alive.expired()) return;
    auto queued = std::move(s->queued);
    s->queued.clear();
    if (v.allowed) {
      s->state = Session::State::admitted;
      // Unpaused first: a handler that holds the request (blocking reload) pauses it again.
      for (auto& [m, serve] : queued) {
        soup_server_message_unpause(m.get());
        serve();
      }
      return;
    }
    // Refused: the requests get the verdict and the session is forgotten, so a retry (with another
    // token) is admitted anew.
    for (auto& [m, serve] : queued) {
      respond_text(m.get(), v.http_status, v.reason + "\n", s->cors);
      soup_server_message_unpause(m.get());
    }
    s->state = Session::State::refused;  // no on_stop: it was never admitted
    clients_.remove_client(s->client_id, "play refused");
    forget(s);
  });
}

HlsSessions::SessionMap::iterator HlsSessions::find_session(const std::string& key, const std::string& cookie,
                                                            const std::string& ip, const char* type) {
  if (!cookie.empty()) return sessions_.find(key + "|c:" + cookie);
  auto by_address = [&](const char* t) { return sessions_.find(key + "|a:" + t + ":" + ip); };
  if (type) return by_address(type);
  auto it = by_address("hls-play");
  return it != sessions_.end() ? it : by_address("dash-play");
}

std::optional<HlsSessions::Admitted> HlsSessions::admitted(const std::string& app, const std::string& stream,
                                                           const std::string& cookie, const std::string& ip) {
  auto it = find_session(app + "/" + stream, cookie, ip, nullptr);
  if (it == sessions_.end() || it->second->state != Session::State::admitted) return std::nullopt;
  it->second->last_us = g_get_monotonic_time();
  return Admitted{it->second->bytes, it->second->cookie};
}

void HlsSessions::forget(const std::shared_ptr<Session>& s) {
  for (auto i = sessions_.begin(); i != sessions_.end();) i = i->second == s ? sessions_.erase(i) : std::next(i);
}

void HlsSessions::end(const std::string& key, const std::string& reason) {
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return;
  std::shared_ptr<Session> s = it->second;
  forget(s);  // both of its keys (address and cookie) go
  for (auto& [m, serve] : s->queued) {
    respond_text(m.get(), 503, "viewer session ended\n", s->cors);
    soup_server_message_unpause(m.get());
  }
  s->queued.clear();
  if (s->state != Session::State::refused) clients_.remove_client(s->client_id, reason);
}

void HlsSessions::sweep() {
  const gint64 now = g_get_monotonic_time();
  std::vector<std::string> idle;
  for (auto& [k, s] : sessions_) {
    const int limit = s->state == Session::State::refused ? settings_.kicked_hold_s : settings_.idle_s;
    if (s->state != Session::State::admitting && now - s->last_us > gint64(limit) * G_USEC_PER_SEC) idle.push_back(k);
  }
  for (auto& k : idle) end(k, "no request for a while");
}

void GatedStreamRoutes::add_stream_handler(const std::string& extension, StreamHandler handler) {
  inner_.add_stream_handler(
      extension, [self = shared_from_this(), extension, handler](SoupServerMessage* msg, const StreamPath& path) {
        const char* type = extension == ".mpd" ? "dash-play" : extension == ".m3u8" ? "hls-play" : nullptr;
        self->sessions_->gate(msg, path.app, self->stream_of_(extension, path.stream), path.query, type, self->cors(),
                              [self, extension, handler, msg, path]() {
                                if (self->take_over_ && self->take_over_(msg, extension, path)) return;
                                handler(msg, path);
                              });
      });
}

}  // namespace estuary::server
