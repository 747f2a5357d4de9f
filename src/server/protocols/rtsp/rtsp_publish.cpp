// Owns: RTSP publish (see rtsp_publish.h).
#include "server/protocols/rtsp/rtsp_publish.h"

#include <gst/sdp/gstsdpmessage.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/control_thread.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/timer.h"
#include "pipelines/rtp_record.h"
#include "server/config/config.h"
#include "server/control/ingest_events.h"

namespace estuary::server {

// One publishing connection, from its ANNOUNCE to its end.
struct RtspPublisher {
  enum class Phase { announced, pending, allowed, refused };
  std::string key, app, stream;
  std::vector<pipelines::RecordTrack> tracks;
  GstRTSPMediaFactory* factory = nullptr;  // its record mount (borrowed, compared only)
  std::unique_ptr<pipelines::RecordIngest> ingest;
  std::shared_ptr<const pipelines::RecordIngest::Counters> counters;
  Phase phase = Phase::announced;
  bool in_announce = false;  // admission is running inside the ANNOUNCE handler
  GstRTSPStatusCode refusal = GST_RTSP_STS_OK;
  std::string reason;
  SourceGuard idle_timer;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
};

namespace {

// The announced tracks: per SDP media its kind, the encoding name of its first format and its
// language (a=lang of the media, else of the session).
Result<std::vector<pipelines::RecordTrack>> announced_tracks(const guint8* data, guint size) {
  if (!data || size == 0) return Error{"ANNOUNCE without an SDP body", ErrorReason::invalid, "rtsp"};
  GstSDPMessage* sdp = nullptr;
  gst_sdp_message_new(&sdp);
  std::unique_ptr<GstSDPMessage, decltype(&gst_sdp_message_free)> guard(sdp, gst_sdp_message_free);
  if (gst_sdp_message_parse_buffer(data, size, sdp) != GST_SDP_OK)
    return Error{"ANNOUNCE with an SDP that does not parse", ErrorReason::invalid, "rtsp"};
  std::vector<pipelines::RecordTrack> tracks;
  const char* session_lang = gst_sdp_message_get_attribute_val(sdp, "lang");
  for (guint i = 0; i < gst_sdp_message_medias_len(sdp); i++) {
    const GstSDPMedia* m = gst_sdp_message_get_media(sdp, i);
    const char* kind = gst_sdp_media_get_media(m);
    const char* format = gst_sdp_media_formats_len(m) > 0 ? gst_sdp_media_get_format(m, 0) : nullptr;
    if (!kind || !format || (!g_str_equal(kind, "video") && !g_str_equal(kind, "audio")))
      return Error{std::string("SDP media ") + (kind ? kind : "?") + " is neither audio nor video with a format",
                   ErrorReason::invalid, "rtsp"};
    pipelines::RecordTrack t;
    t.video = g_str_equal(kind, "video");
    if (GstCaps* caps = gst_sdp_media_get_caps_from_media(m, int(g_ascii_strtoll(format, nullptr, 10)))) {
      const char* enc = gst_structure_get_string(gst_caps_get_structure(caps, 0), "encoding-name");
      t.encoding = enc ? enc : "";
      gst_caps_unref(caps);
    }
    if (t.encoding.empty()) t.encoding = "payload type " + std::string(format);
    const char* lang = gst_sdp_media_get_attribute_val(m, "lang");
    if (!lang) lang = session_lang;
    // A language tag is short letters, digits and hyphens (RFC 5646); anything else is ignored.
    if (!t.video && lang && std::strlen(lang) <= 35 &&
        std::all_of(lang, lang + std::strlen(lang), [](char c) { return g_ascii_isalnum(c) || c == '-'; }))
      t.language = lang;
    tracks.push_back(std::move(t));
  }
  return tracks;
}

std::string describe(const std::vector<pipelines::RecordTrack>& tracks) {
  std::string out;
  for (const auto& t : tracks)
    out += std::string(out.empty() ? "" : " ") + (t.video ? "video=" : "audio=") + t.encoding +
           (t.language.empty() ? "" : "/" + t.language);
  return out;
}

RtspServer::State::ClientInfo* info_of(RtspServer::State& st, GstRTSPClient* client) {
  auto it = st.clients.find(client);
  return it == st.clients.end() ? nullptr : &it->second;
}

void unmount_record(RtspServer::State& st, const RtspPublisher& pub) {
  auto it = st.record_mounts.find(pub.key);
  if (it == st.record_mounts.end() || it->second != pub.factory) return;
  st.record_mounts.erase(it);
  Ref<GstRTSPMountPoints> mounts = Ref<GstRTSPMountPoints>::adopt(gst_rtsp_server_get_mount_points(st.server.get()));
  gst_rtsp_mount_points_remove_factory(mounts.get(), ("/" + pub.key).c_str());
}

// An ANNOUNCE's path is being looked up: mount a record media for its SDP there, unless the stream
// is live with RTSP viewers (its play mount answers, and the ANNOUNCE is refused as busy).
void prepare_announce(RtspServer::State& st, GstRTSPMountPoints* mounts, GstRTSPClient* client, const GstRTSPUrl* url,
                      GstRTSPMessage* request) {
  RtspServer::State::ClientInfo* info = info_of(st, client);
  if (!info || !info->id.empty()) return;  // pre-announce refuses a second publish or play
  std::string app, stream;
  if (!url || !split_rtsp_path(url->abspath, &app, &stream)) {
    log_warn("", "", "rtsp-publish-refused",
             std::string("ANNOUNCE of an invalid path ") + (url && url->abspath ? url->abspath : "?"));
    return;
  }
  const std::string key = app + "/" + stream;
  if (st.mounts.count(key)) return;
  guint8* data = nullptr;
  guint size = 0;
  gst_rtsp_message_get_body(request, &data, &size);
  Result<std::vector<pipelines::RecordTrack>> tracks = announced_tracks(data, size);
  Result<std::string> launch = tracks ? pipelines::RecordIngest::launch(*tracks) : Result<std::string>(tracks.error());
  auto pub = std::make_shared<RtspPublisher>();
  if (!launch) {
    // The lookup must still find a media for pre-announce to answer 415: a stand-in that never runs.
    pub->phase = RtspPublisher::Phase::refused;
    pub->refusal = GST_RTSP_STS_UNSUPPORTED_MEDIA_TYPE;
    pub->reason = launch.error().message;
  }
  GstRTSPMediaFactory* factory = gst_rtsp_media_factory_new();
  gst_rtsp_media_factory_set_launch(factory, launch ? launch->c_str() : "( fakesink name=depay0 )");
  gst_rtsp_media_factory_set_transport_mode(factory, GST_RTSP_TRANSPORT_MODE_RECORD);
  gst_rtsp_media_factory_set_shared(factory, FALSE);
  gst_rtsp_media_factory_set_protocols(factory, GstRTSPLowerTrans(GST_RTSP_LOWER_TRANS_UDP | GST_RTSP_LOWER_TRANS_TCP));
  gst_rtsp_mount_points_add_factory(mounts, ("/" + key).c_str(), factory);  // takes the factory
  st.record_mounts[key] = factory;
  pub->key = key;
  pub->app = app;
  pub->stream = stream;
  if (tracks) pub->tracks = std::move(*tracks);
  pub->factory = factory;
  info->publisher = std::move(pub);
}

// Refused (the verdict, a busy stream, a failed start): off the bus and out of the registry; the
// publisher record stays, so that the next SETUP/RECORD gets the refusal.
void refuse(RtspServer::State& st, GstRTSPClient* client, RtspServer::State::ClientInfo& info, GstRTSPStatusCode code,
            const std::string& reason) {
  std::shared_ptr<RtspPublisher> pub = info.publisher;
  pub->phase = RtspPublisher::Phase::refused;
  pub->refusal = code;
  pub->reason = reason;
  pub->idle_timer.reset();
  if (pub->ingest) pub->ingest->stop();
  unmount_record(st, *pub);
  log_warn(pub->key, info.id, "rtsp-publish-refused", reason);
  if (!info.id.empty()) st.ports->clients.remove_client(std::exchange(info.id, ""), "publish refused: " + reason);
  if (!pub->in_announce) close_rtsp_client_later(client);
}

void watch_idle(const RtspStatePtr& st, GstRTSPClient* client, RtspPublisher& pub) {
  std::weak_ptr<RtspServer::State> weak = st;
  std::weak_ptr<bool> alive = pub.alive;
  auto counters = pub.counters;
  pub.idle_timer = start_repeating_timer(500, [weak, alive, counters, client]() {
    auto s = weak.lock();
    if (!s || alive.expired()) return false;
    const int64_t idle = counters->idle_ms();
    if (idle <= s->ports->slice(&config::Config::rtmp)->publish_timeout_ms) return true;
    RtspServer::State::ClientInfo* info = info_of(*s, client);
    log_warn(info ? info->key : "", info ? info->id : "", "rtsp-publish-timeout",
             "publisher sent nothing for " + std::to_string(idle) + " ms");
    close_rtsp_client_later(client);
    return false;
  });
}

void on_verdict(const RtspStatePtr& st, GstRTSPClient* client, const Verdict& v) {
  RtspServer::State::ClientInfo* info = info_of(*st, client);
  if (!info || !info->publisher || info->id.empty()) return;
  RtspPublisher& pub = *info->publisher;
  if (!v.allowed)
    return refuse(*st, client, *info, v.http_status == 503 ? GST_RTSP_STS_SERVICE_UNAVAILABLE : GST_RTSP_STS_FORBIDDEN,
                  v.reason);
  auto counters = pub.counters;
  Status begun = st->ports->publish.begin_publish(info->id, [counters]() { return counters->idle_ms(); });
  if (!begun) return refuse(*st, client, *info, GST_RTSP_STS_FORBIDDEN, begun.error().message);
  std::weak_ptr<RtspServer::State> weak = st;
  auto ended = [weak, client](const std::string& reason) {
    auto s = weak.lock();
    if (!s) return;
    RtspServer::State::ClientInfo* i = info_of(*s, client);
    log_warn(i ? i->key : "", i ? i->id : "", "rtsp-publish-ended", reason);
    close_rtsp_client_later(client);
  };
  const auto& bus = *st->ports->slice(&config::Config::bus);
  Status opened = pub.ingest->open(uint64_t(bus.gop_cache_max_kb) * 1024,
                                   ingest_events(st->ports->publish, info->id, pub.alive, ended));
  if (!opened) return refuse(*st, client, *info, GST_RTSP_STS_INTERNAL_SERVER_ERROR, opened.error().message);
  pub.phase = RtspPublisher::Phase::allowed;
  log_info(pub.key, info->id, "rtsp-publish", "admitted, " + describe(pub.tracks));
  watch_idle(st, client, pub);
}

GstRTSPStatusCode on_pre_announce(GstRTSPClient* client, GstRTSPContext* ctx, gpointer data) {
  const RtspStatePtr& st = *static_cast<RtspStatePtr*>(data);
  RtspServer::State::ClientInfo* info = info_of(*st, client);
  if (!st->alive || !info) return GST_RTSP_STS_SERVICE_UNAVAILABLE;
  if (!info->id.empty()) {
    log_warn(info->key, info->id, "rtsp-publish-refused", "one publish or play per connection");
    return GST_RTSP_STS_METHOD_NOT_VALID_IN_THIS_STATE;
  }
  std::shared_ptr<RtspPublisher> pub = info->publisher;
  if (pub && pub->phase == RtspPublisher::Phase::refused && pub->key.size() && !pub->ingest) {
    // Its SDP announced what we cannot carry.
    log_warn(pub->key, "", "rtsp-publish-refused",
             "ANNOUNCE from " + rtsp_client_ip(client) + " refused: " + pub->reason);
    const GstRTSPStatusCode code = pub->refusal;
    unmount_record(*st, *pub);
    info->publisher.reset();
    return code;
  }
  std::string app, stream;
  const bool valid = ctx->uri && split_rtsp_path(ctx->uri->abspath, &app, &stream);
  if (!pub || pub->phase != RtspPublisher::Phase::announced || !valid || pub->key != app + "/" + stream ||
      !(gst_rtsp_media_get_transport_mode(ctx->media) & GST_RTSP_TRANSPORT_MODE_RECORD)) {
    // The path's play mount answered: the stream is live and watched over RTSP.
    log_warn(valid ? app + "/" + stream : "", "", "rtsp-publish-refused",
             "ANNOUNCE from " + rtsp_client_ip(client) + ": stream busy");
    return GST_RTSP_STS_FORBIDDEN;
  }
  Ref<GstElement> bin = Ref<GstElement>::adopt(gst_rtsp_media_get_element(ctx->media));
  auto ingest = pipelines::RecordIngest::attach(pub->key, bin.get(), pub->tracks);
  if (!ingest) {
    log_warn(pub->key, "", "rtsp-publish-refused", ingest.error().message);
    return GST_RTSP_STS_INTERNAL_SERVER_ERROR;
  }
  pub->ingest = std::move(*ingest);
  pub->counters = pub->ingest->counters();

  info->id = new_client_id();
  info->key = pub->key;
  Client c;
  c.id = info->id;
  c.type = "rtsp-publish";
  c.publish = true;
  c.ip = rtsp_client_ip(client);
  c.app = pub->app;
  c.stream = pub->stream;
  c.query = ctx->uri->query ? ctx->uri->query : "";
  gchar* uri = gst_rtsp_url_get_request_uri(ctx->uri);
  c.tc_url = uri ? uri : "";
  g_free(uri);
  c.start_us = g_get_monotonic_time();
  c.kick = rtsp_kick(client);
  c.bytes_sent = []() -> uint64_t { return 0; };
  c.bytes_received = [counters = pub->counters]() { return counters->bytes.load(std::memory_order_relaxed); };
  st->ports->clients.add_client(std::move(c));
  log_info(pub->key, info->id, "rtsp-announce", "from " + rtsp_client_ip(client) + ": " + describe(pub->tracks));

  // A live stream is refused at once (the takeover rule of begin_publish decides which are).
  const std::vector<std::string> busy = st->ports->publish.busy_streams(0);
  pub->in_announce = true;
  if (std::find(busy.begin(), busy.end(), pub->key) != busy.end()) {
    refuse(*st, client, *info, GST_RTSP_STS_FORBIDDEN, "stream " + pub->key + " is already being published");
  } else {
    pub->phase = RtspPublisher::Phase::pending;
    std::weak_ptr<RtspServer::State> weak = st;
    std::weak_ptr<bool> alive = pub->alive;
    st->ports->admission.admit(info->id, Admission::Action::publish, [weak, alive, client](const Verdict& v) {
      auto s = weak.lock();
      if (s && !alive.expired()) on_verdict(s, client, v);
    });
  }
  pub->in_announce = false;
  return pub->phase == RtspPublisher::Phase::refused ? pub->refusal : GST_RTSP_STS_OK;
}

// SETUP and RECORD of a refused publisher fail with the refusal.
GstRTSPStatusCode on_pre_setup_or_record(GstRTSPClient* client, GstRTSPContext*, gpointer data) {
  RtspServer::State::ClientInfo* info = info_of(state_of(data), client);
  if (info && info->publisher && info->publisher->phase == RtspPublisher::Phase::refused)
    return info->publisher->refusal;
  return GST_RTSP_STS_OK;
}

void on_teardown(GstRTSPClient* client, GstRTSPContext*, gpointer data) {
  RtspServer::State& st = state_of(data);
  if (RtspServer::State::ClientInfo* info = info_of(st, client); info && info->publisher)
    end_rtsp_publish(st, *info, "teardown");
}

}  // namespace

void end_rtsp_publish(RtspServer::State& st, RtspServer::State::ClientInfo& info, const std::string& reason) {
  std::shared_ptr<RtspPublisher> pub = std::move(info.publisher);
  if (!pub) return;
  pub->alive.reset();
  pub->idle_timer.reset();
  if (pub->ingest) pub->ingest->stop();
  unmount_record(st, *pub);
  if (!info.id.empty()) st.ports->clients.remove_client(std::exchange(info.id, ""), reason);
}

void forget_record_mount(RtspServer::State& st, const std::string& key) { st.record_mounts.erase(key); }

void watch_publish_requests(const RtspStatePtr& st, GstRTSPClient* client) {
  connect_with_state(client, "pre-announce-request", G_CALLBACK(on_pre_announce), st);
  connect_with_state(client, "pre-setup-request", G_CALLBACK(on_pre_setup_or_record), st);
  connect_with_state(client, "pre-record-request", G_CALLBACK(on_pre_setup_or_record), st);
  connect_with_state(client, "teardown-request", G_CALLBACK(on_teardown), st);
}

}  // namespace estuary::server

// ---- the mount points: the ANNOUNCE's lookup mounts its record media first ----

namespace {

struct EstuaryMountPoints {
  GstRTSPMountPoints parent;
  std::weak_ptr<estuary::server::RtspServer::State>* state;
};
struct EstuaryMountPointsClass {
  GstRTSPMountPointsClass parent_class;
};

G_DEFINE_TYPE(EstuaryMountPoints, estuary_mount_points, GST_TYPE_RTSP_MOUNT_POINTS)

gchar* estuary_mount_points_make_path(GstRTSPMountPoints* mounts, const GstRTSPUrl* url) {
  gchar* path = GST_RTSP_MOUNT_POINTS_CLASS(estuary_mount_points_parent_class)->make_path(mounts, url);
  auto* self = reinterpret_cast<EstuaryMountPoints*>(mounts);
  GstRTSPContext* ctx = gst_rtsp_context_get_current();
  if (path && ctx && ctx->client && ctx->request && ctx->request->type == GST_RTSP_MESSAGE_REQUEST &&
      ctx->request->type_data.request.method == GST_RTSP_ANNOUNCE) {
    if (auto st = self->state->lock(); st && st->alive)
      estuary::server::prepare_announce(*st, mounts, ctx->client, url, ctx->request);
  }
  return path;
}

void estuary_mount_points_finalize(GObject* object) {
  delete reinterpret_cast<EstuaryMountPoints*>(object)->state;
  G_OBJECT_CLASS(estuary_mount_points_parent_class)->finalize(object);
}

void estuary_mount_points_class_init(EstuaryMountPointsClass* klass) {
  G_OBJECT_CLASS(klass)->finalize = estuary_mount_points_finalize;
  GST_RTSP_MOUNT_POINTS_CLASS(klass)->make_path = estuary_mount_points_make_path;
}

void estuary_mount_points_init(EstuaryMountPoints* self) {
  self->state = new std::weak_ptr<estuary::server::RtspServer::State>();
}

}  // namespace

namespace estuary::server {

GstRTSPMountPoints* new_publish_mount_points(std::weak_ptr<RtspServer::State> state) {
  auto* mounts = static_cast<EstuaryMountPoints*>(g_object_new(estuary_mount_points_get_type(), nullptr));
  *mounts->state = std::move(state);
  return GST_RTSP_MOUNT_POINTS(mounts);
}

}  // namespace estuary::server
