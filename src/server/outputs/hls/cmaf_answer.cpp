// Owns: the decision of what a CMAF HLS request gets (see cmaf_answer.h).
#include "server/outputs/hls/cmaf_answer.h"

#include <cstring>
#include <vector>

#include "server/control/renditions.h"
#include "server/outputs/hls/hls_output.h"
#include "server/outputs/hls/hls_playlist.h"

namespace estuary::server {
namespace {

constexpr const char* kPlaylistType = "application/vnd.apple.mpegurl";
constexpr const char* kMediaCache = "public, max-age=3600";

CmafAnswer reply(const char* type, const char* cache, Ref<GBytes> body) {
  CmafAnswer a;
  a.kind = CmafAnswer::Kind::reply;
  a.type = type;
  a.cache = cache;
  a.body = std::move(body);
  return a;
}

CmafAnswer playlist_reply(const std::string& text) {
  return reply(kPlaylistType, "no-cache", Ref<GBytes>::adopt(g_bytes_new(text.data(), text.size())));
}

CmafAnswer hold(CmafStream* s, uint64_t msn, int64_t part, int ms, const char* gave_up) {
  CmafAnswer a;
  a.kind = CmafAnswer::Kind::hold;
  a.stream = s;
  a.msn = msn;
  a.part = part;
  a.hold_ms = ms;
  a.gave_up = gave_up;
  return a;
}

// Longest a request is held: three target durations (RFC 8216bis 6.2.5.2), after which 503.
int hold_ms(const CmafWindow& w) { return 3 * w.target_duration() * 1000; }

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
    if (!parse_cmaf_number(rest.substr(dot + 1).c_str(), &p)) return false;
    *part = int64_t(p);
    rest = rest.substr(0, dot);
  }
  return parse_cmaf_number(rest.c_str(), msn);
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

// The playlist a request names: all tracks muxed (with the ABR ladder's rendition reports), one
// track ("track="), or the master of a stream with several audio tracks.
CmafAnswer media_playlist(CmafStream& s, const StreamPath& path, bool skip, CmafRegistry& registry) {
  const int64_t track = requested_track(s, path.query);
  if (track < 0) return cmaf_text(404, "no such track\n");
  if (track > 0) {
    const std::string query = master_query(path.query);
    const std::string base = path.stream + ".m3u8?" + (query.empty() ? "" : query + "&");
    return playlist_reply(
        s.window.render_hls(skip, s.window.track_rendition_reports(base, uint32_t(track)), uint32_t(track)));
  }
  const std::string master = master_playlist(s, path);
  if (!master.empty()) return playlist_reply(master);
  return playlist_reply(s.window.render_hls(skip, rendition_reports(s.key, registry)));
}

CmafAnswer answer_playlist(CmafRegistry& registry, const StreamPath& path, const HlsDemandFn& demand) {
  const std::string key = path.app + "/" + path.stream;
  CmafStream* s = registry.find(key);
  if (!s) return {};
  demand(path.app, key, 0);
  if (s->window.empty()) {
    if (!s->live) return cmaf_text(404, "playlist not found\n");
    // Just started (on demand, or a fresh publish): held until the first segment is complete.
    const int ms = first_segment_hold_ms(s->window.settings().target_duration_s);
    demand(path.app, key, ms);
    return hold(s, s->window.next_part().first, -1, ms, "no segment made within the hold time\n");
  }
  const HlsDirectives d = s->window.settings().low_latency ? parse_hls_directives(path.query) : HlsDirectives{};
  if (!d.error.empty()) return cmaf_text(400, d.error + "\n");
  if (d.has_msn) {
    switch (s->window.availability(d.msn, d.part)) {
      case CmafAvailability::ready:
        break;
      case CmafAvailability::too_far:
        return cmaf_text(400, "_HLS_msn/_HLS_part too far ahead of the playlist\n");
      case CmafAvailability::wait:
        if (!s->live) return cmaf_text(503, "stream is not live\n");
        return hold(s, d.msn, d.part, hold_ms(s->window), "playlist update not made within the hold time\n");
    }
  }
  return media_playlist(*s, path, d.skip, registry);
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

CmafAnswer answer_media(CmafRegistry& registry, const StreamPath& path, const HlsDemandFn& demand) {
  std::string name;
  uint64_t msn = 0;
  int64_t part = -1;
  uint32_t track = 0;
  CmafStream* s = nullptr;
  if (parse_media_name(path.stream, &name, &msn, &part)) s = find_cmaf_stream(registry, path.app, name, &track);
  if (!s) return cmaf_text(404, "segment not found\n");
  demand(path.app, s->key, 0);
  const char* type = cmaf_track_type(*s, track);
  if (GBytes* bytes = media_bytes(s->window, msn, part)) {
    if (!track) return reply(type, kMediaCache, Ref<GBytes>::add_ref(bytes));
    Ref<GBytes> one = cmaf_track_bytes(bytes, track);
    if (!one) return cmaf_text(500, "segment could not be split\n");
    if (g_bytes_get_size(one.get()) == 0) return cmaf_text(404, "track not in this segment\n");
    return reply(type, kMediaCache, std::move(one));
  }
  if (!s->live || s->window.availability(msn, part) != CmafAvailability::wait)
    return cmaf_text(404, "segment not found\n");
  // The segment being made (low-latency DASH asks for it early): sent part by part as made.
  if (part < 0 && s->window.settings().low_latency && msn <= s->window.next_part().first) {
    CmafAnswer a;
    a.kind = CmafAnswer::Kind::stream;
    a.stream = s;
    a.msn = msn;
    a.hold_ms = hold_ms(s->window) + 1000 * s->window.target_duration();
    a.track = track;
    a.type = type;
    return a;
  }
  // Not made yet: a player asking for the preload-hinted part (or a later segment) waits for it.
  return hold(s, msn, part, hold_ms(s->window), "not made within the hold time\n");
}

}  // namespace

int first_segment_hold_ms(int target_duration_s) { return (3 * target_duration_s + 10) * 1000; }

CmafAnswer cmaf_text(int status, const std::string& text) {
  CmafAnswer a = reply("text/plain", nullptr, Ref<GBytes>::adopt(g_bytes_new(text.data(), text.size())));
  a.status = status;
  return a;
}

CmafAnswer answer_cmaf(CmafRegistry& registry, const std::string& extension, const StreamPath& path,
                       const HlsDemandFn& demand) {
  if (extension == ".m3u8") return answer_playlist(registry, path, demand);
  if (extension == ".m4s") return answer_media(registry, path, demand);
  return {};
}

CmafAnswer answer_cmaf_woken(CmafRegistry& registry, const std::string& extension, const StreamPath& path,
                             const HlsDemandFn& demand) {
  CmafAnswer a = answer_cmaf(registry, extension, path, demand);
  if (a.kind != CmafAnswer::Kind::reply) return cmaf_text(503, "stream changed\n");
  return a;
}

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
    if (!parse_cmaf_number(msn, &d.msn)) d.error = "_HLS_msn must be a non-negative integer";
  }
  if (part) {
    uint64_t p = 0;
    if (!d.has_msn)
      d.error = "_HLS_part needs _HLS_msn";
    else if (!parse_cmaf_number(part, &p))
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

bool parse_cmaf_number(const char* s, uint64_t* out) {
  if (!s || !*s || std::strlen(s) > 15) return false;
  for (const char* p = s; *p; ++p)
    if (!g_ascii_isdigit(*p)) return false;
  *out = g_ascii_strtoull(s, nullptr, 10);
  return true;
}

CmafStream* find_cmaf_stream(CmafRegistry& registry, const std::string& app, const std::string& name, uint32_t* track) {
  *track = 0;
  if (CmafStream* s = registry.find(app + "/" + name)) return s;
  const auto dash = name.rfind("-t");
  uint64_t k = 0;
  if (dash == std::string::npos || dash == 0 || !parse_cmaf_number(name.substr(dash + 2).c_str(), &k) || k == 0 ||
      k > 16)
    return nullptr;
  CmafStream* s = registry.find(app + "/" + name.substr(0, dash));
  if (!s || k > s->window.tracks(s->window.generation()).size()) return nullptr;
  *track = uint32_t(k);
  return s;
}

const char* cmaf_track_type(const CmafStream& s, uint32_t track) {
  const auto& tracks = s.window.tracks(s.window.generation());
  return track && track <= tracks.size() && !tracks[track - 1].video ? "audio/mp4" : "video/mp4";
}

}  // namespace estuary::server
