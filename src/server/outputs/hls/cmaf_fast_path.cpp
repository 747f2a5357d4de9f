// Owns: the LL-HLS fast path (see cmaf_fast_path.h).
#include "server/outputs/hls/cmaf_fast_path.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <string_view>
#include <vector>

#include "common/http_request_head.h"
#include "common/log.h"
#include "common/timer.h"

namespace estuary::server {

struct CmafFastPath::Conn {
  uint64_t id = 0;
  Ref<GIOStream> stream;  // the connection taken from libsoup (it owns the socket)
  Ref<GSocket> socket;
  int fd = -1;
  EpollWatch watch;  // in the fast path's epoll set until closed or given back
  std::string ip;
  std::string key;           // the stream of the last request, for the log
  gint64 last_us = 0;        // last request (keep-alive deadline)
  gint64 head_since_us = 0;  // a partial request head has waited since then (0: none)
  bool holding = false;      // a request waits in a window's waiters
  // The answer being written: head, then body from out_off on (over both).
  std::string out_head;
  Ref<GBytes> out_body;
  size_t out_off = 0;
  gint64 out_since_us = 0;
  bool close_after = false;
  // Of the request being answered: its session's byte count and a cookie to set.
  std::shared_ptr<uint64_t> bytes;
  std::string set_cookie;

  bool writing() const { return !out_head.empty() || out_body; }
  bool busy() const { return holding || writing(); }
};

namespace {

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

// The extension of a path the fast path may answer: ".m3u8" (not the ABR ladder's "_abr.m3u8") or ".m4s".
const char* fast_extension(std::string_view path) {
  if (ends_with(path, ".m4s")) return ".m4s";
  if (ends_with(path, ".m3u8") && !ends_with(path, "_abr.m3u8")) return ".m3u8";
  return nullptr;
}

// A request the fast path may answer by its shape: GET over HTTP/1.1 without a body, an upgrade or
// "Connection: close", and a plain path (no escapes).
bool fast_shape(const RequestHead& h) {
  if (h.method != "GET" || h.minor_version != 1) return false;
  if (h.field("Transfer-Encoding") || h.field("Upgrade") || h.field("Expect")) return false;
  if (const std::string* cl = h.field("Content-Length"); cl && *cl != "0") return false;
  if (const std::string* c = h.field("Connection"); c && g_ascii_strncasecmp(c->c_str(), "close", 5) == 0) return false;
  const std::string_view path = std::string_view(h.target).substr(0, h.target.find('?'));
  return !path.empty() && path.front() == '/' && path.find('%') == std::string_view::npos;
}

// An answer this transport writes: a reply or a hold (DASH's open segment, streamed as made, and
// requests that are not a CMAF stream's stay with libsoup).
bool fast_answer(const CmafAnswer& a) { return a.kind == CmafAnswer::Kind::reply || a.kind == CmafAnswer::Kind::hold; }

}  // namespace

std::shared_ptr<CmafFastPath> CmafFastPath::create(StreamRoutes* http, std::shared_ptr<HlsSessions> sessions,
                                                   GatedStreamRoutes::StreamOf stream_of,
                                                   std::shared_ptr<CmafRegistry> registry, HlsDemandFn demand,
                                                   CmafFastPathSettings settings) {
  std::shared_ptr<CmafFastPath> self(new CmafFastPath());
  self->http_ = http;
  self->sessions_ = std::move(sessions);
  self->stream_of_ = std::move(stream_of);
  self->registry_ = std::move(registry);
  self->demand_ = std::move(demand);
  self->settings_ = settings;
  auto set = EpollSet::create("hls fast path");
  if (!set) {
    log_warn("", "", "hls-fast", "LL-HLS fast path off: " + set.error().message);
    return self;
  }
  self->epoll_ = *set;
  std::weak_ptr<CmafFastPath> weak = self;
  self->sweeper_ = start_repeating_timer(1000, [weak] {
    if (auto s = weak.lock()) s->sweep();
    return true;
  });
  return self;
}

CmafFastPath::~CmafFastPath() {
  sweeper_ = SourceGuard();
  for (auto& [id, c] : conns_) {
    c->watch.reset();
    g_io_stream_close(c->stream.get(), nullptr, nullptr);
  }
  conns_.clear();
}

CmafFastPath::Conn* CmafFastPath::find(uint64_t id) {
  auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : it->second.get();
}

bool CmafFastPath::take(SoupServerMessage* msg, const std::string& extension, const StreamPath& path) {
  SoupServer* server = http_->soup_server();
  if (!epoll_ || !server || conns_.size() >= settings_.max_connections) return false;
  if (extension != ".m3u8" && extension != ".m4s") return false;
  if (soup_server_message_get_method(msg) != SOUP_METHOD_GET ||
      soup_server_message_get_http_version(msg) != SOUP_HTTP_1_1)
    return false;
  GUri* uri = soup_server_message_get_uri(msg);
  if (!uri || g_strcmp0(g_uri_get_scheme(uri), "http") != 0) return false;
  SoupMessageHeaders* headers = soup_server_message_get_request_headers(msg);
  if (soup_message_headers_header_contains(headers, "Connection", "close")) return false;
  GSocket* socket = http_->connection_socket(msg);
  if (!socket) return false;
  const char* host = soup_server_message_get_remote_host(msg);
  const std::string ip = host ? host : "";
  const std::string cookie = hls_cookie_of(soup_message_headers_get_list(headers, "Cookie"));
  std::optional<Decision> decided = decide(extension, path, cookie, ip);
  if (!decided) return false;

  auto c = std::make_unique<Conn>();
  c->id = next_id_++;
  c->socket = Ref<GSocket>::add_ref(socket);
  http_->release_connection(msg);
  c->stream = Ref<GIOStream>::adopt(soup_server_message_steal_connection(msg));
  if (!c->stream) return true;  // the connection was already gone: nothing to answer
  c->fd = g_socket_get_fd(socket);
  c->ip = ip;
  c->key = path.app + "/" + path.stream;
  c->last_us = g_get_monotonic_time();
  // Edge-triggered: each connection is read until it would block, or until it is busy answering.
  const uint64_t id = c->id;
  auto watch = epoll_->watch(c->fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, [this, id](uint32_t events) {
    if (Conn* conn = find(id)) on_events(*conn, events);
  });
  if (!watch) {
    log_warn(c->key, cookie, "hls-fast", watch.error().message);
    g_io_stream_close(c->stream.get(), nullptr, nullptr);
    return true;
  }
  c->watch = std::move(*watch);
  Conn& conn = *c;
  conns_[conn.id] = std::move(c);
  log_info(conn.key, decided->admitted.cookie, "hls-fast", "connection from " + ip + " served by the LL-HLS fast path");
  start(conn, *decided, cookie, extension, path);
  return true;
}

std::optional<CmafFastPath::Decision> CmafFastPath::decide(const std::string& extension, const StreamPath& path,
                                                           const std::string& cookie, const std::string& ip) {
  auto admitted = sessions_->admitted(path.app, stream_of_(extension, path.stream), cookie, ip);
  if (!admitted) return std::nullopt;  // a new session, a kicked one, another stream
  CmafAnswer a = answer_cmaf(*registry_, extension, path, demand_);
  if (!fast_answer(a)) return std::nullopt;
  return Decision{std::move(*admitted), std::move(a)};
}

void CmafFastPath::start(Conn& c, const Decision& d, const std::string& cookie, const std::string& extension,
                         const StreamPath& path) {
  c.last_us = g_get_monotonic_time();
  c.key = path.app + "/" + path.stream;
  c.bytes = d.admitted.bytes;
  c.set_cookie = cookie.empty() ? d.admitted.cookie : "";
  begin(c, d.answer, extension, path);
}

void CmafFastPath::on_events(Conn& c, uint32_t events) {
  const uint64_t id = c.id;
  if (events & EPOLLERR) {
    close(id, "socket error");
    return;
  }
  if (c.writing()) {
    flush(c);
    if (!find(id)) return;
  }
  // Edge-triggered: a request that came while busy is read once the answer is out.
  if (!c.busy())
    read_requests(c);
  else if (events & (EPOLLRDHUP | EPOLLHUP))
    close(id, "closed by the client");
}

void CmafFastPath::read_requests(Conn& c) {
  const uint64_t id = c.id;
  std::vector<char>& buf = read_buf_;
  buf.resize(kMaxRequestHead);
  while (Conn* conn = find(id)) {
    if (conn->busy()) return;
    const ssize_t n = recv(conn->fd, buf.data(), buf.size(), MSG_PEEK);
    if (n == 0) {
      close(id, "closed by the client");
      return;
    }
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) close(id, "receive failed");
      return;
    }
    RequestHead head;
    switch (parse_request_head(std::string_view(buf.data(), size_t(n)), &head)) {
      case HeadParse::incomplete:
        if (!conn->head_since_us) conn->head_since_us = g_get_monotonic_time();
        return;
      case HeadParse::too_large:
      case HeadParse::malformed:
        give_back(id);  // libsoup answers it as it would have (400/431) and closes
        return;
      case HeadParse::complete:
        break;
    }
    conn->head_since_us = 0;
    const size_t query_at = head.target.find('?');
    const std::string path = head.target.substr(0, query_at);
    const char* extension = fast_shape(head) ? fast_extension(path) : nullptr;
    StreamPath sp;
    if (!extension || !parse_stream_path(path, extension, &sp)) {
      give_back(id);
      return;
    }
    sp.query = query_at == std::string::npos ? "" : head.target.substr(query_at + 1);
    const std::string* cookie_header = head.field("Cookie");
    const std::string cookie = hls_cookie_of(cookie_header ? cookie_header->c_str() : nullptr);
    std::optional<Decision> decided = decide(extension, sp, cookie, conn->ip);
    if (!decided) {  // libsoup's path admits, refuses or answers it
      give_back(id);
      return;
    }
    if (recv(conn->fd, buf.data(), head.length, 0) != ssize_t(head.length)) {
      close(id, "receive failed");
      return;
    }
    start(*conn, *decided, cookie, extension, sp);
  }
}

void CmafFastPath::serve(Conn& c, const std::string& extension, const StreamPath& path) {
  const uint64_t id = c.id;
  const CmafAnswer a = answer_cmaf_woken(*registry_, extension, path, demand_);
  send(c, a.status, a.type, a.cache ? a.cache : "no-cache", a.body, false);
  if (Conn* conn = find(id); conn && !conn->busy()) read_requests(*conn);
}

void CmafFastPath::begin(Conn& c, const CmafAnswer& a, const std::string& extension, const StreamPath& path) {
  if (a.kind != CmafAnswer::Kind::hold) {
    send(c, a.status, a.type, a.cache ? a.cache : "no-cache", a.body, false);
    return;
  }
  // Held in the window's waiters (bounded there); woken, the request is answered anew.
  c.holding = true;
  std::weak_ptr<CmafFastPath> weak = weak_from_this();
  const std::string late_text = a.gave_up ? a.gave_up : "not made within the hold time\n";
  const bool held = a.stream->waiters.add(nullptr, a.msn, a.part, a.hold_ms,
                                          [weak, id = c.id, extension, path, late_text](SoupServerMessage*, bool late) {
                                            auto self = weak.lock();
                                            Conn* conn = self ? self->find(id) : nullptr;
                                            if (!conn || !conn->holding) return;
                                            conn->holding = false;
                                            if (late)
                                              self->send_text(*conn, 503, late_text);
                                            else
                                              self->serve(*conn, extension, path);
                                          });
  if (!held) {
    c.holding = false;
    send_text(c, 503, "too many held requests\n");
  }
}

void CmafFastPath::send_text(Conn& c, int status, const std::string& text) {
  send(c, status, "text/plain", "no-cache", Ref<GBytes>::adopt(g_bytes_new(text.data(), text.size())), false);
}

void CmafFastPath::send(Conn& c, int status, const char* type, const char* cache, Ref<GBytes> body, bool close_after) {
  const size_t size = body ? g_bytes_get_size(body.get()) : 0;
  std::string& h = c.out_head;
  h = "HTTP/1.1 " + std::to_string(status) + " " + soup_status_get_phrase(guint(status)) + "\r\nContent-Type: " + type +
      "\r\nContent-Length: " + std::to_string(size) + "\r\nCache-Control: " + cache + "\r\n";
  if (http_->cors()) h += "Access-Control-Allow-Origin: *\r\n";
  if (!c.set_cookie.empty()) h += "Set-Cookie: " + hls_set_cookie(c.set_cookie) + "\r\n";
  if (close_after) h += "Connection: close\r\n";
  h += "\r\n";
  c.out_body = std::move(body);
  c.out_off = 0;
  c.out_since_us = g_get_monotonic_time();
  c.close_after = close_after;
  if (c.bytes) *c.bytes += h.size() + size;
  flush(c);
}

void CmafFastPath::flush(Conn& c) {
  const uint64_t id = c.id;
  while (c.writing()) {
    size_t body_size = 0;
    const char* body = c.out_body ? static_cast<const char*>(g_bytes_get_data(c.out_body.get(), &body_size)) : nullptr;
    iovec iov[2];
    int count = 0;
    size_t off = c.out_off;
    if (off < c.out_head.size()) {
      iov[count++] = {const_cast<char*>(c.out_head.data() + off), c.out_head.size() - off};
      off = 0;
    } else {
      off -= c.out_head.size();
    }
    if (body_size > off) iov[count++] = {const_cast<char*>(body + off), body_size - off};
    if (count == 0) {
      c.out_head.clear();
      c.out_body = Ref<GBytes>();
      break;
    }
    msghdr m{};
    m.msg_iov = iov;
    m.msg_iovlen = size_t(count);
    const ssize_t n = sendmsg(c.fd, &m, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;  // EPOLLOUT resumes it
      close(id, "send failed");
      return;
    }
    c.out_off += size_t(n);
  }
  if (c.close_after) close(id, "answered and closed");
}

void CmafFastPath::give_back(uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  std::unique_ptr<Conn> c = std::move(it->second);
  conns_.erase(it);
  c->watch.reset();  // before the descriptor closes
  SoupServer* server = http_->soup_server();
  Ref<GSocketAddress> local = Ref<GSocketAddress>::adopt(g_socket_get_local_address(c->socket.get(), nullptr));
  Ref<GSocketAddress> remote = Ref<GSocketAddress>::adopt(g_socket_get_remote_address(c->socket.get(), nullptr));
  GError* error = nullptr;
  http_->reclaim_connection(c->socket.get());
  if (!server || !local || !remote ||
      !soup_server_accept_iostream(server, c->stream.get(), local.get(), remote.get(), &error)) {
    log_warn(c->key, "", "hls-fast",
             "connection from " + c->ip + " could not go back to libsoup: " + (error ? error->message : "no server"));
    if (error) g_error_free(error);
    g_io_stream_close(c->stream.get(), nullptr, nullptr);
  }
}

void CmafFastPath::close(uint64_t id, const char* why) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  std::unique_ptr<Conn> c = std::move(it->second);
  conns_.erase(it);
  c->watch.reset();  // before the descriptor closes
  g_io_stream_close(c->stream.get(), nullptr, nullptr);
  log_info(c->key, "", "hls-fast-close", "connection from " + c->ip + " closed: " + why);
}

void CmafFastPath::sweep() {
  const gint64 now = g_get_monotonic_time();
  std::vector<std::pair<uint64_t, const char*>> late;
  for (auto& [id, c] : conns_) {
    if (c->writing() && now - c->out_since_us > gint64(settings_.write_timeout_ms) * 1000)
      late.emplace_back(id, "answer not taken within the write deadline");
    else if (c->head_since_us && now - c->head_since_us > gint64(settings_.header_timeout_ms) * 1000)
      late.emplace_back(id, "request head not complete within the deadline");
    else if (!c->busy() && !c->head_since_us && now - c->last_us > gint64(settings_.keepalive_timeout_ms) * 1000)
      late.emplace_back(id, "no request on a kept-alive connection");
  }
  for (auto& [id, why] : late) close(id, why);
}

}  // namespace estuary::server
