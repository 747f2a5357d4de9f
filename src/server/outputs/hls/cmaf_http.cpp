// Owns: the libsoup transport of CMAF windows (see cmaf_http.h).
#include "server/outputs/hls/cmaf_http.h"

#include "server/outputs/hls/dash_mpd.h"
#include "server/outputs/hls/hls_output.h"

namespace estuary::server {
namespace {

void respond_string(SoupServerMessage* msg, const char* type, const std::string& text, bool cors) {
  Ref<GBytes> bytes = Ref<GBytes>::adopt(g_bytes_new(text.data(), text.size()));
  respond_bytes(msg, type, bytes.get(), "no-cache", cors);
}

// Writes a reply: bytes with their cache header, or a text answer without one.
void write_reply(SoupServerMessage* msg, const CmafAnswer& a, bool cors) {
  if (a.cache && a.status == 200) {
    respond_bytes(msg, a.type, a.body.get(), a.cache, cors);
    return;
  }
  gsize size = 0;
  const char* data = a.body ? static_cast<const char*>(g_bytes_get_data(a.body.get(), &size)) : "";
  respond_text(msg, a.status, std::string(data, size), cors);
}

// Writes what answer_cmaf decided: a reply now, a hold (the message paused in the stream's waiters,
// answered anew when woken), or the open segment streamed as made.
void write_answer(SoupServerMessage* msg, const CmafAnswer& a, const std::string& extension, const StreamPath& path,
                  CmafRegistry& registry, bool cors, const HlsDemandFn& demand) {
  switch (a.kind) {
    case CmafAnswer::Kind::none:
      respond_text(msg, 404, "not found\n", cors);
      return;
    case CmafAnswer::Kind::reply:
      write_reply(msg, a, cors);
      return;
    case CmafAnswer::Kind::stream:
      if (!a.stream->streamers.add(msg, a.msn, a.hold_ms, a.stream->window, cors, a.track, a.type))
        respond_text(msg, 503, "too many held requests\n", cors);
      return;
    case CmafAnswer::Kind::hold:
      break;
  }
  CmafRegistry* reg = &registry;  // lives as long as the server's handlers
  const std::string gave_up = a.gave_up ? a.gave_up : "not made within the hold time\n";
  const bool held = a.stream->waiters.add(
      msg, a.msn, a.part, a.hold_ms, [reg, extension, path, cors, demand, gave_up](SoupServerMessage* m, bool late) {
        // late may come from the stream's own teardown: the registry is asked anew only when not.
        if (late)
          respond_text(m, 503, gave_up, cors);
        else
          write_reply(m, answer_cmaf_woken(*reg, extension, path, demand), cors);
      });
  if (!held) respond_text(msg, 503, "too many held requests\n", cors);
}

}  // namespace

bool serve_cmaf_playlist(SoupServerMessage* msg, const StreamPath& path, CmafRegistry& registry, bool cors,
                         const HlsDemandFn& demand) {
  const CmafAnswer a = answer_cmaf(registry, ".m3u8", path, demand);
  if (a.kind == CmafAnswer::Kind::none) return false;
  write_answer(msg, a, ".m3u8", path, registry, cors, demand);
  return true;
}

void register_cmaf_http(StreamRoutes& http, std::shared_ptr<CmafRegistry> registry, HlsDemandFn demand) {
  StreamRoutes* server = &http;
  http.add_stream_handler(".m4s", [server, registry, demand](SoupServerMessage* msg, const StreamPath& path) {
    write_answer(msg, answer_cmaf(*registry, ".m4s", path, demand), ".m4s", path, *registry, server->cors(), demand);
  });
  http.add_stream_handler("-init.mp4", [server, registry, demand](SoupServerMessage* msg, const StreamPath& path) {
    const auto dash = path.stream.rfind('-');
    uint64_t generation = 0;
    uint32_t track = 0;
    CmafStream* s = nullptr;
    if (dash != std::string::npos && parse_cmaf_number(path.stream.substr(dash + 1).c_str(), &generation)) {
      s = find_cmaf_stream(*registry, path.app, path.stream.substr(0, dash), &track);
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
    respond_bytes(msg, cmaf_track_type(*s, track), init, "public, max-age=3600", server->cors());
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
