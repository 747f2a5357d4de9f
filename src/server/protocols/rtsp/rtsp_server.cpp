// Owns: the RTSP output (see rtsp_server.h).
#include "server/protocols/rtsp/rtsp_server.h"

#include <gst/rtsp-server/rtsp-server.h>

#include <map>
#include <vector>

#include "common/control_thread.h"
#include "common/gobject_ptr.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/timer.h"
#include "pipelines/stream_bus.h"
#include "server/config/config.h"
#include "server/control/output.h"
#include "server/control/ports.h"
#include "server/net/socket_util.h"
#include "server/protocols/rtsp/rtsp_paths.h"
#include "server/protocols/rtsp/rtsp_publish.h"
#include "server/protocols/rtsp/rtsp_state.h"

namespace estuary::server {

bool split_rtsp_path(const char* abspath, std::string* app, std::string* stream) {
  if (!abspath || abspath[0] != '/') return false;
  std::string p(abspath + 1);
  if (!p.empty() && p.back() == '/') p.pop_back();
  auto slash = p.find('/');
  if (slash == std::string::npos) return false;
  *app = p.substr(0, slash);
  *stream = p.substr(slash + 1);
  return config::is_valid_name_component(*app) && config::is_valid_name_component(*stream);
}

std::string rtsp_client_ip(GstRTSPClient* client) {
  GstRTSPConnection* conn = gst_rtsp_client_get_connection(client);
  const gchar* ip = conn ? gst_rtsp_connection_get_ip(conn) : nullptr;
  return ip ? ip : "";
}

std::shared_ptr<GWeakRef> weak_rtsp_client(GstRTSPClient* client) {
  auto weak = std::shared_ptr<GWeakRef>(new GWeakRef, [](GWeakRef* w) {
    g_weak_ref_clear(w);
    delete w;
  });
  g_weak_ref_init(weak.get(), client);
  return weak;
}

std::function<void()> rtsp_kick(GstRTSPClient* client) {
  auto weak = weak_rtsp_client(client);
  return [weak]() {
    if (auto* cl = static_cast<GstRTSPClient*>(g_weak_ref_get(weak.get()))) {
      gst_rtsp_client_close(cl);
      g_object_unref(cl);
    }
  };
}

void close_rtsp_client_later(GstRTSPClient* client) {
  post_to_control([c = Ref<GstRTSPClient>::add_ref(client)] { gst_rtsp_client_close(c.get()); });
}

namespace {

bool has_track(const std::string& key, const char* media) { return pipelines::bus_caps(key, media).get() != nullptr; }

// Media type of the stream's track ("" when it has none).
std::string track_media(const std::string& key, const char* media) {
  Ref<GstCaps> caps = pipelines::bus_caps(key, media);
  if (!caps || gst_caps_is_empty(caps.get())) return "";
  return gst_structure_get_name(gst_caps_get_structure(caps.get(), 0));
}

// Parser and payloader of a track's codec; "" for a codec RTP cannot carry here (the track is left out).
std::string payload_chain(const std::string& media, const std::string& name, int pt) {
  const std::string pay = " name=" + name + " pt=" + std::to_string(pt);
  if (media == "video/x-h264") return "h264parse config-interval=-1 ! rtph264pay" + pay + " config-interval=-1";
  if (media == "video/x-h265") return "h265parse config-interval=-1 ! rtph265pay" + pay + " config-interval=-1";
  if (media == "video/x-vp9") return "vp9parse ! rtpvp9pay" + pay;
  if (media == "audio/mpeg") return "aacparse ! rtpmp4gpay" + pay;
  if (media == "audio/x-opus") return "opusparse ! rtpopuspay" + pay;
  return "";
}

// The shared media's pipeline: the stream bus, parsed and payloaded per track (by its codec).
std::string media_launch(const std::string& key, const std::string& video, const std::string& audio) {
  std::string launch = "( estuarysrc stream=" + key + " name=src";
  int pay = 0;
  const std::string v = video.empty() ? "" : payload_chain(video, "pay" + std::to_string(pay), 96);
  if (!v.empty()) {
    launch += " src.video ! queue ! " + v;
    pay++;
  }
  const std::string a = audio.empty() ? "" : payload_chain(audio, "pay" + std::to_string(pay), 97);
  if (!a.empty()) launch += " src.audio ! queue ! " + a;
  return launch + " )";
}

void mount(RtspServer::State& st, const std::string& key, const std::string& video, const std::string& audio) {
  const std::string launch = media_launch(key, video, audio);
  auto it = st.mounts.find(key);
  if (it != st.mounts.end() && it->second.launch == launch) return;
  GstRTSPMediaFactory* factory = gst_rtsp_media_factory_new();
  gst_rtsp_media_factory_set_launch(factory, launch.c_str());
  gst_rtsp_media_factory_set_shared(factory, TRUE);
  gst_rtsp_media_factory_set_protocols(factory, GstRTSPLowerTrans(GST_RTSP_LOWER_TRANS_UDP | GST_RTSP_LOWER_TRANS_TCP));
  Ref<GstRTSPMountPoints> mounts = Ref<GstRTSPMountPoints>::adopt(gst_rtsp_server_get_mount_points(st.server.get()));
  gst_rtsp_mount_points_add_factory(mounts.get(), ("/" + key).c_str(), factory);  // takes the factory
  forget_record_mount(st, key);  // a publisher's record mount there is replaced (it has its media already)
  st.mounts[key] = {launch};
  log_info(key, "", "rtsp-mount",
           "shared media video=" + (video.empty() ? "none" : video) + " audio=" + (audio.empty() ? "none" : audio));
}

void unmount(RtspServer::State& st, const std::string& key, const std::string& why) {
  if (!st.mounts.erase(key)) return;
  Ref<GstRTSPMountPoints> mounts = Ref<GstRTSPMountPoints>::adopt(gst_rtsp_server_get_mount_points(st.server.get()));
  gst_rtsp_mount_points_remove_factory(mounts.get(), ("/" + key).c_str());
  log_info(key, "", "rtsp-unmount", why);
}

// Closes the RTSP clients of `key` (their media is gone).
void close_clients(RtspServer::State& st, const std::string& key) {
  std::vector<GstRTSPClient*> to_close;
  for (const auto& [client, info] : st.clients) {
    if (info.key == key && !info.publisher) to_close.push_back(client);
  }
  for (GstRTSPClient* c : to_close) gst_rtsp_client_close(c);
}

// The stream's RTSP mount as an output kind ("rtsp"): the supervisor's slot lifecycle mounts it on the
// first RTSP viewer, unmounts it [outputs] linger_ms after the last one and when the stream ends.
class RtspMountOutput final : public Output {
 public:
  RtspMountOutput(OutputContext ctx, std::weak_ptr<RtspServer::State> state)
      : key_(ctx.app + "/" + ctx.stream), state_(std::move(state)) {}
  ~RtspMountOutput() override { stop(); }

  Status start() override {
    auto st = state_.lock();
    if (!st || !st->alive) return Error{"the RTSP server is not running", ErrorReason::unavailable, "rtsp"};
    const std::string video = track_media(key_, "video"), audio = track_media(key_, "audio");
    if (video.empty() && audio.empty())
      return Error{"stream " + key_ + " has no track", ErrorReason::not_found, "rtsp"};
    mount(*st, key_, video, audio);
    mounted_ = true;
    return ok_status();
  }

  void stop() override {
    if (!mounted_) return;
    mounted_ = false;
    auto st = state_.lock();
    if (!st) return;
    unmount(*st, key_, "no RTSP viewers or the stream ended");
    // Closing a client removes its record, which the supervisor must not see inside this teardown.
    post_to_control([weak = state_, key = key_]() {
      if (auto s = weak.lock()) close_clients(*s, key);
    });
  }

  bool ready() const override { return mounted_; }
  fanout::ChannelPtr channel(const std::string&) const override { return nullptr; }
  std::vector<fanout::ChannelPtr> channels() const override { return {}; }

 private:
  std::string key_;
  std::weak_ptr<RtspServer::State> state_;
  bool mounted_ = false;
};

// The held DESCRIBE of a client whose feed is now ready (or refused) is handled again: this time
// pre-describe answers it from info.feed. Runs from the main loop, never inside the supervisor.
void resume_describe(const RtspStatePtr& st, const std::shared_ptr<GWeakRef>& weak) {
  auto* raw = static_cast<GstRTSPClient*>(g_weak_ref_get(weak.get()));
  if (!raw) return;
  Ref<GstRTSPClient> client = Ref<GstRTSPClient>::adopt(raw);
  auto it = st->clients.find(client.get());
  if (!st->alive || it == st->clients.end() || !it->second.held_describe) return;
  auto request = std::move(it->second.held_describe);
  gst_rtsp_client_handle_message(client.get(), request.get());
}

// Whether the stream's bus holds what the shared media needs to prepare: a keyframe (and audio, if
// the stream has an audio track). Preparing blocks the main loop until its payloaders have data,
// and a just-ready stream's first media may still be on its way through the main loop (RTMP).
bool media_flowing(const std::string& key) {
  pipelines::BusStats stats;
  if (!pipelines::bus_stats(key, &stats)) return false;
  const bool video_ok = !has_track(key, "video") || stats.keyframes > 0;
  const bool audio_ok = !has_track(key, "audio") || stats.audio_buffers > 0;
  return video_ok && audio_ok;
}

// Resumes the held DESCRIBE once the stream's media flows (bounded: then it resumes anyway).
void resume_when_flowing(const RtspStatePtr& st, GstRTSPClient* client, const std::shared_ptr<GWeakRef>& weak,
                         const std::string& key, bool live) {
  auto it = st->clients.find(client);
  if (it == st->clients.end()) return;
  constexpr int kPollMs = 20, kMaxPolls = 150;  // 3 s
  auto polls = std::make_shared<int>(0);
  std::weak_ptr<RtspServer::State> weak_state = st;
  it->second.resume_timer = start_repeating_timer(kPollMs, [weak_state, weak, key, live, polls]() {
    auto s = weak_state.lock();
    if (!s) return false;
    if (live && !media_flowing(key) && ++*polls < kMaxPolls) return true;
    // Handled from a fresh main-loop turn, not inside this timer (the client may close meanwhile).
    post_to_control([s, weak]() { resume_describe(s, weak); });
    return false;
  });
}

GstRTSPStatusCode on_pre_describe(GstRTSPClient* client, GstRTSPContext* ctx, gpointer data) {
  const RtspStatePtr& stp = *static_cast<RtspStatePtr*>(data);
  RtspServer::State& st = *stp;
  if (!st.alive) return GST_RTSP_STS_SERVICE_UNAVAILABLE;
  std::string app, stream;
  if (!ctx->uri || !split_rtsp_path(ctx->uri->abspath, &app, &stream)) return GST_RTSP_STS_NOT_FOUND;
  const std::string key = app + "/" + stream;
  // A live stream without a track RTP can carry is not found; one not live yet is waited for.
  if (st.ports->play.stream_is_live(key) && !has_track(key, "video") && !has_track(key, "audio"))
    return GST_RTSP_STS_NOT_FOUND;

  auto& info = st.clients[client];
  if (info.publisher) return GST_RTSP_STS_METHOD_NOT_VALID_IN_THIS_STATE;  // a publishing connection
  if (!info.id.empty()) {
    // A DESCRIBE again (already a viewer of its mount), or the held one handled again.
    if (!info.feed) return GST_RTSP_STS_NOT_FOUND;  // a second DESCRIBE while the first waits
    return *info.feed ? GST_RTSP_STS_OK : GST_RTSP_STS_NOT_FOUND;
  }
  info.id = new_client_id();
  info.key = key;
  Client c;
  c.id = info.id;
  c.type = "rtsp-play";
  c.ip = rtsp_client_ip(client);
  c.app = app;
  c.stream = stream;
  if (ctx->uri->query) c.query = ctx->uri->query;  // the viewer's token (hooks, an edge's pull)
  c.start_us = g_get_monotonic_time();
  // The kick closes the connection; "closed" then removes the record.
  c.kick = rtsp_kick(client);
  st.ports->clients.add_client(std::move(c));
  // The mount is the stream's "rtsp" output. A live stream's is ready on return (unless the output
  // is backing off after a failure); for one not live yet, begin_feed waits ([play] wait_ms, an
  // on-demand source or an edge's pull) and calls back when it is mounted or at the deadline.
  const std::string id = info.id;
  auto answered = std::make_shared<bool>(false);
  std::weak_ptr<RtspServer::State> weak_state = stp;
  auto weak_client = weak_rtsp_client(client);
  Status joined = st.ports->play.begin_feed(
      id, "rtsp", [answered, weak_state, weak_client, client, id, key](Result<std::string> r) {
        auto s = weak_state.lock();
        auto* alive = s ? static_cast<GstRTSPClient*>(g_weak_ref_get(weak_client.get())) : nullptr;
        if (!alive) return;
        g_object_unref(alive);
        auto it = s->clients.find(client);
        if (it == s->clients.end() || it->second.id != id) return;
        it->second.feed = r ? ok_status() : Status(r.error());
        if (!*answered) return;  // ready at once: pre-describe answers it now
        if (r)
          log_info(key, id, "rtsp-describe-resume", "the stream is live: answering the held DESCRIBE");
        else
          log_info(key, id, "rtsp-describe-resume", "answering the held DESCRIBE: " + r.error().message);
        resume_when_flowing(s, client, weak_client, key, r.ok());
      });
  *answered = true;
  if (!joined || (info.feed && !*info.feed)) {
    const std::string why = !joined ? joined.error().message : info.feed->error().message;
    log_warn(key, id, "rtsp-refused", why);
    return !joined || info.feed->error().reason == ErrorReason::not_found ? GST_RTSP_STS_NOT_FOUND
                                                                          : GST_RTSP_STS_SERVICE_UNAVAILABLE;
  }
  if (info.feed) return GST_RTSP_STS_OK;
  // Waiting: hold the request; the placeholder answer this DESCRIBE gets now is swallowed.
  GstRTSPMessage* copy = nullptr;
  if (gst_rtsp_message_copy(ctx->request, &copy) != GST_RTSP_OK || !copy) return GST_RTSP_STS_INTERNAL_SERVER_ERROR;
  info.held_describe.reset(copy);
  info.swallow_response = true;
  info.deadline.reset();  // the wait's own deadline applies
  log_info(key, id, "rtsp-describe-wait", "stream not live yet: the DESCRIBE waits for it");
  return GST_RTSP_STS_NOT_FOUND;
}

void on_client_closed(GstRTSPClient* client, gpointer data) {
  RtspServer::State& st = state_of(data);
  auto it = st.clients.find(client);
  if (it == st.clients.end()) return;
  end_rtsp_publish(st, it->second, "closed");
  std::string id = it->second.id;
  st.clients.erase(it);
  if (!id.empty()) st.ports->clients.remove_client(id, "closed");
}

// Closes a client that has not sent a whole request (first: header_timeout_ms; then, until it has a
// session: keepalive_timeout_ms after each response). The timer lives in the client's record.
void arm_deadline(RtspServer::State& st, GstRTSPClient* client, int ms, const char* what) {
  auto it = st.clients.find(client);
  if (it == st.clients.end()) return;
  const std::string ip = it->second.slot ? it->second.slot->ip() : "?";
  it->second.deadline = start_timer(ms, [client, ms, what, ip] {
    log_info("", "", "rtsp-timeout",
             "closed connection from " + ip + ": " + what + " not complete within " + std::to_string(ms) + " ms");
    // Our own reference across the close: "closed" makes the server drop its reference, and the
    // client must not be finalized while gst_rtsp_client_close still holds its lock.
    Ref<GstRTSPClient> keep = Ref<GstRTSPClient>::add_ref(client);
    gst_rtsp_client_close(keep.get());
  });
}

void on_send_message(GstRTSPClient* client, GstRTSPContext*, GstRTSPMessage* message, gpointer data) {
  RtspServer::State& st = state_of(data);
  auto it = st.clients.find(client);
  if (it == st.clients.end()) return;
  if (it->second.swallow_response && message && gst_rtsp_message_get_type(message) == GST_RTSP_MESSAGE_RESPONSE) {
    // The placeholder answer of a held DESCRIBE: it goes out as an empty interleaved data frame,
    // which RTSP clients skip while they wait for the answer; the real one follows when it resumes.
    it->second.swallow_response = false;
    gst_rtsp_message_unset(message);
    gst_rtsp_message_init_data(message, 255);
    gst_rtsp_message_take_body_buffer(message, gst_buffer_new());
    return;  // no request deadline while the DESCRIBE waits
  }
  if (it->second.in_session) return;
  const ConnectionLimits limits = st.limits ? st.limits() : ConnectionLimits{};
  arm_deadline(st, client, limits.keepalive_timeout_ms, "next request");
}

void on_new_session(GstRTSPClient* client, GstRTSPSession*, gpointer data) {
  RtspServer::State& st = state_of(data);
  auto it = st.clients.find(client);
  if (it == st.clients.end()) return;
  it->second.in_session = true;  // the session's own timeout and the output lifecycle take over
  it->second.deadline.reset();
}

void on_client_connected(GstRTSPServer*, GstRTSPClient* client, gpointer data) {
  const RtspStatePtr& st = *static_cast<RtspStatePtr*>(data);
  const ConnectionLimits limits = st->limits ? st->limits() : ConnectionLimits{};
  GstRTSPConnection* conn = gst_rtsp_client_get_connection(client);
  const std::string ip = conn && gst_rtsp_connection_get_ip(conn) ? gst_rtsp_connection_get_ip(conn) : "?";
  RtspServer::State::ClientInfo& info = st->clients[client];
  connect_with_state(client, "closed", G_CALLBACK(on_client_closed), st);
  if (st->per_ip && !st->per_ip->acquire(ip, limits.max_per_ip)) {
    if (worth_logging(st->per_ip->refusals()))
      log_warn("", "", "rtsp-refused",
               "connection from " + ip + " refused: " + std::to_string(limits.max_per_ip) +
                   " connections from that address are open (max_connections_per_ip); " +
                   std::to_string(st->per_ip->refusals()) + " refused so far");
    // Closed from the loop, not inside the signal that announces it.
    close_rtsp_client_later(client);
    return;
  }
  if (st->per_ip) info.slot = std::make_unique<PerIpSlot>(st->per_ip, ip);
  connect_with_state(client, "pre-describe-request", G_CALLBACK(on_pre_describe), st);
  connect_with_state(client, "send-message", G_CALLBACK(on_send_message), st);
  connect_with_state(client, "new-session", G_CALLBACK(on_new_session), st);
  watch_publish_requests(st, client);
  arm_deadline(*st, client, limits.header_timeout_ms, "request head");
}

GstRTSPFilterResult close_all(GstRTSPServer*, GstRTSPClient* client, gpointer) {
  gst_rtsp_client_close(client);
  return GST_RTSP_FILTER_REMOVE;
}

}  // namespace

RtspServer::RtspServer(ControlPorts ports) : state_(std::make_shared<State>()) {
  state_->ports = std::make_unique<ControlPorts>(ports);
  state_->server = Ref<GstRTSPServer>::adopt(new_rtsp_server());
  // Play mounts and the record mounts that ANNOUNCEs make share these mount points.
  Ref<GstRTSPMountPoints> mounts = Ref<GstRTSPMountPoints>::adopt(new_publish_mount_points(state_));
  gst_rtsp_server_set_mount_points(state_->server.get(), mounts.get());
}

RtspServer::~RtspServer() {
  state_->alive = false;
  source_ = SourceGuard();
  GstRTSPServer* server = state_->server.get();
  if (connected_id_) g_signal_handler_disconnect(server, connected_id_);
  gst_rtsp_server_client_filter(server, close_all, nullptr);
  // Clients already closed: their records are gone through "closed"; drop any left.
  for (auto& [client, info] : state_->clients) {
    end_rtsp_publish(*state_, info, "server stopping");
    if (!info.id.empty()) state_->ports->clients.remove_client(info.id, "server stopping");
  }
  state_->clients.clear();
}

void RtspServer::set_connection_limits(ConnectionLimitsSource limits, std::shared_ptr<PerIpConnections> per_ip) {
  state_->limits = std::move(limits);
  state_->per_ip = std::move(per_ip);
}

Status RtspServer::listen(const std::string& address, int port) {
  GstRTSPServer* server = state_->server.get();
  gst_rtsp_server_set_address(server, address.c_str());
  gst_rtsp_server_set_service(server, std::to_string(port).c_str());
  // gst-rtsp-server's default backlog of 5 drops SYNs under a burst of players (or an attack the
  // deadlines are about to clear): the same depth as our other listeners.
  gst_rtsp_server_set_backlog(server, kListenBacklog);
  if (!connected_id_) {
    connected_id_ = connect_with_state(server, "client-connected", G_CALLBACK(on_client_connected), state_);
  }
  GError* err = nullptr;
  GSource* source = gst_rtsp_server_create_source(server, nullptr, &err);
  if (!source) {
    std::string message = "RTSP: cannot listen on " + address + ":" + std::to_string(port) + ": " +
                          (err ? err->message : "unknown error");
    g_clear_error(&err);
    return Error{message};
  }
  g_source_attach(source, g_main_context_get_thread_default());
  source_ = SourceGuard(source);
  port_ = gst_rtsp_server_get_bound_port(server);
  log_info("", "", "listen", "RTSP on " + address + ":" + std::to_string(port_));
  return ok_status();
}

void register_rtsp_output(RtspServer& server) {
  std::weak_ptr<RtspServer::State> state = server.state();
  register_output_kind("rtsp",
                       [state](OutputContext ctx) -> Result<std::unique_ptr<Output>> {
                         return std::unique_ptr<Output>(new RtspMountOutput(std::move(ctx), state));
                       },
                       {"rtsp"});
}

}  // namespace estuary::server
