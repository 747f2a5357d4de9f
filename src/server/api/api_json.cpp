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
  json_builder_set_member_name(b, "kbps");
  json_builder_begin_object(b);
  add_int(b, "recv_30s", recv_30s);
  add_int(b, "send_30s", send_30s);
  json_builder_end_object(b);
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

void add_envelope(JsonBuilder* b, const ServerIdentity& id, int code) {
  add_int(b, "code", code);
  add_string(b, "server", id.server);
  add_string(b, "service", id.service);
  add_string(b, "pid", std::to_string(id.pid));
}

static int64_t as_json_int(uint64_t v) {
  return v > static_cast<uint64_t>(G_MAXINT64) ? G_MAXINT64 : static_cast<int64_t>(v);
}

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
  add_int(b, "send_bytes", as_json_int(s.send_bytes));
  add_int(b, "recv_bytes", as_json_int(s.recv_bytes));
  add_kbps(b, s.kbps_recv_30s, s.kbps_send_30s);

  json_builder_set_member_name(b, "publish");
  json_builder_begin_object(b);
  add_bool(b, "active", s.publish_active);
  // SRS writes cid only while a publisher is active.
  if (s.publish_active) add_string(b, "cid", s.publish_cid);
  json_builder_end_object(b);

  json_builder_set_member_name(b, "video");
  if (s.video) {
    json_builder_begin_object(b);
    add_string(b, "codec", s.video->codec);
    add_string(b, "profile", s.video->profile);
    add_string(b, "level", s.video->level);
    add_int(b, "width", s.video->width);
    add_int(b, "height", s.video->height);
    json_builder_end_object(b);
  } else {
    json_builder_add_null_value(b);
  }

  json_builder_set_member_name(b, "audio");
  if (s.audio) {
    json_builder_begin_object(b);
    add_string(b, "codec", s.audio->codec);
    add_int(b, "sample_rate", s.audio->sample_rate);
    add_int(b, "channel", s.audio->channels);
    add_string(b, "profile", s.audio->profile);
    json_builder_end_object(b);
  } else {
    json_builder_add_null_value(b);
  }

  // Estuary extension: the outputs attached to the stream.
  json_builder_set_member_name(b, "outputs");
  json_builder_begin_array(b);
  for (const auto& o : s.outputs) {
    std::string v = valid_utf8(o);
    json_builder_add_string_value(b, v.c_str());
  }
  json_builder_end_array(b);
  if (s.dvr) {
    json_builder_set_member_name(b, "dvr");
    json_builder_begin_object(b);
    add_bool(b, "recording", s.dvr->recording);
    add_string(b, "format", s.dvr->format);
    add_string(b, "plan", s.dvr->plan);
    add_string(b, "file", valid_utf8(s.dvr->current_file));
    add_string(b, "error", valid_utf8(s.dvr->error));
    json_builder_set_member_name(b, "files");
    json_builder_begin_array(b);
    for (const auto& f : s.dvr->files) {
      json_builder_begin_object(b);
      add_string(b, "path", valid_utf8(f.path));
      add_int(b, "size", int64_t(f.size));
      add_double(b, "duration", f.duration_s);
      add_bool(b, "open", f.open);
      json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
  }
  if (s.health) {
    json_builder_set_member_name(b, "health");
    json_builder_begin_object(b);
    add_bool(b, "black", s.health->black);
    add_bool(b, "frozen", s.health->frozen);
    add_bool(b, "silent", s.health->silent);
    add_bool(b, "drift", s.health->drift);
    add_double(b, "av_drift_ms", s.health->av_drift_ms);
    add_string(b, "last_event", valid_utf8(s.health->last_event));
    add_int(b, "last_event_ms", s.health->last_event_ms);
    json_builder_end_object(b);
  }
  if (s.transcode) {
    json_builder_set_member_name(b, "transcode");
    json_builder_begin_object(b);
    add_string(b, "pipeline", valid_utf8(s.transcode->pipeline));
    add_string(b, "master_playlist", valid_utf8(s.transcode->master_playlist));
    json_builder_set_member_name(b, "renditions");
    json_builder_begin_array(b);
    for (const auto& r : s.transcode->renditions) {
      std::string v = valid_utf8(r);
      json_builder_add_string_value(b, v.c_str());
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
  }
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
  if (c.srt) {  // Estuary extension: the SRT link as libsrt sees it
    json_builder_set_member_name(b, "srt");
    json_builder_begin_object(b);
    add_double(b, "rtt_ms", c.srt->rtt_ms);
    add_double(b, "send_mbps", c.srt->send_mbps);
    add_double(b, "recv_mbps", c.srt->recv_mbps);
    add_double(b, "bandwidth_mbps", c.srt->bandwidth_mbps);
    add_int(b, "pkt_sent", c.srt->pkt_sent);
    add_int(b, "pkt_recv", c.srt->pkt_recv);
    add_int(b, "pkt_lost", c.srt->pkt_lost);
    add_int(b, "pkt_retrans", c.srt->pkt_retrans);
    add_int(b, "pkt_dropped", c.srt->pkt_dropped);
    add_int(b, "latency_ms", c.srt->latency_ms);
    json_builder_end_object(b);
  }
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
