// Owns: SrtConnection (see srt_connection.h).
#include "server/protocols/srt/srt_connection.h"

#include <algorithm>

#include "common/control_thread.h"
#include "common/log.h"
#include "server/control/ingest_events.h"
#include "server/protocols/srt/srt_server.h"

namespace estuary::server {
namespace {
constexpr size_t kMaxInboxBytes = 4u << 20;  // what may wait for a busy control thread; more is dropped
constexpr guint kTimerMs = 500;
}  // namespace

SrtConnection::SrtConnection(SrtServer& server, ControlPorts ports, std::shared_ptr<srt::Link> link,
                             srt::StreamId stream_id, std::string id)
    : server_(server),
      ports_(ports),
      srt_config_(ports.slice(&config::Config::srt)),
      bus_config_(ports.slice(&config::Config::bus)),
      link_(std::move(link)),
      stream_id_(std::move(stream_id)),
      id_(std::move(id)),
      created_us_(g_get_monotonic_time()) {}

SrtConnection::~SrtConnection() {
  timer_.reset();
  ingest_.reset();
  if (link_) link_->clear_handlers();
}

void SrtConnection::start() {
  const bool publish = stream_id_.mode == srt::Mode::publish;
  std::weak_ptr<bool> alive = alive_;
  Client c;
  c.id = id_;
  c.type = publish ? "srt-publish" : "srt-play";
  c.publish = publish;
  c.ip = link_->peer_ip();
  c.app = stream_id_.app;
  c.stream = stream_id_.stream;
  c.query = stream_id_.query;
  const std::string host = stream_id_.host.empty() ? srt_config_->address : stream_id_.host;
  c.tc_url = "srt://" + host + ":" + std::to_string(server_.port()) + "/" + stream_id_.app;
  c.start_us = created_us_;
  c.kick = [this, alive]() {
    if (!alive.expired()) close("kicked");
  };
  auto link = link_;
  c.bytes_sent = [link]() { return link->bytes_sent(); };
  c.bytes_received = [link]() { return link->bytes_received(); };
  c.srt_stats = [link]() { return link->stats(); };
  ports_.clients.add_client(std::move(c));
  log_debug(stream_id_.key(), id_, "srt-accept",
            std::string("mode=") + srt::mode_name(stream_id_.mode) + " streamid=" + link_->stream_id());

  // The I/O thread hands data over through the inbox: one post drains whatever has arrived by then.
  auto inbox = inbox_;
  srt::Link::Handlers h;
  h.on_data = [this, alive, inbox](std::vector<uint8_t> data) {
    std::lock_guard lock(inbox->mu);
    if (inbox->data.size() + data.size() > kMaxInboxBytes) {
      inbox->dropped += data.size();
      return;
    }
    if (inbox->data.empty())
      inbox->data.swap(data);
    else
      inbox->data.insert(inbox->data.end(), data.begin(), data.end());
    if (inbox->posted) return;
    inbox->posted = true;
    post_to_control([this, alive]() {
      if (!alive.expired()) drain();
    });
  };
  h.on_broken = [this, alive](const std::string& reason) {
    post_to_control([this, alive, reason]() {
      if (!alive.expired()) close(reason);
    });
  };
  link_->set_handlers(std::move(h));

  GSource* t = g_timeout_source_new(kTimerMs);
  g_source_set_callback(t, &SrtConnection::on_timer, this, nullptr);  // guard-owned
  g_source_attach(t, g_main_context_get_thread_default());
  timer_ = SourceGuard(t);

  // Limits, IP rules and on_publish/on_play first. The handshake is over, so a refusal can only
  // close the connection (the stream id, passphrase and a busy stream were checked before accept).
  const Admission::Action action = publish ? Admission::Action::publish : Admission::Action::play;
  ports_.admission.admit(id_, action, [this, alive, publish](const Verdict& v) {
    if (alive.expired() || closed_) return;
    if (!v.allowed) {
      close(std::string(publish ? "publish" : "play") + " refused: " + v.reason);
      return;
    }
    if (publish)
      start_publish();
    else
      start_play();
  });
}

gboolean SrtConnection::on_timer(gpointer self) {
  auto* c = static_cast<SrtConnection*>(self);
  if (c->closed_ || !c->publishing_) return G_SOURCE_CONTINUE;
  const int64_t idle = c->idle_ms();
  // libsrt ends a silent peer after peer_idle_timeout_ms; a peer that keeps the link alive but
  // sends no media ends the same way, so its stream frees up for a reconnecting encoder.
  if (idle > c->srt_config_->peer_idle_timeout_ms)
    c->close("publisher sent nothing for " + std::to_string(idle) + " ms");
  return G_SOURCE_CONTINUE;
}

int64_t SrtConnection::idle_ms() const {
  const int64_t since = std::max(link_->last_receive_us(), publish_since_us_ ? publish_since_us_ : created_us_);
  return (g_get_monotonic_time() - since) / 1000;
}

void SrtConnection::drain() {
  std::vector<uint8_t> data;
  uint64_t dropped = 0;
  {
    std::lock_guard lock(inbox_->mu);
    data.swap(inbox_->data);
    dropped = inbox_->dropped;
    inbox_->dropped = 0;
    inbox_->posted = false;
  }
  if (closed_) return;
  if (dropped > 0)
    log_warn(stream_id_.key(), id_, "srt-overload", "dropped " + std::to_string(dropped) + " received bytes");
  if (!publishing_ || !ingest_ || data.empty()) return;  // before admission: TS repeats its tables
  Status st = ingest_->push(data.data(), data.size());
  if (!st) close("ingest: " + st.error().message);
}

void SrtConnection::start_publish() {
  Status st = ports_.publish.begin_publish(id_, [this]() { return idle_ms(); });
  if (!st) {
    close("publish rejected: " + st.error().message);
    return;
  }
  const auto& bus = *bus_config_;
  pipelines::TsIngestSettings settings;
  settings.gop_cache_max_bytes = uint64_t(bus.gop_cache_max_kb) * 1024;
  ingest_ = std::make_unique<pipelines::TsIngest>(stream_id_.key(), settings);
  ingest_->set_events(ingest_events(ports_.publish, id_, alive_, [this](const std::string& reason) { close(reason); }));
  publishing_ = true;
  publish_since_us_ = g_get_monotonic_time();
}

void SrtConnection::start_play() {
  std::weak_ptr<bool> alive = alive_;
  Status st = ports_.play.begin_play(id_, "srt", [this, alive](fanout::ChannelPtr channel) {
    if (!alive.expired()) attach_player(std::move(channel));
  });
  if (!st) close("play rejected: " + st.error().message);
}

void SrtConnection::attach_player(fanout::ChannelPtr channel) {
  if (closed_) return;
  if (!channel) {
    close("stream output is not available");
    return;
  }
  playing_ = true;
  std::weak_ptr<bool> alive = alive_;
  server_.sender().add(std::move(channel), link_, id_, [this, alive](const std::string&, fanout::CloseReason reason) {
    const std::string why = fanout::close_reason_name(reason);
    post_to_control([this, alive, why]() {
      if (!alive.expired()) close(why);
    });
  });
}

void SrtConnection::close(const std::string& reason) {
  if (closed_) return;
  closed_ = true;
  timer_.reset();
  link_->clear_handlers();
  if (ingest_) ingest_->stop();
  if (playing_) server_.sender().remove(id_);
  server_.listener().unwatch(link_);
  link_->close();  // the peer learns at once (a refused publisher or player sees the end)
  ports_.clients.remove_client(id_, reason);
  server_.forget(id_);
}

}  // namespace estuary::server
