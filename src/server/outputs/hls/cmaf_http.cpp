// Owns: HTTP serving of CMAF windows (see cmaf_http.h).
#include "server/outputs/hls/cmaf_http.h"

#include <cstring>

#include "server/control/renditions.h"
#include "server/outputs/hls/dash_mpd.h"
#include "server/outputs/hls/hls_output.h"
#include "server/outputs/hls/hls_playlist.h"

namespace estuary::server {
namespace {

// #EXT-X-RENDITION-REPORT lines for the other streams of key's ABR ladder that have CMAF windows.
std::string rendition_reports(const std::string& key, CmafRegistry& registry) {
  std::string out;
  const std::string app = key.substr(0, key.rfind('/'));
  for (const std::string& other : ladder_of(key)) {
    if (other == key) continue;
    const CmafStream* s = registry.find(other);
    if (!s || !s->live) continue;
    const std::string other_app = other.substr(0, other.rfind('/'));
    const std::string name = other.substr(other.rfind('/') + 1) + ".m3u8";
    out += s->window.rendition_report(other_app == app ? name : "/" + other + ".m3u8");
  }
  return out;
}

constexpr const char* kMediaType = "video/mp4";

void respond_string(SoupServerMessage* msg, const char* type, const std::string& text, bool cors) {
  Ref<GBytes> bytes = Ref<GBytes>::adopt(g_bytes_new(text.data(), text.size()));
  respond_bytes(msg, type, bytes.get(), "no-cache", cors);
}

// A decimal number without sign, at most 15 digits (so it fits any counter we keep).
bool parse_number(const char* s, uint64_t* out) {
  if (!s || !*s || std::strlen(s) > 15) return false;
  for (const char* p = s; *p; ++p)
    if (!g_ascii_isdigit(*p)) return false;
  *out = g_ascii_strtoull(s, nullptr, 10);
  return true;
}

// "t-12" -> ("t", 12, -1); "t-12.3" -> ("t", 12, 3). false if malformed.
bool parse_media_name(const std::string& stem, std::string* stream, uint64_t* msn, int64_t* part) {
  const auto dash = stem.rfind('-');
  if (dash == std::string::npos || dash == 0) return false;
  *stream = stem.substr(0, dash);
  std::string rest = stem.substr(dash + 1);
  *part = -1;
  const auto dot = rest.find('.');
  if (dot != std::string::npos) {
    uint64_t p = 0;
    if (!parse_number(rest.substr(dot + 1).c_str(), &p)) return false;
    *part = int64_t(p);
    rest = rest.substr(0, dot);
  }
  return parse_number(rest.c_str(), msn);
}

// The CMAF stream `app/name`, or, for DASH's per-track names "name-tK", stream app/name with
// track K (1-based). nullptr if neither exists.
CmafStream* find_stream(CmafRegistry& registry, const std::string& app, const std::string& name, uint32_t* track) {
  *track = 0;
  if (CmafStream* s = registry.find(app + "/" + name)) return s;
  const auto dash = name.rfind("-t");
  uint64_t k = 0;
  if (dash == std::string::npos || dash == 0 || !parse_number(name.substr(dash + 2).c_str(), &k) || k == 0 || k > 16)
    return nullptr;
  CmafStream* s = registry.find(app + "/" + name.substr(0, dash));
  if (!s || k > s->window.tracks(s->window.generation()).size()) return nullptr;
  *track = uint32_t(k);
  return s;
}

const char* track_type(const CmafStream& s, uint32_t track) {
  const auto& tracks = s.window.tracks(s.window.generation());
  return track && track <= tracks.size() && !tracks[track - 1].video ? "audio/mp4" : kMediaType;
}

// Answers with bytes, or with one track of them.
void respond_media(SoupServerMessage* msg, GBytes* bytes, uint32_t track, const char* type, bool cors) {
  if (!track) {
    respond_bytes(msg, type, bytes, "public, max-age=3600", cors);
    return;
  }
  Ref<GBytes> one = cmaf_track_bytes(bytes, track);
  if (!one || g_bytes_get_size(one.get()) == 0) {
    respond_text(msg, one ? 404 : 500, one ? "track not in this segment\n" : "segment could not be split\n", cors);
    return;
  }
  respond_bytes(msg, type, one.get(), "public, max-age=3600", cors);
}

// The track (1-based) of the current publish a playlist request names with "track=video" or
// "track=audio_K" (K-th audio track); 0 when it names none, -1 when the stream has no such track.
int64_t requested_track(const CmafStream& s, const std::string& query) {
  const std::string want = query_value(query, "track");
  if (want.empty()) return 0;
  const auto& tracks = s.window.tracks(s.window.generation());
  int audio = 0;
  for (size_t i = 0; i < tracks.size(); ++i) {
    const std::string name = tracks[i].video ? "video" : "audio_" + std::to_string(audio++);
    if (name == want) return int64_t(i + 1);
  }
  return -1;
}

// What a track's playlist request shares with its master's URIs: its query without the track and
// the LL-HLS delivery directives (_HLS_msn, _HLS_part, _HLS_skip).
std::string master_query(const std::string& query) {
  std::string out;
  for (size_t at = 0; at <= query.size();) {
    size_t end = query.find('&', at);
    if (end == std::string::npos) end = query.size();
    const std::string pair = query.substr(at, end - at);
    const std::string key = pair.substr(0, pair.find('='));
    if (!pair.empty() && key != "track" && key.rfind("_HLS_", 0) != 0) out += (out.empty() ? "" : "&") + pair;
    at = end + 1;
  }
  return out;
}

// The audio tracks of the current publish, when it has several (else empty).
std::vector<const CmafTrack*> several_audio(const CmafStream& s) {
  std::vector<const CmafTrack*> out;
  for (const CmafTrack& t : s.window.tracks(s.window.generation()))
    if (!t.video) out.push_back(&t);
  if (out.size() < 2) out.clear();
  return out;
}

// A stream with several audio tracks: its master playlist (one #EXT-X-MEDIA rendition per audio track,
// each its own playlist "?track=audio_K", and the variant "?track=video"). "" for other streams and
// for requests of one track's playlist ("track=") or of the muxed one ("media=1").
std::string master_playlist(const CmafStream& s, const StreamPath& path) {
  const auto audio = several_audio(s);
  if (audio.empty() || !query_value(path.query, "track").empty() || query_value(path.query, "media") == "1") return "";
  const std::string base = path.stream + ".m3u8?" + (path.query.empty() ? "" : path.query + "&");
  std::vector<AudioRendition> renditions;
  for (size_t k = 0; k < audio.size(); ++k) {
    renditions.push_back(audio_rendition_of(audio[k]->language));
    renditions.back().uri = base + "track=audio_" + std::to_string(k);
  }
  const bool video = s.window.width() > 0;
  std::string video_codec;
  std::vector<std::string> audio_codecs;
  for (const CmafTrack& t : s.window.tracks(s.window.generation()))
    if (t.video)
      video_codec = t.codec;
    else
      audio_codecs.push_back(t.codec);
  return render_audio_master(renditions, base + (video ? "track=video" : "media=1"), uint64_t(s.window.bandwidth()),
                             variant_codecs(video, video_codec, audio_codecs));
}

// The media playlist a request names: all tracks muxed, or one track ("track="), with the ABR ladder's
// rendition reports on the muxed one.
void respond_media_playlist(SoupServerMessage* msg, CmafStream& s, const StreamPath& path, bool skip,
                            CmafRegistry& registry, bool cors) {
  const char* type = "application/vnd.apple.mpegurl";
  const int64_t track = requested_track(s, path.query);
  if (track < 0) {
    respond_text(msg, 404, "no such track\n", cors);
    return;
  }
  if (track > 0) {
    const std::string query = master_query(path.query);
    const std::string base = path.stream + ".m3u8?" + (query.empty() ? "" : query + "&");
    respond_string(msg, type,
                   s.window.render_hls(skip, s.window.track_rendition_reports(base, uint32_t(track)), uint32_t(track)),
                   cors);
    return;
  }
  const std::string master = master_playlist(s, path);
  if (!master.empty()) {
    respond_string(msg, type, master, cors);
    return;
  }
  respond_string(msg, type, s.window.render_hls(skip, rendition_reports(s.key, registry)), cors);
}

// The bytes of part `part` of segment msn (part < 0: the whole segment), nullptr when not (or no
// longer) in the window.
GBytes* media_bytes(const CmafWindow& window, uint64_t msn, int64_t part) {
  if (part >= 0) {
    const CmafPartEntry* p = window.part(msn, uint32_t(part));
    return p ? p->data.get() : nullptr;
  }
  const CmafSegmentEntry* seg = window.segment(msn);
  return seg ? seg->data.get() : nullptr;
}

// Longest a request is held: three target durations (RFC 8216bis 6.2.5.2), after which 503.
int hold_ms(const CmafWindow& w) { return 3 * w.target_duration() * 1000; }

void serve_media(SoupServerMessage* msg, const StreamPath& path, CmafRegistry& registry, bool cors,
                 const HlsDemandFn& demand) {
  std::string stream;
  uint64_t msn = 0;
  int64_t part = -1;
  uint32_t track = 0;
  CmafStream* s = nullptr;
  if (parse_media_name(path.stream, &stream, &msn, &part)) {
    s = find_stream(registry, path.app, stream, &track);
    if (s) demand(path.app, s->key, 0);
  }
  if (!s) {
    respond_text(msg, 404, "segment not found\n", cors);
    return;
  }
  const char* type = track_type(*s, track);
  auto lookup = [s, msn, part]() { return media_bytes(s->window, msn, part); };
  if (GBytes* bytes = lookup()) {
    respond_media(msg, bytes, track, type, cors);
    return;
  }
  // The segment being made (low-latency DASH asks for it early): sent part by part as made.
  if (part < 0 && s->live && s->window.settings().low_latency && msn <= s->window.next_part().first &&
      s->window.availability(msn, part) == CmafAvailability::wait) {
    if (!s->streamers.add(msg, msn, hold_ms(s->window) + 1000 * s->window.target_duration(), s->window, cors, track,
                          type))
      respond_text(msg, 503, "too many held requests\n", cors);
    return;
  }
  // Not made yet: a player asking for the preload-hinted part (or a later segment) waits for it.
  if (s->live && s->window.availability(msn, part) == CmafAvailability::wait) {
    const bool held = s->waiters.add(
        msg, msn, part, hold_ms(s->window), [s, lookup, cors, track, type](SoupServerMessage* m, bool gave_up) {
          GBytes* bytes = gave_up ? nullptr : lookup();
          if (bytes)
            respond_media(m, bytes, track, type, cors);
          else
            respond_text(m, gave_up ? 503 : 404, gave_up ? "not made within the hold time\n" : "segment not found\n",
                         cors);
          (void)s;
        });
    if (!held) respond_text(msg, 503, "too many held requests\n", cors);
    return;
  }
  respond_text(msg, 404, "segment not found\n", cors);
}

}  // namespace

HlsDirectives parse_hls_directives(const std::string& query) {
  HlsDirectives d;
  if (query.empty()) return d;
  GHashTable* params = soup_form_decode(query.c_str());
  auto get = [params](const char* k) { return static_cast<const char*>(g_hash_table_lookup(params, k)); };
  const char* msn = get("_HLS_msn");
  const char* part = get("_HLS_part");
  const char* skip = get("_HLS_skip");
  if (msn) {
    d.has_msn = true;
    if (!parse_number(msn, &d.msn)) d.error = "_HLS_msn must be a non-negative integer";
  }
  if (part) {
    uint64_t p = 0;
    if (!d.has_msn)
      d.error = "_HLS_part needs _HLS_msn";
    else if (!parse_number(part, &p))
      d.error = "_HLS_part must be a non-negative integer";
    else
      d.part = int64_t(p);
  }
  if (skip) {
    if (g_strcmp0(skip, "YES") == 0 || g_strcmp0(skip, "v2") == 0)
      d.skip = true;
    else if (g_strcmp0(skip, "NO") != 0)
      d.error = "_HLS_skip must be YES or NO";
  }
  g_hash_table_unref(params);
  return d;
}

bool serve_cmaf_playlist(SoupServerMessage* msg, const StreamPath& path, CmafRegistry& registry, bool cors,
                         const HlsDemandFn& demand) {
  CmafStream* s = registry.find(path.app + "/" + path.stream);
  if (!s) return false;
  const std::string key = path.app + "/" + path.stream;
  CmafRegistry* reg = &registry;  // lives as long as the server's handlers
  if (s->window.empty()) {
    if (!s->live) {
      respond_text(msg, 404, "playlist not found\n", cors);
      return true;
    }
    // Just started (on demand, or a fresh publish): held until the first segment is complete.
    const int hold = first_segment_hold_ms(s->window.settings().target_duration_s);
    demand(path.app, key, hold);
    const bool held = s->waiters.add(msg, s->window.next_part().first, -1, hold,
                                     [s, cors, key, reg, demand, path](SoupServerMessage* m, bool gave_up) {
                                       if (!gave_up) demand(path.app, key, 0);
                                       if (gave_up)
                                         respond_text(m, 503, "no segment made within the hold time\n", cors);
                                       else
                                         respond_media_playlist(m, *s, path, false, *reg, cors);
                                     });
    if (!held) respond_text(msg, 503, "too many held requests\n", cors);
    return true;
  }
  const bool ll = s->window.settings().low_latency;
  HlsDirectives d = ll ? parse_hls_directives(path.query) : HlsDirectives{};
  if (!d.error.empty()) {
    respond_text(msg, 400, d.error + "\n", cors);
    return true;
  }
  if (!d.has_msn) {
    respond_media_playlist(msg, *s, path, d.skip, registry, cors);
    return true;
  }
  switch (s->window.availability(d.msn, d.part)) {
    case CmafAvailability::ready:
      respond_media_playlist(msg, *s, path, d.skip, registry, cors);
      return true;
    case CmafAvailability::too_far:
      respond_text(msg, 400, "_HLS_msn/_HLS_part too far ahead of the playlist\n", cors);
      return true;
    case CmafAvailability::wait:
      break;
  }
  if (!s->live) {
    respond_text(msg, 503, "stream is not live\n", cors);
    return true;
  }
  const bool skip = d.skip;
  const bool held = s->waiters.add(msg, d.msn, d.part, hold_ms(s->window),
                                   [s, skip, cors, path, reg](SoupServerMessage* m, bool gave_up) {
                                     // gave_up may come from the stream's own teardown: s is not read then.
                                     if (gave_up)
                                       respond_text(m, 503, "playlist update not made within the hold time\n", cors);
                                     else
                                       respond_media_playlist(m, *s, path, skip, *reg, cors);
                                   });
  if (!held) respond_text(msg, 503, "too many held requests\n", cors);
  return true;
}

namespace {

CmafQuickAnswer quick_reply(int status, const char* type, const std::string& text) {
  CmafQuickAnswer a;
  a.kind = CmafQuickAnswer::Kind::reply;
  a.status = status;
  a.type = type;
  a.body = Ref<GBytes>::adopt(g_bytes_new(text.data(), text.size()));
  return a;
}

CmafQuickAnswer quick_hold(CmafStream* s, uint64_t msn, int64_t part) {
  CmafQuickAnswer a;
  a.kind = CmafQuickAnswer::Kind::hold;
  a.stream = s;
  a.msn = msn;
  a.part = part;
  a.hold_ms = hold_ms(s->window);
  return a;
}

CmafQuickAnswer quick_playlist(CmafStream& s, const std::string& query, CmafRegistry& registry) {
  if (!query_value(query, "track").empty() || !query_value(query, "media").empty() || !several_audio(s).empty())
    return {};  // one track's playlist, or a master playlist: libsoup's path
  const HlsDirectives d = parse_hls_directives(query);
  const char* type = "application/vnd.apple.mpegurl";
  if (!d.error.empty()) return quick_reply(400, "text/plain", d.error + "\n");
  if (d.has_msn) {
    switch (s.window.availability(d.msn, d.part)) {
      case CmafAvailability::too_far:
        return quick_reply(400, "text/plain", "_HLS_msn/_HLS_part too far ahead of the playlist\n");
      case CmafAvailability::wait:
        return quick_hold(&s, d.msn, d.part);
      case CmafAvailability::ready:
        break;
    }
  }
  return quick_reply(200, type, s.window.render_hls(d.skip, rendition_reports(s.key, registry)));
}

CmafQuickAnswer quick_media(CmafRegistry& registry, const StreamPath& path, const HlsDemandFn& demand) {
  std::string stream;
  uint64_t msn = 0;
  int64_t part = -1;
  uint32_t track = 0;
  if (!parse_media_name(path.stream, &stream, &msn, &part)) return {};
  CmafStream* s = find_stream(registry, path.app, stream, &track);
  if (!s || !s->live) return {};
  demand(path.app, s->key, 0);
  GBytes* bytes = media_bytes(s->window, msn, part);
  if (!bytes) {
    // A part (or a later segment) not made yet waits; DASH's open segment is streamed by libsoup's path.
    if (part >= 0 && s->window.availability(msn, part) == CmafAvailability::wait) return quick_hold(s, msn, part);
    return {};
  }
  CmafQuickAnswer a;
  a.kind = CmafQuickAnswer::Kind::reply;
  a.type = track_type(*s, track);
  a.cache = "public, max-age=3600";
  if (!track) {
    a.body = Ref<GBytes>::add_ref(bytes);
    return a;
  }
  a.body = cmaf_track_bytes(bytes, track);
  if (!a.body || g_bytes_get_size(a.body.get()) == 0) return {};
  return a;
}

}  // namespace

CmafQuickAnswer answer_cmaf_quick(CmafRegistry& registry, const std::string& extension, const StreamPath& path,
                                  const HlsDemandFn& demand) {
  if (extension == ".m4s") return quick_media(registry, path, demand);
  if (extension != ".m3u8") return {};
  CmafStream* s = registry.find(path.app + "/" + path.stream);
  if (!s || !s->live || s->window.empty() || !s->window.settings().low_latency) return {};
  demand(path.app, s->key, 0);
  return quick_playlist(*s, path.query, registry);
}

int first_segment_hold_ms(int target_duration_s) { return (3 * target_duration_s + 10) * 1000; }

void register_cmaf_http(StreamRoutes& http, std::shared_ptr<CmafRegistry> registry, HlsDemandFn demand) {
  StreamRoutes* server = &http;
  http.add_stream_handler(".m4s", [server, registry, demand](SoupServerMessage* msg, const StreamPath& path) {
    serve_media(msg, path, *registry, server->cors(), demand);
  });
  http.add_stream_handler("-init.mp4", [server, registry, demand](SoupServerMessage* msg, const StreamPath& path) {
    const auto dash = path.stream.rfind('-');
    uint64_t generation = 0;
    uint32_t track = 0;
    CmafStream* s = nullptr;
    if (dash != std::string::npos && parse_number(path.stream.substr(dash + 1).c_str(), &generation)) {
      s = find_stream(*registry, path.app, path.stream.substr(0, dash), &track);
      if (s) demand(path.app, s->key, 0);
    }
    GBytes* init = nullptr;
    if (s && generation <= UINT32_MAX) {
      if (!track) {
        init = s->window.init(uint32_t(generation));
      } else {
        const auto& tracks = s->window.tracks(uint32_t(generation));
        if (track <= tracks.size()) init = tracks[track - 1].init.get();
      }
    }
    if (!init) {
      respond_text(msg, 404, "init segment not found\n", server->cors());
      return;
    }
    respond_bytes(msg, track_type(*s, track), init, "public, max-age=3600", server->cors());
  });
  http.add_stream_handler(".mpd", [server, registry, demand](SoupServerMessage* msg, const StreamPath& path) {
    const std::string key = path.app + "/" + path.stream;
    demand(path.app, key, 0);
    CmafStream* s = registry->find(key);
    if (s && s->live && s->window.empty()) {  // just started: held until the first segment exists
      const bool cors = server->cors();
      const int hold = first_segment_hold_ms(s->window.settings().target_duration_s);
      demand(path.app, key, hold);
      const bool held = s->waiters.add(msg, s->window.next_part().first, -1, hold,
                                       [s, cors, demand, app = path.app, key](SoupServerMessage* m, bool gave_up) {
                                         if (!gave_up) demand(app, key, 0);
                                         std::string text = gave_up ? "" : render_mpd(s->window, g_get_real_time());
                                         if (text.empty())
                                           respond_text(m, 503, "no segment made within the hold time\n", cors);
                                         else
                                           respond_string(m, "application/dash+xml", text, cors);
                                       });
      if (!held) respond_text(msg, 503, "too many held requests\n", server->cors());
      return;
    }
    std::string mpd = s ? render_mpd(s->window, g_get_real_time()) : "";
    if (mpd.empty()) {
      respond_text(msg, 404, "manifest not found\n", server->cors());
      return;
    }
    respond_string(msg, "application/dash+xml", mpd, server->cors());
  });
}

}  // namespace estuary::server
