// Owns: RtmpConnection (see rtmp_connection.h).
#include "server/protocols/rtmp/rtmp_connection.h"

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
constexpr int reads_per_wakeup = 8;              // fairness between connections on the control thread
constexpr size_t max_pending_output = 4u << 20;  // a peer that does not read its command replies is dropped
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
  read_source_.reset();
  write_source_.reset();
  timer_.reset();
  ingest_.reset();
}

void RtmpConnection::start() {
  g_socket_set_blocking(socket_, FALSE);
  GSource* rs = g_socket_create_source(socket_, GIOCondition(G_IO_IN | G_IO_HUP | G_IO_ERR), nullptr);
  g_source_set_callback(rs, G_SOURCE_FUNC(&RtmpConnection::on_readable), this, nullptr);  // guard-owned
  g_source_attach(rs, g_main_context_get_thread_default());
  read_source_ = SourceGuard(rs);
  GSource* t = g_timeout_source_new(500);
  g_source_set_callback(t, &RtmpConnection::on_timer, this, nullptr);  // guard-owned
  g_source_attach(t, g_main_context_get_thread_default());
  timer_ = SourceGuard(t);
  log_debug("", id_, "rtmp-accept", "connection from " + ip_);
}

gboolean RtmpConnection::on_readable(GSocket*, GIOCondition, gpointer self) {
  static_cast<RtmpConnection*>(self)->read_some();
  return G_SOURCE_CONTINUE;
}

gboolean RtmpConnection::on_writable(GSocket*, GIOCondition, gpointer self) {
  auto* c = static_cast<RtmpConnection*>(self);
  c->flush();
  return G_SOURCE_CONTINUE;
}

gboolean RtmpConnection::on_timer(gpointer self) {
  auto* c = static_cast<RtmpConnection*>(self);
  if (c->closed_) return G_SOURCE_CONTINUE;
  const auto& rc = *c->rtmp_config_;
  const int64_t now = g_get_monotonic_time();
  if (!c->registered_ && now - c->created_us_ > int64_t(rc.handshake_timeout_ms) * 1000) {
    c->close("timeout before publish or play");
  } else if (c->publishing_ && c->idle_ms() > rc.publish_timeout_ms) {
    c->close("publisher sent nothing for " + std::to_string(c->idle_ms()) + " ms");
  } else if (c->closing_after_flush_ && now - c->created_us_ > 0) {
    c->close(c->close_reason_);  // the peer did not take our last words in time
  }
  return G_SOURCE_CONTINUE;
}

int64_t RtmpConnection::idle_ms() const {
  const int64_t since = last_media_us_ ? last_media_us_ : created_us_;
  return (g_get_monotonic_time() - since) / 1000;
}

void RtmpConnection::read_some() {
  uint8_t buf[read_chunk];
  for (int i = 0; i < reads_per_wakeup && !closed_ && !handed_off_; ++i) {
    GError* err = nullptr;
    gssize n = g_socket_receive(socket_, reinterpret_cast<gchar*>(buf), sizeof buf, nullptr, &err);
    if (n < 0) {
      const bool would_block = g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
      std::string msg = err->message;
      g_error_free(err);
      if (!would_block) close("read error: " + msg);
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
    GError* err = nullptr;
    gssize n = g_socket_send(socket_, reinterpret_cast<const gchar*>(out_.data() + out_pos_), out_.size() - out_pos_,
                             nullptr, &err);
    if (n < 0) {
      const bool would_block = g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
      std::string msg = err->message;
      g_error_free(err);
      if (!would_block) {
        close("write error: " + msg);
        return;
      }
      if (out_.size() - out_pos_ > max_pending_output) {
        close("peer does not read");
        return;
      }
      if (!write_source_) {
        GSource* ws = g_socket_create_source(socket_, G_IO_OUT, nullptr);
        g_source_set_callback(ws, G_SOURCE_FUNC(&RtmpConnection::on_writable), this, nullptr);  // guard-owned
        g_source_attach(ws, g_main_context_get_thread_default());
        write_source_ = SourceGuard(ws);
      }
      return;
    }
    out_pos_ += size_t(n);
    sent_counter_->fetch_add(uint64_t(n), std::memory_order_relaxed);
  }
  out_.clear();
  out_pos_ = 0;
  write_source_.reset();
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
  read_source_.reset();
  write_source_.reset();
  timer_.reset();
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
  read_source_.reset();
  write_source_.reset();
  timer_.reset();
  hand_viewer_to_fanout(engine_, ports_.clients,
                        ViewerHandoff{std::move(channel), fd, id_, std::move(prefix), received_counter_->load()});
  // Our descriptor goes; the fan-out keeps its duplicate.
  g_io_stream_close(G_IO_STREAM(connection_.get()), nullptr, nullptr);
  closed_ = true;
  server_.forget(id_);
}

}  // namespace estuary::server
