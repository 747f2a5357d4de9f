// Owns: RtmpConnection (see rtmp_connection.h).
#include "server/protocols/rtmp/rtmp_connection.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/control_thread.h"
#include "common/log.h"
#include "pipelines/flv_writer.h"
#include "pipelines/flv_writer_output.h"
#include "pipelines/stream_bus.h"
#include "server/control/ingest_events.h"
#include "server/control/viewer_handoff.h"
#include "server/net/socket_util.h"
#include "server/protocols/rtmp/rtmp_server.h"

namespace estuary::server {
namespace {
constexpr size_t read_chunk = 64 * 1024;
constexpr int reads_per_wakeup = 8;                     // fairness between connections on the control thread
constexpr size_t max_pending_output = 4u << 20;         // a peer that does not read its command replies is dropped
constexpr uint32_t read_events = EPOLLIN | EPOLLRDHUP;  // level-triggered: a fair share per wakeup
}  // namespace

RtmpConnection::RtmpConnection(RtmpServer& server, ControlPorts ports, fanout::Engine& engine,
                               GSocketConnection* connection, std::string id, std::string ip)
    : server_(server),
      ports_(ports),
      rtmp_config_(ports.slice(&config::Config::rtmp)),
      bus_config_(ports.slice(&config::Config::bus)),
      engine_(engine),
      connection_(Ref<GSocketConnection>::add_ref(connection)),
      socket_(g_socket_connection_get_socket(connection)),
      fd_(g_socket_get_fd(socket_)),
      id_(std::move(id)),
      ip_(ip.empty() ? peer_ip(connection) : std::move(ip)),
      created_us_(g_get_monotonic_time()) {
  const auto& rc = *rtmp_config_;
  rtmp::SessionLimits limits;
  limits.max_message_size = size_t(rc.max_message_kb) * 1024;
  limits.out_chunk_size = uint32_t(rc.chunk_size);
  session_ = std::make_unique<rtmp::Session>(*this, limits);
}

RtmpConnection::~RtmpConnection() {
  watch_.reset();
  ingest_.reset();
}

void RtmpConnection::start(EpollSet* epoll) {
  if (!epoll) {
    close("the RTMP server has no epoll set");
    return;
  }
  g_socket_set_blocking(socket_, FALSE);
  // The watch is a member: resetting it (close, hand-off, destruction) ends the handler first.
  auto watch = epoll->watch(fd_, read_events, [this](uint32_t events) { on_events(events); });
  if (!watch) {
    close(watch.error().message);
    return;
  }
  watch_ = std::move(*watch);
  log_debug("", id_, "rtmp-accept", "connection from " + ip_);
}

void RtmpConnection::on_events(uint32_t events) {
  if (events & EPOLLOUT) flush();
  if (!closed_ && !handed_off_ && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) read_some();
}

void RtmpConnection::tick() {
  if (closed_) return;
  const auto& rc = *rtmp_config_;
  const int64_t now = g_get_monotonic_time();
  if (!registered_ && now - created_us_ > int64_t(rc.handshake_timeout_ms) * 1000) {
    close("timeout before publish or play");
  } else if (publishing_ && idle_ms() > rc.publish_timeout_ms) {
    close("publisher sent nothing for " + std::to_string(idle_ms()) + " ms");
  } else if (closing_after_flush_) {
    close(close_reason_);  // the peer did not take our last words in time
  }
}

int64_t RtmpConnection::idle_ms() const {
  const int64_t since = last_media_us_ ? last_media_us_ : created_us_;
  return (g_get_monotonic_time() - since) / 1000;
}

void RtmpConnection::read_some() {
  uint8_t buf[read_chunk];
  for (int i = 0; i < reads_per_wakeup && !closed_ && !handed_off_; ++i) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) close(std::string("read error: ") + g_strerror(errno));
      return;
    }
    if (n == 0) {
      close("peer closed");
      return;
    }
    bytes_received_ += size_t(n);
    received_counter_->fetch_add(uint64_t(n), std::memory_order_relaxed);
    Status st = session_->feed(buf, size_t(n));
    if (closed_ || handed_off_) return;
    if (!st) {
      log_warn(publishing_ ? connect_info_.app : "", id_, "rtmp-protocol-error", st.error().message);
      close("protocol error: " + st.error().message);
      return;
    }
    flush();
    if (size_t(n) < sizeof buf) return;
  }
}

void RtmpConnection::flush() {
  if (closed_ || handed_off_) return;
  auto more = session_->take_output();
  out_.insert(out_.end(), more.begin(), more.end());
  while (out_pos_ < out_.size()) {
    const ssize_t n = ::send(fd_, out_.data() + out_pos_, out_.size() - out_pos_, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        close(std::string("write error: ") + g_strerror(errno));
        return;
      }
      if (out_.size() - out_pos_ > max_pending_output) {
        close("peer does not read");
        return;
      }
      watch_.set_events(read_events | EPOLLOUT);
      return;
    }
    out_pos_ += size_t(n);
    sent_counter_->fetch_add(uint64_t(n), std::memory_order_relaxed);
  }
  out_.clear();
  out_pos_ = 0;
  watch_.set_events(read_events);
  if (closing_after_flush_) close(close_reason_);
}

void RtmpConnection::close_after_flush(const std::string& reason) {
  closing_after_flush_ = true;
  close_reason_ = reason;
  flush();
}

void RtmpConnection::close(const std::string& reason) {
  if (closed_) return;
  closed_ = true;
  watch_.reset();
  if (ingest_) ingest_->stop();
  if (registered_)
    ports_.clients.remove_client(id_, reason);
  else
    log_debug("", id_, "rtmp-close", reason);
  g_io_stream_close(G_IO_STREAM(connection_.get()), nullptr, nullptr);
  server_.forget(id_);
}

void RtmpConnection::register_client(const rtmp::StreamRequest& request, const std::string& type, bool publish) {
  Client c;
  c.id = id_;
  c.type = type;
  c.publish = publish;
  c.ip = ip_;
  c.app = request.app;
  c.stream = request.stream;
  c.query = request.query;
  c.tc_url = request.tc_url.empty() ? connect_info_.tc_url : request.tc_url;
  c.page_url = connect_info_.page_url;
  c.swf_url = connect_info_.swf_url;
  c.start_us = created_us_;
  c.kick = [this]() { close("kicked"); };
  auto sent = sent_counter_;
  auto received = received_counter_;
  c.bytes_sent = [sent]() { return sent->load(std::memory_order_relaxed); };
  c.bytes_received = [received]() { return received->load(std::memory_order_relaxed); };
  ports_.clients.add_client(std::move(c));
  registered_ = true;
}

void RtmpConnection::on_connect(const rtmp::ConnectInfo& info) {
  connect_info_ = info;
  log_debug("", id_, "rtmp-connect", "app=" + info.app + " tcUrl=" + info.tc_url);
}

void RtmpConnection::on_publish_request(const rtmp::StreamRequest& request) {
  if (registered_) {
    session_->reject_publish("NetStream.Publish.BadName", "one publish or play per connection");
    close_after_flush("second publish/play on one connection");
    return;
  }
  if (request.stream.empty() || request.app.empty()) {
    session_->reject_publish("NetStream.Publish.BadName", "app and stream name are required");
    close_after_flush("bad stream name");
    return;
  }
  register_client(request, "fmle-publish", true);
  // Limits, IP rules and on_publish first; NetStream.Publish.Start waits for the verdict.
  std::weak_ptr<bool> alive = alive_;
  ports_.admission.admit(id_, Admission::Action::publish, [this, alive, request](const Verdict& v) {
    if (alive.expired() || closed_) return;
    if (!v.allowed) {
      session_->reject_publish("NetStream.Publish.Rejected", v.reason);
      close_after_flush("publish refused: " + v.reason);
      return;
    }
    start_publish(request);
  });
}

void RtmpConnection::start_publish(const rtmp::StreamRequest& request) {
  Status st = ports_.publish.begin_publish(id_, [this]() { return idle_ms(); });
  if (!st) {
    session_->reject_publish("NetStream.Publish.BadName", st.error().message);
    close_after_flush("publish rejected: " + st.error().message);
    return;
  }
  const auto& bus = *bus_config_;
  pipelines::IngestSettings settings;
  settings.gop_cache_max_bytes = uint64_t(bus.gop_cache_max_kb) * 1024;
  ingest_ = std::make_unique<pipelines::FlvIngest>(request.app + "/" + request.stream, settings);
  ingest_->set_events(ingest_events(ports_.publish, id_, alive_, [this](const std::string& reason) { close(reason); }));
  publishing_ = true;
  last_media_us_ = g_get_monotonic_time();
  session_->accept_publish();
  flush();
}

void RtmpConnection::on_media(rtmp::MediaType type, uint32_t timestamp_ms, const uint8_t* payload, size_t size) {
  if (!publishing_ || !ingest_) return;
  last_media_us_ = g_get_monotonic_time();
  Status st = ingest_->push(uint8_t(type), timestamp_ms, payload, size);
  if (!st) close("ingest refused the media: " + st.error().message);
}

void RtmpConnection::on_unpublish() {
  if (publishing_) close_after_flush("unpublished");
}

void RtmpConnection::on_play_request(const rtmp::StreamRequest& request) {
  if (registered_) {
    session_->reject_play("NetStream.Play.Failed", "one publish or play per connection");
    close_after_flush("second publish/play on one connection");
    return;
  }
  register_client(request, "rtmp-play", false);
  std::weak_ptr<bool> alive = alive_;
  ports_.admission.admit(id_, Admission::Action::play, [this, alive](const Verdict& v) {
    if (alive.expired() || closed_) return;
    if (!v.allowed) {
      session_->reject_play("NetStream.Play.Rejected", v.reason);
      close_after_flush("play refused: " + v.reason);
      return;
    }
    start_play();
  });
}

void RtmpConnection::start_play() {
  std::weak_ptr<bool> alive = alive_;
  Status st = ports_.play.begin_play(id_, "rtmp", [this, alive](fanout::ChannelPtr channel) {
    if (!alive.expired()) attach_player(std::move(channel));
  });
  if (!st) {
    session_->reject_play("NetStream.Play.StreamNotFound", st.error().message);
    close_after_flush("play rejected: " + st.error().message);
  }
}

std::string RtmpConnection::legacy_player_refusal(const std::string& key) const {
  const pipelines::MediaCodec video = pipelines::flv_codec_of_caps(pipelines::bus_caps(key, "video").get());
  if (video == pipelines::MediaCodec::none || !pipelines::flv_video_needs_enhanced(video)) return "";
  const std::string cc = pipelines::flv_video_fourcc(video);
  for (const std::string& declared : connect_info_.four_cc_list)
    if (declared == cc || declared == "*") return "";
  return "stream " + key + " is " + pipelines::media_codec_name(video) + ", sent as enhanced RTMP (FourCC " + cc +
         "), which this player did not declare in connect's fourCcList";
}

void RtmpConnection::attach_player(fanout::ChannelPtr channel) {
  if (closed_ || handed_off_) return;
  if (!channel) {
    const Client* c = ports_.clients.find_client(id_);
    if (c && !ports_.play.stream_is_live(c->key())) {  // the wait for the stream ran out ([play] wait_ms)
      session_->reject_play("NetStream.Play.StreamNotFound", "stream " + c->key() + " is not published");
      close_after_flush("play rejected: stream " + c->key() + " did not go live in time");
      return;
    }
    session_->reject_play("NetStream.Play.Failed", "stream output is not available");
    close_after_flush("output unavailable");
    return;
  }
  if (const Client* c = ports_.clients.find_client(id_)) {
    const std::string why = legacy_player_refusal(c->key());
    if (!why.empty()) {
      session_->reject_play("NetStream.Play.Failed", why);
      close_after_flush("play refused: " + why);
      return;
    }
  }
  session_->accept_play();
  auto more = session_->take_output();
  std::vector<uint8_t> prefix(out_.begin() + long(out_pos_), out_.end());
  prefix.insert(prefix.end(), more.begin(), more.end());
  out_.clear();
  out_pos_ = 0;
  const int fd = dup_socket_fd(socket_);
  if (fd < 0) {
    close("cannot duplicate socket");
    return;
  }
  handed_off_ = true;
  watch_.reset();  // before our descriptor closes: the fan-out's duplicate keeps the file open
  hand_viewer_to_fanout(engine_, ports_.clients,
                        ViewerHandoff{std::move(channel), fd, id_, std::move(prefix), received_counter_->load()});
  // Our descriptor goes; the fan-out keeps its duplicate.
  g_io_stream_close(G_IO_STREAM(connection_.get()), nullptr, nullptr);
  closed_ = true;
  server_.forget(id_);
}

}  // namespace estuary::server
