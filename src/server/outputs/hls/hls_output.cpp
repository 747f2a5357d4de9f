// Owns: the HLS output and its HTTP serving (see hls_output.h).
#include "server/outputs/hls/hls_output.h"

#include <gio/gio.h>

#include <algorithm>
#include <map>
#include <memory>
#include <sstream>

#include "common/log.h"
#include "common/timer.h"
#include "pipelines/hls_segmenter.h"
#include "pipelines/stream_bus.h"
#include "pipelines/ts_track_select.h"
#include "server/control/output.h"
#include "server/control/ports.h"
#include "server/outputs/hls/abr_master.h"
#include "server/outputs/hls/cmaf_fast_path.h"
#include "server/outputs/hls/cmaf_http.h"
#include "server/outputs/hls/cmaf_output.h"
#include "server/outputs/hls/cmaf_waiters.h"
#include "server/outputs/hls/hls_playlist.h"
#include "server/outputs/hls/hls_sessions.h"

namespace estuary::server {
namespace {

constexpr const char* kSegmentExtension = ".hls.ts";

// Writes or deletes a file without blocking the control thread (GIO's thread pool does the I/O).
void write_file_async(const std::string& path, GBytes* bytes) {
  GFile* file = g_file_new_for_path(path.c_str());
  g_file_replace_contents_bytes_async(
      file, bytes, nullptr, FALSE, G_FILE_CREATE_NONE, nullptr,
      [](GObject* src, GAsyncResult* res, gpointer) {
        GError* err = nullptr;
        if (!g_file_replace_contents_finish(G_FILE(src), res, nullptr, &err)) {
          log_warn("", "", "hls-write-error", err->message);
          g_error_free(err);
        }
      },
      nullptr);
  g_object_unref(file);
}

void delete_file_async(const std::string& path) {
  GFile* file = g_file_new_for_path(path.c_str());
  g_file_delete_async(
      file, G_PRIORITY_DEFAULT, nullptr,
      [](GObject* src, GAsyncResult* res, gpointer) { g_file_delete_finish(G_FILE(src), res, nullptr); }, nullptr);
  g_object_unref(file);
}

// HLS state of one stream key; outlives publishes for dispose_s.
struct HlsStream {
  std::string key;
  HlsPlaylist playlist;
  std::string directory;  // "" = memory only; else <directory>/<app>
  bool live = false;
  SourceGuard dispose_timer;
  CmafWaiters waiters;  // first playlist requests of an output that just started
  // Languages of the audio tracks muxed into the segments, when more than one: the stream's .m3u8 is
  // then a master playlist with a rendition per track (".m3u8?track=audio_K", segments with that
  // track alone) and the video variant (".m3u8?track=video"); ".m3u8?media=1" is the muxed playlist.
  std::vector<AudioRendition> audio_renditions;
  bool has_video = false;
  std::string variant_codecs;  // CODECS of the master's variant ("" = unknown)
  HlsStream(std::string k, const std::string& stream, int target, int window)
      : key(std::move(k)), playlist(stream, target, window) {}

  // on_hls hook sender of the output currently feeding this stream (empty when none).
  std::function<void(const std::string&, std::map<std::string, std::string>, std::map<std::string, double>)> notify;

  void on_segment(Ref<GBytes> data, double duration_s) {
    auto removed = playlist.add(data, duration_s);
    waiters.wake_all();
    const HlsSegment& seg = playlist.segments().back();
    if (!directory.empty()) {
      write_file_async(directory + "/" + seg.name, data.get());
      std::string m3u8 = playlist.render();
      Ref<GBytes> text = Ref<GBytes>::adopt(g_bytes_new(m3u8.data(), m3u8.size()));
      write_file_async(directory + "/" + key.substr(key.rfind('/') + 1) + ".m3u8", text.get());
      for (const auto& r : removed) delete_file_async(directory + "/" + r.name);
    }
    // Structured event for the on_hls hook.
    char dur[32];
    std::snprintf(dur, sizeof dur, "%.3f", duration_s);
    log_info(key, "", "hls-segment",
             "file=" + seg.name + " seq=" + std::to_string(seg.sequence) + " duration=" + dur + " size=" +
                 std::to_string(g_bytes_get_size(data.get())) + (seg.discontinuity ? " discontinuity=true" : ""));
    if (notify) {
      const std::string app = key.substr(0, key.rfind('/'));
      const std::string m3u8 = "/" + key + ".m3u8";
      notify("on_hls",
             {{"file", directory.empty() ? seg.name : directory + "/" + seg.name},
              {"url", "/" + app + "/" + seg.name},
              {"m3u8", key.substr(key.rfind('/') + 1) + ".m3u8"},
              {"m3u8_url", m3u8},
              {"cwd", current_directory()}},
             {{"duration", duration_s}, {"seq_no", double(seg.sequence)}});
    }
  }
};

class HlsRegistry {
 public:
  std::shared_ptr<HlsStream> attach(const std::string& app, const std::string& stream, const config::HlsSection& cfg) {
    const std::string key = app + "/" + stream;
    auto& s = streams_[key];
    if (s) {
      s->dispose_timer.reset();
      s->playlist.mark_discontinuity();
    } else {
      s = std::make_shared<HlsStream>(key, stream, cfg.target_duration_s, cfg.playlist_length);
    }
    s->live = true;
    s->directory.clear();
    if (!cfg.directory.empty()) {
      s->directory = cfg.directory + "/" + app;
      if (g_mkdir_with_parents(s->directory.c_str(), 0755) != 0) {
        log_error(key, "", "hls-write-error", "cannot create " + s->directory + "; serving from memory only");
        s->directory.clear();
      }
    }
    return s;
  }

  // The publisher left: keep the playlist for dispose_s so a returning publisher continues it.
  void detach(const std::shared_ptr<HlsStream>& s, int dispose_s) {
    s->live = false;
    const std::string key = s->key;  // the stream owns the timer; the registry owns the stream
    s->dispose_timer = start_timer_seconds(dispose_s, [this, key]() { dispose(key); });
  }

  HlsStream* find(const std::string& key) {
    auto it = streams_.find(key);
    return it == streams_.end() ? nullptr : it->second.get();
  }

 private:
  void dispose(std::string key) {  // by value: the timer's data holding it is freed below
    auto it = streams_.find(key);
    if (it == streams_.end() || it->second->live) return;
    std::shared_ptr<HlsStream> s = it->second;
    streams_.erase(it);
    s->dispose_timer = SourceGuard();  // the source is finishing on its own
    if (!s->directory.empty()) {
      for (const auto& seg : s->playlist.segments()) delete_file_async(s->directory + "/" + seg.name);
      delete_file_async(s->directory + "/" + key.substr(key.rfind('/') + 1) + ".m3u8");
    }
    log_info(key, "", "hls-dispose", "playlist and segments dropped");
  }

  std::map<std::string, std::shared_ptr<HlsStream>> streams_;
};

class HlsOutput final : public Output {
 public:
  HlsOutput(OutputContext ctx, std::shared_ptr<HlsRegistry> registry)
      : ctx_(std::move(ctx)), registry_(std::move(registry)) {}
  ~HlsOutput() override { stop(); }

  Status start() override {
    const config::HlsSection& cfg = ctx_.config->hls;
    dispose_s_ = cfg.dispose_s;
    state_ = registry_->attach(ctx_.app, ctx_.stream, cfg);
    state_->notify = ctx_.notify;
    state_->audio_renditions.clear();
    state_->variant_codecs.clear();
    std::weak_ptr<HlsStream> weak = state_;
    pipelines::PipelineEvents ev;
    ev.on_error = [this](const std::string& element, const std::string& message) {
      if (ctx_.events.on_failed) ctx_.events.on_failed(element + ": " + message);
    };
    auto built = pipelines::HlsSegmenter::create(
        ctx_.app + "/" + ctx_.stream, ctx_.launch, {cfg.target_duration_s},
        [weak](Ref<GBytes> data, double duration) {
          if (auto s = weak.lock()) s->on_segment(std::move(data), duration);
        },
        std::move(ev));
    if (!built) return built.error();
    segmenter_ = std::move(built.value());
    if (segmenter_->extra_audio_tracks() > 0) {  // the launch line muxes every audio track
      std::vector<std::string> audio_codecs;
      for (const auto& track : pipelines::bus_audio_tracks(ctx_.app + "/" + ctx_.stream)) {
        state_->audio_renditions.push_back(audio_rendition_of(track.language));
        audio_codecs.push_back(audio_codec_string(track.caps.get()));
      }
      Ref<GstCaps> video = pipelines::bus_caps(ctx_.app + "/" + ctx_.stream, "video");
      state_->has_video = bool(video);
      state_->variant_codecs = variant_codecs(state_->has_video, video_codec_string(video.get()), audio_codecs);
    }
    Status st = segmenter_->pipeline().start();
    if (st && ctx_.events.on_ready) ctx_.events.on_ready();
    return st;
  }

  void stop() override {
    segmenter_.reset();
    if (state_) registry_->detach(state_, dispose_s_);
    state_.reset();
  }

  bool ready() const override { return segmenter_ != nullptr; }
  void discontinuity() override {
    if (state_) state_->playlist.mark_discontinuity_after_current();
  }
  fanout::ChannelPtr channel(const std::string&) const override { return nullptr; }
  std::vector<fanout::ChannelPtr> channels() const override { return {}; }

 private:
  OutputContext ctx_;
  std::shared_ptr<HlsRegistry> registry_;
  std::shared_ptr<HlsStream> state_;
  std::unique_ptr<pipelines::HlsSegmenter> segmenter_;
  int dispose_s_ = 0;
};

// The registries of the running server, for hls_playlist_available.
std::weak_ptr<HlsRegistry>& current_registry() {
  static std::weak_ptr<HlsRegistry> r;
  return r;
}
std::weak_ptr<CmafRegistry>& current_cmaf_registry() {
  static std::weak_ptr<CmafRegistry> r;
  return r;
}
// Starts or keeps the on-demand HLS output of a stream (see register_hls_output); true when it runs
// on demand for this request, false when [hls] runs it from publish on, or it cannot start.
std::function<bool(const std::string& app, const std::string& key, int hold_ms)>& current_demand() {
  static std::function<bool(const std::string&, const std::string&, int)> f;
  return f;
}

// The track of the segments a request names ("track=video", "track=audio_K"); false when the
// query names none or one the stream does not have (*bad then says so).
bool requested_track(const HlsStream& s, const std::string& query, pipelines::TsTrackChoice* choice, bool* bad) {
  const std::string track = query_value(query, "track");
  *bad = false;
  if (track.empty()) return false;
  if (track == "video" && s.has_video) {
    choice->video = true;
    return true;
  }
  const std::string prefix = "audio_";
  if (track.compare(0, prefix.size(), prefix) == 0 && track.size() == prefix.size() + 1 &&
      g_ascii_isdigit(track.back()) && size_t(track.back() - '0') < s.audio_renditions.size()) {
    choice->audio = track.back() - '0';
    return true;
  }
  *bad = true;
  return false;
}

// The master playlist of a stream with several audio tracks, else the media playlist (of one
// track when the query names it).
void respond_playlist(SoupServerMessage* msg, const HlsStream& s, bool cors, const StreamPath& path) {
  std::string text;
  pipelines::TsTrackChoice choice;
  bool bad = false;
  const bool one_track = s.audio_renditions.size() > 1 && requested_track(s, path.query, &choice, &bad);
  if (bad) {
    respond_text(msg, 404, "no such track\n", cors);
    return;
  }
  if (one_track) {
    text = s.playlist.render("track=" + query_value(path.query, "track"));
  } else if (s.audio_renditions.size() > 1 && query_value(path.query, "media") != "1") {
    const std::string base = path.stream + ".m3u8?" + (path.query.empty() ? "" : path.query + "&");
    std::vector<AudioRendition> renditions = s.audio_renditions;
    for (size_t i = 0; i < renditions.size(); ++i) renditions[i].uri = base + "track=audio_" + std::to_string(i);
    text = render_audio_master(renditions, base + (s.has_video ? "track=video" : "media=1"), peak_bandwidth(s.playlist),
                               s.variant_codecs);
  } else {
    text = s.playlist.render();
  }
  Ref<GBytes> bytes = Ref<GBytes>::adopt(g_bytes_new(text.data(), text.size()));
  // Playlists change every segment: clients must refetch them; segments never change.
  respond_bytes(msg, "application/vnd.apple.mpegurl", bytes.get(), "no-cache", cors);
}

// A segment, or one track of it ("?track=video", "?track=audio_K").
void respond_segment(SoupServerMessage* msg, const HlsStream& s, const HlsSegment& seg, const std::string& query,
                     bool cors) {
  pipelines::TsTrackChoice choice;
  bool bad = false;
  if (!requested_track(s, query, &choice, &bad)) {
    if (bad)
      respond_text(msg, 404, "no such track\n", cors);
    else
      respond_bytes(msg, "video/mp2t", seg.data.get(), "public, max-age=3600", cors);
    return;
  }
  gsize n = 0;
  const auto* data = static_cast<const uint8_t*>(g_bytes_get_data(seg.data.get(), &n));
  auto* out = new std::vector<uint8_t>();
  std::string error;
  if (!pipelines::ts_select_track(data, n, choice, out, &error)) {
    delete out;
    log_warn(s.key, "", "hls-split", seg.name + ": " + error);
    respond_text(msg, 500, "segment could not be split\n", cors);
    return;
  }
  Ref<GBytes> one = Ref<GBytes>::adopt(g_bytes_new_with_free_func(
      out->data(), out->size(), [](gpointer p) { delete static_cast<std::vector<uint8_t>*>(p); }, out));
  respond_bytes(msg, "video/mp2t", one.get(), "public, max-age=3600", cors);
}

// A playlist of a stream that is not live yet (a publisher about to arrive, an edge's cold start)
// waits as a player does; once the stream is live the request is sent to itself again (307), where
// the output starts and holds it until its first segment. True: live now, serve it.
bool held_until_live(OutputControl& control, SoupServerMessage* msg, const std::string& key, bool cors) {
  if (g_strcmp0(soup_server_message_get_method(msg), "HEAD") == 0) return true;  // HEAD never waits
  auto sync = std::make_shared<bool>(true);
  auto live_now = std::make_shared<bool>(false);
  auto held = Ref<SoupServerMessage>::add_ref(msg);
  Status st = control.await_stream(key, [sync, live_now, held, cors, key](bool live) {
    if (*sync) {
      *live_now = live;
      return;
    }
    SoupServerMessage* m = held.get();
    if (live) {
      GUri* uri = soup_server_message_get_uri(m);
      std::string again = g_uri_get_path(uri);
      if (const char* q = g_uri_get_query(uri)) again += std::string("?") + q;
      soup_server_message_set_redirect(m, 307, again.c_str());
    } else {
      respond_text(m, 404, "stream " + key + " not found\n", cors);
    }
    soup_server_message_unpause(m);
  });
  *sync = false;
  if (*live_now) return true;
  if (!st) {
    respond_text(msg, st.error().reason == ErrorReason::not_found ? 404 : 503, st.error().message + "\n", cors);
    return false;
  }
  soup_server_message_pause(msg);
  return false;
}

}  // namespace

bool hls_app_disabled(const config::HlsSection& hls, const std::string& app) {
  std::istringstream in(hls.disabled_apps);
  std::string word;
  while (in >> word)
    if (word == app) return true;
  return false;
}

std::string query_value(const std::string& query, const char* name) {
  if (query.empty()) return "";
  GHashTable* params = soup_form_decode(query.c_str());
  const char* v = static_cast<const char*>(g_hash_table_lookup(params, name));
  std::string out = v ? v : "";
  g_hash_table_unref(params);
  return out;
}

void respond_bytes(SoupServerMessage* msg, const char* type, GBytes* bytes, const char* cache, bool cors) {
  soup_server_message_set_status(msg, 200, nullptr);
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  soup_message_headers_replace(h, "Content-Type", type);
  soup_message_headers_replace(h, "Cache-Control", cache);
  if (cors) soup_message_headers_replace(h, "Access-Control-Allow-Origin", "*");
  soup_message_body_append_bytes(soup_server_message_get_response_body(msg), bytes);
}

void register_hls_output(StreamRoutes& plain_http, OutputControl& outputs, const ConfigSource& settings,
                         ClientRegistry& clients, Admission& admission) {
  // Every handler below runs behind the viewer sessions' admission.
  HlsSessionSettings session_settings;
  session_settings.idle_s = std::max(20, 3 * settings.config().hls.target_duration_s + 10);
  auto gated = std::make_shared<GatedStreamRoutes>(
      plain_http, std::make_shared<HlsSessions>(clients, admission, session_settings), hls_stream_of);
  StreamRoutes& http = *gated;
  auto registry = std::make_shared<HlsRegistry>();
  current_registry() = registry;
  // [hls] always = false: every HLS/DASH request starts the stream's output or keeps it up.
  OutputControl* control = &outputs;
  const ConfigSource* source = &settings;
  current_demand() = [control, source](const std::string& app, const std::string& key, int hold_ms) {
    const config::Config& cfg = source->config();
    if (!cfg.hls.enabled || cfg.hls_always(app)) return false;
    return bool(
        control->demand_output(key, cfg.hls.variant == "ts" ? "hls" : "cmaf", cfg.hls.linger_s * 1000 + hold_ms));
  };
  HlsDemandFn demand = [](const std::string& app, const std::string& key, int hold_ms) {
    current_demand()(app, key, hold_ms);
  };
  // fMP4 / LL-HLS / DASH ([hls] variant = fmp4 | lowlatency) from the CMAF packager.
  auto cmaf = std::make_shared<CmafRegistry>();
  current_cmaf_registry() = cmaf;
  register_cmaf_output(cmaf);
  register_cmaf_http(http, cmaf, demand);
  // LL-HLS viewers' kept-alive connections, once admitted, leave libsoup for the fast path.
  const config::ServerSection& limits = settings.config().server;
  CmafFastPathSettings fast_settings;
  fast_settings.header_timeout_ms = limits.header_timeout_ms;
  fast_settings.keepalive_timeout_ms = limits.keepalive_timeout_ms;
  auto fast = CmafFastPath::create(&plain_http, gated->sessions(), gated->stream_of(), cmaf, demand, fast_settings);
  gated->set_take_over([fast, source](SoupServerMessage* msg, const std::string& extension, const StreamPath& path) {
    return source->config().hls.fast_path && fast->take(msg, extension, path);
  });
  register_output_kind(
      "hls",
      [registry](OutputContext ctx) -> Result<std::unique_ptr<Output>> {
        // Turned off in [hls]: the output declines this stream.
        if (!ctx.config->hls.enabled || ctx.config->hls.variant != "ts" || hls_app_disabled(ctx.config->hls, ctx.app))
          return std::unique_ptr<Output>();
        return std::unique_ptr<Output>(new HlsOutput(std::move(ctx), registry));
      },
      {});
  StreamRoutes* server = &http;
  http.add_stream_handler(
      ".m3u8", [server, registry, cmaf, demand, control](SoupServerMessage* msg, const StreamPath& path) {
        const std::string key = path.app + "/" + path.stream;
        if (!registry->find(key) && !cmaf->find(key) && !held_until_live(*control, msg, key, server->cors())) return;
        demand(path.app, key, 0);
        if (serve_cmaf_playlist(msg, path, *cmaf, server->cors(), demand)) return;
        HlsStream* s = registry->find(key);
        if (s && s->live && s->playlist.empty()) {
          // Just started (on demand, or a fresh publish): held until the first segment exists.
          const bool cors = server->cors();
          const int hold = first_segment_hold_ms(s->playlist.target_duration());
          demand(path.app, key, hold);
          const bool held =
              s->waiters.add(msg, 0, -1, hold, [s, cors, demand, path, key](SoupServerMessage* m, bool gave_up) {
                if (gave_up) {  // s may be going away: not read then
                  respond_text(m, 503, "no segment made within the hold time\n", cors);
                  return;
                }
                demand(path.app, key, 0);
                respond_playlist(m, *s, cors, path);
              });
          if (!held) respond_text(msg, 503, "too many held requests\n", server->cors());
          return;
        }
        if (!s || s->playlist.empty()) {
          respond_text(msg, 404, "playlist not found\n", server->cors());
          return;
        }
        respond_playlist(msg, *s, server->cors(), path);
      });
  http.add_stream_handler(kSegmentExtension, [server, registry, demand](SoupServerMessage* msg,
                                                                        const StreamPath& path) {
    // "t-12" -> stream "t", segment "t-12.hls.ts"
    auto dash = path.stream.rfind('-');
    if (dash != std::string::npos) demand(path.app, path.app + "/" + path.stream.substr(0, dash), 0);
    HlsStream* s = dash == std::string::npos ? nullptr : registry->find(path.app + "/" + path.stream.substr(0, dash));
    const HlsSegment* seg = s ? s->playlist.find(path.stream + kSegmentExtension) : nullptr;
    if (!seg) {
      respond_text(msg, 404, "segment not found\n", server->cors());
      return;
    }
    respond_segment(msg, *s, *seg, path.query, server->cors());
  });
}

bool hls_playlist_available(const std::string& key) {
  if (auto cmaf = current_cmaf_registry().lock()) {
    const CmafStream* c = cmaf->find(key);
    if (c && c->live && !c->window.empty()) return true;
  }
  auto registry = current_registry().lock();
  HlsStream* s = registry ? registry->find(key) : nullptr;
  if (s && s->live && !s->playlist.empty()) return true;
  // On demand: started (or kept) now; the variant's playlist request waits for its first segment.
  return current_demand() && current_demand()(key.substr(0, key.rfind('/')), key, 0);
}

}  // namespace estuary::server
