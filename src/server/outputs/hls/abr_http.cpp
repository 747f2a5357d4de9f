// Owns: the ABR master playlist endpoint (see abr_http.h).
#include "server/outputs/hls/abr_http.h"

#include <algorithm>
#include <map>
#include <optional>

#include "common/gobject_ptr.h"
#include "pipelines/stream_bus.h"
#include "server/control/renditions.h"
#include "server/outputs/hls/abr_master.h"
#include "server/outputs/hls/hls_output.h"

namespace estuary::server {
namespace {

// Average bit rate of a bus stream since it was published: {total, audio} in bit/s.
std::pair<uint64_t, uint64_t> measured_bps(const std::string& key, int64_t live_ms) {
  pipelines::BusStats st;
  const int64_t elapsed_ms = g_get_real_time() / 1000 - live_ms;
  if (elapsed_ms < 500 || !pipelines::bus_stats(key, &st)) return {0, 0};
  auto rate = [&](uint64_t bytes) { return uint64_t(double(bytes) * 8000.0 / double(elapsed_ms)); };
  return {rate(st.video_bytes + st.audio_bytes), rate(st.audio_bytes)};
}

std::optional<AbrVariant> variant_for(const api::StreamView& v, const std::string& master_app, int configured_kbps) {
  const std::string key = v.app + "/" + v.name;
  if (!v.publish_active || !hls_playlist_available(key)) return std::nullopt;
  AbrVariant out;
  out.uri = v.app == master_app ? v.name + ".m3u8" : "/" + key + ".m3u8";
  Ref<GstCaps> video = pipelines::bus_caps(key, "video");
  Ref<GstCaps> audio = pipelines::bus_caps(key, "audio");
  if (v.video) {
    out.width = v.video->width;
    out.height = v.video->height;
  }
  std::string codecs = video_codec_string(video.get());
  const std::string a = audio_codec_string(audio.get());
  // CODECS must name every codec or none (a player would refuse an undeclared track).
  if ((video && codecs.empty()) || (audio && a.empty()))
    codecs.clear();
  else if (!a.empty())
    codecs += (codecs.empty() ? "" : ",") + a;
  out.codecs = codecs;
  out.frame_rate = caps_frame_rate(video.get());
  const auto [total, audio_bps] = measured_bps(key, v.live_ms);
  const uint64_t configured = configured_kbps > 0 ? uint64_t(configured_kbps) * 1000 + audio_bps : 0;
  out.bandwidth = std::max(configured, total);
  return out;
}

}  // namespace

void register_abr_playlist(StreamRoutes& http, const api::Backend& model) {
  StreamRoutes* server = &http;
  http.add_stream_handler(kAbrPlaylistSuffix, [server, &model](SoupServerMessage* msg, const StreamPath& path) {
    const std::string source = path.app + "/" + path.stream;
    const auto renditions = renditions_of(source);
    if (renditions.empty()) {
      respond_text(msg, 404, "no renditions of " + source + "\n", server->cors());
      return;
    }
    std::map<std::string, api::StreamView> views;
    for (auto& v : model.streams()) views.emplace(v.app + "/" + v.name, std::move(v));
    std::vector<AbrVariant> variants;
    if (auto it = views.find(source); it != views.end())
      if (auto variant = variant_for(it->second, path.app, 0)) variants.push_back(std::move(*variant));
    for (const auto& r : renditions)
      if (auto it = views.find(r.key); it != views.end())
        if (auto variant = variant_for(it->second, path.app, r.video_kbps)) variants.push_back(std::move(*variant));
    if (variants.empty()) {
      respond_text(msg, 404, "no variant of " + source + " has an HLS playlist yet\n", server->cors());
      return;
    }
    const std::string text = render_master_playlist(std::move(variants));
    soup_server_message_set_status(msg, 200, nullptr);
    SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
    soup_message_headers_replace(h, "Cache-Control", "no-cache");
    if (server->cors()) soup_message_headers_replace(h, "Access-Control-Allow-Origin", "*");
    soup_server_message_set_response(msg, "application/vnd.apple.mpegurl", SOUP_MEMORY_COPY, text.data(), text.size());
  });
}

}  // namespace estuary::server
