// Owns: the JSON shapes of the SRS-compatible API (see api_json.h). Field names follow SRS's
// srs_app_statistic.cpp; Estuary extensions are marked where they are added.
#include "server/api/api_json.h"

#include <glib.h>

#include "common/gobject_ptr.h"

namespace estuary::api {

namespace {

std::string valid_utf8(std::string_view text) {
  if (g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr)) return std::string(text);
  gchar* fixed = g_utf8_make_valid(text.data(), static_cast<gssize>(text.size()));
  std::string out(fixed);
  g_free(fixed);
  return out;
}

void add_kbps(JsonBuilder* b, int recv_30s, int send_30s) {
  add_object(b, "kbps", [&] {
    add_int(b, "recv_30s", recv_30s);
    add_int(b, "send_30s", send_30s);
  });
}

}  // namespace

void add_string(JsonBuilder* b, const char* key, std::string_view value) {
  json_builder_set_member_name(b, key);
  std::string v = valid_utf8(value);
  json_builder_add_string_value(b, v.c_str());
}

void add_int(JsonBuilder* b, const char* key, int64_t value) {
  json_builder_set_member_name(b, key);
  json_builder_add_int_value(b, value);
}

void add_double(JsonBuilder* b, const char* key, double value) {
  json_builder_set_member_name(b, key);
  json_builder_add_double_value(b, value);
}

void add_bool(JsonBuilder* b, const char* key, bool value) {
  json_builder_set_member_name(b, key);
  json_builder_add_boolean_value(b, value);
}

void add_string_array(JsonBuilder* b, const char* key, const std::vector<std::string>& values) {
  json_builder_set_member_name(b, key);
  json_builder_begin_array(b);
  for (const auto& v : values) json_builder_add_string_value(b, valid_utf8(v).c_str());
  json_builder_end_array(b);
}

void add_envelope(JsonBuilder* b, const ServerIdentity& id, int code) {
  add_int(b, "code", code);
  add_string(b, "server", id.server);
  add_string(b, "service", id.service);
  add_string(b, "pid", std::to_string(id.pid));
}

int64_t as_json_int(uint64_t v) { return v > static_cast<uint64_t>(G_MAXINT64) ? G_MAXINT64 : static_cast<int64_t>(v); }

void add_stream_members(JsonBuilder* b, const StreamView& s, const std::string& default_vhost) {
  add_string(b, "id", s.id);
  add_string(b, "name", s.name);
  add_string(b, "vhost", s.vhost.empty() ? default_vhost : s.vhost);
  add_string(b, "app", s.app);
  add_string(b, "tcUrl", s.tc_url);
  add_string(b, "url", s.url);
  add_int(b, "live_ms", s.live_ms);
  add_int(b, "clients", s.clients);
  add_int(b, "frames", as_json_int(s.frames));
  add_int(b, "video_frames", as_json_int(s.video_frames));  // Estuary extension: the console's fps
  add_int(b, "send_bytes", as_json_int(s.send_bytes));
  add_int(b, "recv_bytes", as_json_int(s.recv_bytes));
  add_kbps(b, s.kbps_recv_30s, s.kbps_send_30s);
  add_object(b, "memory", [&] {  // Estuary extension: what the stream's bus holds now
    add_int(b, "gop_cache_bytes", as_json_int(s.gop_cache_bytes));
    add_int(b, "gop_cache_max_bytes", as_json_int(s.gop_cache_max_bytes));
    add_int(b, "queued_bytes", as_json_int(s.queued_bytes));
  });

  add_object(b, "publish", [&] {
    add_bool(b, "active", s.publish_active);
    // SRS writes cid only while a publisher is active.
    if (s.publish_active) add_string(b, "cid", s.publish_cid);
  });
  add_optional_object(b, "video", s.video, IfAbsent::null, [b](const VideoView& v) {
    add_string(b, "codec", v.codec);
    add_string(b, "profile", v.profile);
    add_string(b, "level", v.level);
    add_int(b, "width", v.width);
    add_int(b, "height", v.height);
  });
  add_optional_object(b, "audio", s.audio, IfAbsent::null, [b](const AudioView& a) {
    add_string(b, "codec", a.codec);
    add_int(b, "sample_rate", a.sample_rate);
    add_int(b, "channel", a.channels);
    add_string(b, "profile", a.profile);
  });
  if (!s.audio_tracks.empty()) {
    add_object_array(b, "audio_tracks", s.audio_tracks, [b](const AudioTrackView& t) {
      add_string(b, "name", t.name);
      add_string(b, "codec", t.audio.codec);
      add_int(b, "sample_rate", t.audio.sample_rate);
      add_int(b, "channel", t.audio.channels);
      add_string(b, "profile", t.audio.profile);
      add_string(b, "language", t.language);
    });
  }

  // Estuary extensions: the outputs attached to the stream, then views present only while they apply.
  add_string_array(b, "outputs", s.outputs);
  add_optional_object(b, "dvr", s.dvr, IfAbsent::omit, [b](const DvrView& d) {
    add_bool(b, "recording", d.recording);
    add_string(b, "format", d.format);
    add_string(b, "plan", d.plan);
    add_string(b, "file", d.current_file);
    add_string(b, "error", d.error);
    add_object_array(b, "files", d.files, [b](const DvrFileView& f) {
      add_string(b, "path", f.path);
      add_int(b, "size", int64_t(f.size));
      add_double(b, "duration", f.duration_s);
      add_bool(b, "open", f.open);
    });
  });
  add_optional_object(b, "health", s.health, IfAbsent::omit, [b](const HealthView& h) {
    add_bool(b, "black", h.black);
    add_bool(b, "frozen", h.frozen);
    add_bool(b, "silent", h.silent);
    add_bool(b, "drift", h.drift);
    add_double(b, "av_drift_ms", h.av_drift_ms);
    add_string(b, "last_event", h.last_event);
    add_int(b, "last_event_ms", h.last_event_ms);
  });
  add_optional_object(b, "transcode", s.transcode, IfAbsent::omit, [b](const TranscodeView& t) {
    add_string(b, "pipeline", t.pipeline);
    add_string(b, "master_playlist", t.master_playlist);
    add_string_array(b, "renditions", t.renditions);
  });
}

void add_client_members(JsonBuilder* b, const ClientView& c, const std::string& default_vhost) {
  add_string(b, "id", c.id);
  add_string(b, "vhost", c.vhost.empty() ? default_vhost : c.vhost);
  add_string(b, "stream", c.stream);
  add_string(b, "ip", c.ip);
  add_string(b, "pageUrl", c.page_url);
  add_string(b, "swfUrl", c.swf_url);
  add_string(b, "tcUrl", c.tc_url);
  add_string(b, "url", c.url);
  add_string(b, "name", c.name);
  add_string(b, "type", c.type);
  add_bool(b, "publish", c.publish);
  add_double(b, "alive", c.alive_s);
  add_int(b, "send_bytes", as_json_int(c.send_bytes));
  add_int(b, "recv_bytes", as_json_int(c.recv_bytes));
  add_kbps(b, c.kbps_recv_30s, c.kbps_send_30s);
  // Estuary extension: the SRT link as libsrt sees it.
  add_optional_object(b, "srt", c.srt, IfAbsent::omit, [b](const SrtStatsView& srt) {
    add_double(b, "rtt_ms", srt.rtt_ms);
    add_double(b, "send_mbps", srt.send_mbps);
    add_double(b, "recv_mbps", srt.recv_mbps);
    add_double(b, "bandwidth_mbps", srt.bandwidth_mbps);
    add_int(b, "pkt_sent", srt.pkt_sent);
    add_int(b, "pkt_recv", srt.pkt_recv);
    add_int(b, "pkt_lost", srt.pkt_lost);
    add_int(b, "pkt_retrans", srt.pkt_retrans);
    add_int(b, "pkt_dropped", srt.pkt_dropped);
    add_int(b, "latency_ms", srt.latency_ms);
  });
  // Estuary extension: the WebRTC link from the peer's RTCP (shared engine).
  add_optional_object(b, "rtc", c.rtc, IfAbsent::omit, [b](const RtcStatsView& rtc) {
    add_double(b, "rtt_ms", rtc.rtt_ms);
    add_double(b, "fraction_lost", rtc.fraction_lost);
    add_int(b, "pkt_lost", rtc.packets_lost);
    add_int(b, "pkt_sent", rtc.packets_sent);
    add_int(b, "nacks", rtc.nacks);
    add_int(b, "pkt_retrans", rtc.retransmits);
    add_int(b, "plis", rtc.plis);
    add_int(b, "firs", rtc.firs);
    add_int(b, "keyframes_from_ring", rtc.keyframes_from_ring);
    add_int(b, "remb_bps", rtc.remb_bps);
    add_int(b, "twcc", rtc.twcc_feedback);
  });
}

void add_vhost_members(JsonBuilder* b, const ServerIdentity& id, const std::vector<StreamView>& streams,
                       const std::vector<ClientView>& clients, const SummaryView& summary) {
  int recv = 0, send = 0;
  uint64_t stream_send = 0, stream_recv = 0;
  for (const auto& s : streams) {
    recv += s.kbps_recv_30s;
    send += s.kbps_send_30s;
    stream_send += s.send_bytes;
    stream_recv += s.recv_bytes;
  }
  add_string(b, "id", id.vhost_id);
  add_string(b, "name", kDefaultVhostName);
  add_bool(b, "enabled", true);
  add_int(b, "clients", static_cast<int64_t>(clients.size()));
  add_int(b, "streams", static_cast<int64_t>(streams.size()));
  // The summary carries totals that include streams already gone; prefer it when it has any.
  add_int(b, "send_bytes", as_json_int(summary.send_bytes ? summary.send_bytes : stream_send));
  add_int(b, "recv_bytes", as_json_int(summary.recv_bytes ? summary.recv_bytes : stream_recv));
  add_kbps(b, recv, send);
}

std::string to_json_text(JsonNode* node) {
  Ref<JsonGenerator> gen = Ref<JsonGenerator>::adopt(json_generator_new());
  json_generator_set_root(gen.get(), node);
  gsize length = 0;
  gchar* text = json_generator_to_data(gen.get(), &length);
  std::string out(text, length);
  g_free(text);
  return out;
}

std::string printable(std::string_view text, size_t max_bytes) {
  std::string v = valid_utf8(text);
  if (v.size() <= max_bytes) return v;
  const gchar* start = v.c_str();
  const gchar* cut = g_utf8_find_prev_char(start, start + max_bytes + 1);
  size_t keep = cut ? static_cast<size_t>(cut - start) : 0;
  return v.substr(0, keep) + "...";
}

}  // namespace estuary::api
