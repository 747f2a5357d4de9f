// Owns: the stand-in server's control loop, RTMP ingest and the hand-off of players to the fan-out
// engine (see standin.h). Runs on its own control thread.
#include "standin.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

#include "common/log.h"
#include "flv.h"
#include "rtmp.h"

namespace estuary::fanout::standin {

using load::AmfWriter;
using load::RtmpMessage;

namespace {

constexpr uint32_t kOutChunk = 4096;
constexpr uint64_t kTagRtmp = 1, kTagHttp = 2, kTagStop = 3;

int listen_on(int port, int* bound_port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(uint16_t(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4096) != 0) {
    ::close(fd);
    return -1;
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *bound_port = ntohs(a.sin_port);
  return fd;
}

struct Stream {
  std::string key;
  ChannelPtr flv, rtmp;
  std::vector<uint8_t> meta, avc, aac;
  bool media_started = false;
};

struct Conn {
  int fd = -1;
  bool http = false;
  std::string head;
  std::vector<uint8_t> out;
  int hs_state = 0;  // rtmp: 0 want C0C1, 1 want C2, 2 chunk stream
  std::vector<uint8_t> hs;
  load::ChunkReader reader{true};
  std::string app;
  std::string publishing;  // stream key while publishing
  uint64_t in_bytes = 0, last_ack = 0;
  bool want_close = false;
  bool handed_off = false;
  ~Conn() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

struct Server::Impl {
  Config cfg;
  std::unique_ptr<Engine> engine;
  int epfd = -1, rtmp_lfd = -1, http_lfd = -1, stop_fd = -1;
  std::thread thread;
  mutable std::mutex streams_mu;
  std::map<std::string, std::shared_ptr<Stream>> streams;
  std::unordered_map<Conn*, std::unique_ptr<Conn>> conns;
  uint64_t next_id = 1;

  void loop();
  void accept_all(int lfd, bool http);
  void on_readable(Conn& c);
  void flush(Conn& c);
  void on_http(Conn& c);
  void on_rtmp(Conn& c, const uint8_t* p, size_t n);
  void on_message(Conn& c, const RtmpMessage& m);
  void on_command(Conn& c, const RtmpMessage& m);
  void send_cmd(Conn& c, uint32_t csid, uint32_t sid, AmfWriter& w);
  void on_status(Conn& c, const std::string& level, const std::string& code, std::vector<uint8_t>* out = nullptr);
  void hand_off(Conn& c, const ChannelPtr& ch, std::vector<uint8_t> prefix, const std::string& kind);
  void end_publish(Conn& c);
  void update_headers(Stream& s);
  void on_media(Stream& s, const RtmpMessage& m);
};

Server::Server() : impl_(std::make_unique<Impl>()) {}
Server::~Server() { stop(); }

bool Server::start(const Config& config, std::string* error) {
  Impl& d = *impl_;
  d.cfg = config;
  d.engine = Engine::create(config.engine);
  if (!d.engine) {
    *error = "engine did not start";
    return false;
  }
  d.rtmp_lfd = listen_on(config.rtmp_port, &rtmp_port_);
  d.http_lfd = listen_on(config.http_port, &http_port_);
  if (d.rtmp_lfd < 0 || d.http_lfd < 0) {
    *error = "cannot listen on 127.0.0.1 (ports " + std::to_string(config.rtmp_port) + ", " +
             std::to_string(config.http_port) + ")";
    return false;
  }
  d.epfd = epoll_create1(EPOLL_CLOEXEC);
  d.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  const std::pair<int, uint64_t> regs[] = {{d.rtmp_lfd, kTagRtmp}, {d.http_lfd, kTagHttp}, {d.stop_fd, kTagStop}};
  for (auto [fd, tag] : regs) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    epoll_ctl(d.epfd, EPOLL_CTL_ADD, fd, &ev);
  }
  d.thread = std::thread([&d] { d.loop(); });
  return true;
}

void Server::stop() {
  Impl& d = *impl_;
  if (!d.thread.joinable()) return;
  uint64_t one = 1;
  ssize_t r = ::write(d.stop_fd, &one, sizeof one);
  (void)r;
  d.thread.join();
  d.conns.clear();
  {
    std::lock_guard lock(d.streams_mu);
    for (auto& [k, s] : d.streams) {
      s->flv->close();
      s->rtmp->close();
    }
    d.streams.clear();
  }
  d.engine.reset();
  for (int fd : {d.rtmp_lfd, d.http_lfd, d.stop_fd, d.epfd}) {
    if (fd >= 0) ::close(fd);
  }
}

size_t Server::viewer_count() const { return impl_->engine ? impl_->engine->viewer_count() : 0; }

ChannelStats Server::flv_stats(const std::string& app_stream) const {
  std::lock_guard lock(impl_->streams_mu);
  auto it = impl_->streams.find(app_stream);
  return it == impl_->streams.end() ? ChannelStats{} : it->second->flv->stats();
}

void Server::Impl::loop() {
  epoll_event events[256];
  for (;;) {
    int n = epoll_wait(epfd, events, 256, 1000);
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kTagStop) return;
      if (tag == kTagRtmp || tag == kTagHttp) {
        accept_all(tag == kTagRtmp ? rtmp_lfd : http_lfd, tag == kTagHttp);
        continue;
      }
      Conn* c = reinterpret_cast<Conn*>(tag);
      if (!conns.count(c)) continue;
      if (events[i].events & EPOLLOUT) flush(*c);
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) on_readable(*c);
      if (c->want_close || c->handed_off) {
        if (c->want_close && !c->publishing.empty()) end_publish(*c);
        conns.erase(c);
      }
    }
  }
}

void Server::Impl::accept_all(int lfd, bool http) {
  for (;;) {
    int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    auto c = std::make_unique<Conn>();
    c->fd = fd;
    c->http = http;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = reinterpret_cast<uint64_t>(c.get());
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    conns[c.get()] = std::move(c);
  }
}

void Server::Impl::flush(Conn& c) {
  while (!c.out.empty()) {
    ssize_t w = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (w > 0) {
      c.out.erase(c.out.begin(), c.out.begin() + w);
      continue;
    }
    if (w < 0 && (errno == EAGAIN || errno == EINTR)) break;
    c.want_close = true;
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (c.out.empty() ? 0u : uint32_t(EPOLLOUT));
  ev.data.u64 = reinterpret_cast<uint64_t>(&c);
  epoll_ctl(epfd, EPOLL_CTL_MOD, c.fd, &ev);
}

void Server::Impl::on_readable(Conn& c) {
  uint8_t buf[65536];
  for (int rounds = 0; rounds < 16 && !c.want_close && !c.handed_off; ++rounds) {
    ssize_t r = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
      c.want_close = true;
      return;
    }
    if (r < 0) break;
    if (c.http) {
      c.head.append(reinterpret_cast<char*>(buf), size_t(r));
      on_http(c);
    } else {
      on_rtmp(c, buf, size_t(r));
    }
  }
  if (!c.want_close && !c.handed_off && !c.out.empty()) flush(c);
}

void Server::Impl::on_http(Conn& c) {
  if (c.head.find("\r\n\r\n") == std::string::npos) {
    if (c.head.size() > 8192) c.want_close = true;
    return;
  }
  // "GET /app/stream.flv HTTP/1.1"
  std::string path;
  if (c.head.compare(0, 4, "GET ") == 0) path = c.head.substr(4, c.head.find(' ', 4) - 4);
  path = path.substr(0, path.find('?'));
  std::shared_ptr<Stream> s;
  if (path.size() > 5 && path.compare(path.size() - 4, 4, ".flv") == 0) {
    std::lock_guard lock(streams_mu);
    auto it = streams.find(path.substr(1, path.size() - 5));
    if (it != streams.end()) s = it->second;
  }
  if (!s) {
    std::string resp = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    ssize_t w = ::send(c.fd, resp.data(), resp.size(), MSG_NOSIGNAL);
    (void)w;
    c.want_close = true;
    return;
  }
  std::string resp =
      "HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\nConnection: close\r\nCache-Control: no-cache\r\n"
      "Access-Control-Allow-Origin: *\r\n\r\n";
  hand_off(c, s->flv, std::vector<uint8_t>(resp.begin(), resp.end()), "flv");
}

void Server::Impl::hand_off(Conn& c, const ChannelPtr& ch, std::vector<uint8_t> prefix, const std::string& kind) {
  epoll_ctl(epfd, EPOLL_CTL_DEL, c.fd, nullptr);
  if (!c.out.empty()) prefix.insert(prefix.begin(), c.out.begin(), c.out.end());
  const std::string id = kind + "-" + std::to_string(next_id++);
  engine->add_viewer(ch, c.fd, id, std::move(prefix), nullptr);
  c.fd = -1;
  c.handed_off = true;
}

void Server::Impl::on_rtmp(Conn& c, const uint8_t* p, size_t n) {
  if (c.hs_state == 0) {
    size_t take = std::min(n, 1 + load::kHandshakeSize - c.hs.size());
    c.hs.insert(c.hs.end(), p, p + take);
    p += take;
    n -= take;
    if (c.hs.size() < 1 + load::kHandshakeSize) return;
    c.out.push_back(3);
    c.out.resize(1 + load::kHandshakeSize, 0);                // S1: time 0, zero, zeros
    c.out.insert(c.out.end(), c.hs.begin() + 1, c.hs.end());  // S2 echoes C1
    c.hs.clear();
    c.hs_state = 1;
  }
  if (c.hs_state == 1) {
    size_t take = std::min(n, load::kHandshakeSize - c.hs.size());
    c.hs.insert(c.hs.end(), p, p + take);
    p += take;
    n -= take;
    if (c.hs.size() < load::kHandshakeSize) return;
    c.hs.clear();
    c.hs.shrink_to_fit();
    c.hs_state = 2;
  }
  if (n == 0) return;
  c.in_bytes += n;
  if (!c.reader.feed(p, n, [&](const RtmpMessage& m) {
        if (!c.handed_off && !c.want_close) on_message(c, m);
      })) {
    log_warn("", "", "standin", "RTMP protocol error: " + c.reader.error());
    c.want_close = true;
  }
  if (c.in_bytes - c.last_ack > 2'500'000 && !c.handed_off) {
    load::write_control(c.out, load::kAck, uint32_t(c.in_bytes));
    c.last_ack = c.in_bytes;
  }
}

void Server::Impl::send_cmd(Conn& c, uint32_t csid, uint32_t sid, AmfWriter& w) {
  load::write_chunked(c.out, csid, load::kCommandAmf0, 0, sid, w.bytes().data(), w.bytes().size(), kOutChunk);
}

void Server::Impl::on_status(Conn& c, const std::string& level, const std::string& code, std::vector<uint8_t>* out) {
  AmfWriter w;
  w.string("onStatus").number(0).null().begin_object();
  w.key("level").string(level).key("code").string(code).key("description").string(code);
  w.end_object();
  load::write_chunked(out ? *out : c.out, 5, load::kCommandAmf0, 0, 1, w.bytes().data(), w.bytes().size(), kOutChunk);
}

void Server::Impl::on_message(Conn& c, const RtmpMessage& m) {
  const uint8_t type = m.info.type;
  if (type == load::kCommandAmf0) return on_command(c, m);
  if (c.publishing.empty()) return;
  std::shared_ptr<Stream> s;
  {
    std::lock_guard lock(streams_mu);
    auto it = streams.find(c.publishing);
    if (it == streams.end()) return;
    s = it->second;
  }
  if (type == load::kDataAmf0) {
    auto v = load::amf_decode_all(m.payload->data(), m.payload->size());
    size_t skip = 0;
    if (!v.empty() && v[0].str == "@setDataFrame") skip = 3 + v[0].str.size();
    s->meta.assign(m.payload->begin() + long(skip), m.payload->end());
    update_headers(*s);
  } else if (type == load::kAudio || type == load::kVideo) {
    on_media(*s, m);
  }
}

void Server::Impl::on_command(Conn& c, const RtmpMessage& m) {
  auto v = load::amf_decode_all(m.payload->data(), m.payload->size());
  if (v.empty()) return;
  const std::string& name = v[0].str;
  const double txn = v.size() > 1 ? v[1].num : 0;
  if (name == "connect") {
    if (v.size() > 2) c.app = v[2].get_string("app");
    load::write_control(c.out, load::kWindowAckSize, 2'500'000);
    load::write_control(c.out, load::kSetPeerBandwidth, 2'500'000);
    load::write_control(c.out, load::kSetChunkSize, kOutChunk);
    AmfWriter w;
    w.string("_result").number(txn).begin_object();
    w.key("fmsVer").string("FMS/3,0,1,123").key("capabilities").number(31).end_object();
    w.begin_object().key("level").string("status").key("code").string("NetConnection.Connect.Success");
    w.key("objectEncoding").number(0).end_object();
    send_cmd(c, 3, 0, w);
  } else if (name == "createStream") {
    AmfWriter w;
    w.string("_result").number(txn).null().number(1);
    send_cmd(c, 3, 0, w);
  } else if (name == "releaseStream" || name == "FCPublish") {
    AmfWriter w;
    w.string("_result").number(txn).null();
    send_cmd(c, 3, 0, w);
  } else if (name == "publish" && v.size() > 3) {
    const std::string key = c.app + "/" + v[3].str.substr(0, v[3].str.find('?'));
    std::lock_guard lock(streams_mu);
    if (streams.count(key)) {
      on_status(c, "error", "NetStream.Publish.BadName");
      return;
    }
    auto s = std::make_shared<Stream>();
    s->key = key;
    s->flv = Channel::create(key + ".flv", cfg.limits);
    s->rtmp = Channel::create(key + ".rtmp", cfg.limits);
    streams[key] = s;
    c.publishing = key;
    update_headers(*s);
    on_status(c, "status", "NetStream.Publish.Start");
    log_info(key, "", "standin-publish", "publishing");
  } else if (name == "play" && v.size() > 3) {
    const std::string key = c.app + "/" + v[3].str.substr(0, v[3].str.find('?'));
    std::shared_ptr<Stream> s;
    {
      std::lock_guard lock(streams_mu);
      auto it = streams.find(key);
      if (it != streams.end()) s = it->second;
    }
    if (!s) {
      on_status(c, "error", "NetStream.Play.StreamNotFound");
      return;
    }
    std::vector<uint8_t> prefix;
    load::write_user_control(prefix, 0, 1);  // StreamBegin
    on_status(c, "status", "NetStream.Play.Reset", &prefix);
    on_status(c, "status", "NetStream.Play.Start", &prefix);
    AmfWriter w;
    w.string("|RtmpSampleAccess").boolean(true).boolean(true);
    load::write_chunked(prefix, 5, load::kDataAmf0, 0, 1, w.bytes().data(), w.bytes().size(), kOutChunk);
    hand_off(c, s->rtmp, std::move(prefix), "rtmp");
  } else if ((name == "FCUnpublish" || name == "deleteStream") && !c.publishing.empty()) {
    end_publish(c);
  }
}

void Server::Impl::end_publish(Conn& c) {
  std::lock_guard lock(streams_mu);
  auto it = streams.find(c.publishing);
  if (it != streams.end()) {
    it->second->flv->close();
    it->second->rtmp->close();
    streams.erase(it);
  }
  log_info(c.publishing, "", "standin-unpublish", "publisher left");
  c.publishing.clear();
}

void Server::Impl::update_headers(Stream& s) {
  std::vector<PayloadPtr> flv, rtmp;
  flv.push_back(make_payload(load::flv_file_header()));
  auto add = [&](uint8_t type, uint32_t csid, const std::vector<uint8_t>& body) {
    if (body.empty()) return;
    std::vector<uint8_t> tag, msg;
    load::append_flv_tag(tag, type, 0, body.data(), body.size());
    load::write_chunked(msg, csid, type, 0, 1, body.data(), body.size(), kOutChunk);
    flv.push_back(make_payload(std::move(tag)));
    rtmp.push_back(make_payload(std::move(msg)));
  };
  add(load::kDataAmf0, 5, s.meta);
  add(load::kVideo, 6, s.avc);
  add(load::kAudio, 4, s.aac);
  s.flv->set_header(std::move(flv));
  s.rtmp->set_header(std::move(rtmp));
}

void Server::Impl::on_media(Stream& s, const RtmpMessage& m) {
  const std::vector<uint8_t>& body = *m.payload;
  if (m.info.is_sequence_header()) {
    (m.info.type == load::kVideo ? s.avc : s.aac) = body;
    update_headers(s);
    if (!s.media_started) return;  // new viewers get it in the header; running ones below
  }
  s.media_started = true;
  std::vector<uint8_t> tag, msg;
  load::append_flv_tag(tag, m.info.type, m.info.ts, body.data(), body.size());
  load::write_chunked(msg, m.info.type == load::kVideo ? 6 : 4, m.info.type, m.info.ts, 1, body.data(), body.size(),
                      kOutChunk);
  const bool kf = m.info.is_video_keyframe();
  // Marked video frames set the pace of batched writes; audio rides along with them.
  const bool video = cfg.mark_video && m.info.type == load::kVideo;
  s.flv->push(Packet{make_payload(std::move(tag)), kf, int64_t(m.info.ts), video});
  s.rtmp->push(Packet{make_payload(std::move(msg)), kf, int64_t(m.info.ts), video});
}

}  // namespace estuary::fanout::standin
