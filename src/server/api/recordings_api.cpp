// Owns: the recordings API handlers (see recordings_api.h).
#include "server/api/recordings_api.h"

#include <glib/gstdio.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>

#include "common/control_thread.h"
#include "common/http_range.h"
#include "common/log.h"
#include "pipelines/dvr_clip.h"
#include "pipelines/flv_clip.h"
#include "pipelines/flv_ts_remux.h"
#include "server/api/api_json.h"
#include "server/outputs/dvr/dvr_catalog.h"
#include "server/outputs/dvr/mp4_layout_read.h"
#include "server/outputs/dvr/vod_playlist.h"

namespace estuary::server {
namespace {

constexpr const char* kPrefix = "/api/v1/recordings";
constexpr size_t kMaxPage = 1000;
constexpr size_t kMaxPlaylistFiles = 10000;
constexpr size_t kMaxClipFiles = 512;
constexpr int64_t kMaxClipMs = 3600 * 1000;
constexpr int kMaxClipsAtOnce = 2;
constexpr const char* kMethods = "GET, HEAD, DELETE, OPTIONS";
// FLV -> MPEG-TS remuxes for VOD segments: each file at most kMaxRemuxFileBytes, at most
// kMaxRemuxesAtOnce at once and kMaxRemuxBytesInFlight of files among them (503 beyond); a
// segment's TS at most twice its file plus 1 MiB.
constexpr uint64_t kMaxRemuxFileBytes = 512ull << 20;
constexpr int kMaxRemuxesAtOnce = 3;
constexpr uint64_t kMaxRemuxBytesInFlight = 512ull << 20;
constexpr int kMaxLayoutScansAtOnce = 4;  // fMP4 playlists whose box headers are being read
constexpr int64_t kDayMs = 86400 * 1000;
constexpr int64_t kMuxClockBaseMs = 3600 * 1000;

int clips_running = 0;               // control thread
int remuxes_running = 0;             // control thread
uint64_t remux_bytes_in_flight = 0;  // control thread
int layout_scans_running = 0;        // control thread

void reply_text(SoupServerMessage* msg, int status, const std::string& type, const std::string& body) {
  api::set_cors_headers(msg, false, kMethods);
  soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Cache-Control", "no-store");
  soup_server_message_set_status(msg, guint(status), nullptr);
  soup_server_message_set_response(msg, type.c_str(), SOUP_MEMORY_COPY, body.data(), body.size());
}

void reply_error(SoupServerMessage* msg, const api::ServerIdentity& id, const Error& e) {
  const int status = http_status_for(e);
  Ref<JsonBuilder> b = Ref<JsonBuilder>::adopt(json_builder_new());
  json_builder_begin_object(b.get());
  api::add_envelope(b.get(), id, status);
  api::add_string(b.get(), "message", e.message);
  json_builder_end_object(b.get());
  api::JsonNodePtr root(json_builder_get_root(b.get()));
  reply_text(msg, status, "application/json", api::to_json_text(root.get()));
}

// Milliseconds since 1970, or an ISO 8601 date-time with a zone.
std::optional<int64_t> parse_time(const std::string& text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  if (std::all_of(text.begin(), text.end(), [](char c) { return g_ascii_isdigit(c); }) && text.size() <= 15)
    return std::stoll(text);
  GDateTime* t = g_date_time_new_from_iso8601(text.c_str(), nullptr);
  if (!t) return std::nullopt;
  const int64_t ms = g_date_time_to_unix(t) * 1000 + g_date_time_get_microsecond(t) / 1000;
  g_date_time_unref(t);
  return ms;
}

std::optional<size_t> parse_size(const std::string& text) {
  if (text.empty() || text.size() > 9 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return g_ascii_isdigit(c); }))
    return std::nullopt;
  return size_t(std::stoul(text));
}

using Query = std::unordered_map<std::string, std::string>;

Query query_of(GHashTable* table) {
  Query q;
  if (!table) return q;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, table);
  while (g_hash_table_iter_next(&it, &k, &v)) q[static_cast<const char*>(k)] = v ? static_cast<const char*>(v) : "";
  return q;
}

// stream, from, to (and start, count) from the query; errors name the parameter.
Result<RecordingQuery> parse_query(const Query& q, bool need_stream, bool need_range) {
  RecordingQuery r;
  auto get = [&](const char* k) -> std::string {
    auto it = q.find(k);
    return it == q.end() ? "" : it->second;
  };
  r.stream = get("stream");
  if (need_stream && r.stream.empty()) return Error{"stream=app/name is required", ErrorReason::invalid, "api"};
  if (!r.stream.empty() && (r.stream.find('/') == std::string::npos || r.stream.size() > 256))
    return Error{"stream must be app/name", ErrorReason::invalid, "api"};
  for (auto [key, field] : {std::pair{"from", &r.from_ms}, std::pair{"to", &r.to_ms}}) {
    const std::string v = get(key);
    if (v.empty()) {
      if (need_range) return Error{std::string(key) + " is required", ErrorReason::invalid, "api"};
      continue;
    }
    auto t = parse_time(v);
    if (!t) return Error{std::string(key) + ": milliseconds since 1970 or ISO 8601", ErrorReason::invalid, "api"};
    *field = *t;
  }
  if (r.to_ms < r.from_ms) return Error{"to is before from", ErrorReason::invalid, "api"};
  for (auto [key, field, def] :
       {std::tuple{"start", &r.start, size_t(0)}, std::tuple{"count", &r.count, size_t(100)}}) {
    const std::string v = get(key);
    if (v.empty()) {
      *field = def;
      continue;
    }
    auto n = parse_size(v);
    if (!n) return Error{std::string(key) + " must be a non-negative integer", ErrorReason::invalid, "api"};
    *field = *n;
  }
  r.count = std::min(r.count, kMaxPage);
  return r;
}

void add_recording(JsonBuilder* b, const Recording& r) {
  json_builder_begin_object(b);
  api::add_string(b, "id", r.path);
  api::add_string(b, "stream", r.stream);
  api::add_int(b, "start_ms", r.start_ms);
  api::add_int(b, "end_ms", r.end_ms);
  api::add_string(b, "start", iso8601_ms(r.start_ms));
  api::add_string(b, "end", iso8601_ms(r.end_ms));
  api::add_double(b, "duration", double(r.duration_ms()) / 1000.0);
  api::add_int(b, "size", api::as_json_int(r.size));
  api::add_string(b, "format", r.format);
  api::add_string(b, "codecs", r.codecs);
  api::add_bool(b, "open", r.open);
  api::add_string(b, "url", std::string(kPrefix) + "/files/" + r.path);
  json_builder_end_object(b);
}

void list(SoupServerMessage* msg, const api::ServerIdentity& id, const Query& q) {
  auto parsed = parse_query(q, false, false);
  if (!parsed) return reply_error(msg, id, parsed.error());
  const DvrCatalog& c = DvrCatalog::instance();
  RecordingPage page = c.index().query(parsed.value());
  Ref<JsonBuilder> b = Ref<JsonBuilder>::adopt(json_builder_new());
  json_builder_begin_object(b.get());
  api::add_envelope(b.get(), id, 0);
  api::add_int(b.get(), "total", int64_t(page.total));
  api::add_int(b.get(), "start", int64_t(parsed.value().start));
  api::add_bool(b.get(), "indexed", c.ready());
  json_builder_set_member_name(b.get(), "recordings");
  json_builder_begin_array(b.get());
  for (const auto& r : page.items) add_recording(b.get(), r);
  json_builder_end_array(b.get());
  json_builder_end_object(b.get());
  api::JsonNodePtr root(json_builder_get_root(b.get()));
  reply_text(msg, 200, "application/json", api::to_json_text(root.get()));
}

// The fMP4 playlist: the MP4 files' box headers are read on a worker thread (a few 16-byte preads
// per second of media, never the media) while the message waits; the playlist is built back here.
// At most kMaxLayoutScansAtOnce such reads at once (503 beyond).
void vod_fmp4(SoupServerMessage* msg, const api::ServerIdentity& id, const std::string& stream,
              std::vector<Recording> items) {
  if (layout_scans_running >= kMaxLayoutScansAtOnce)
    return reply_error(msg, id, Error{"too many playlists being read; try again", ErrorReason::unavailable, "api"});
  std::vector<std::pair<std::string, std::string>> files;  // (relative, absolute)
  for (const Recording& r : items)
    if (!r.open && r.format == "mp4" && r.duration_ms() > 0)
      files.emplace_back(r.path, DvrCatalog::instance().absolute(r.path));
  g_object_ref(msg);
  soup_server_message_pause(msg);
  ++layout_scans_running;
  const gint64 began_us = g_get_monotonic_time();
  auto work = new std::function<void()>(
      [msg, id, stream, items = std::move(items), files = std::move(files), began_us]() mutable {
        auto layouts = std::make_shared<std::map<std::string, Mp4Layout>>();
        auto why_not = std::make_shared<std::map<std::string, std::string>>();
        size_t fragments = 0;
        for (const auto& [rel, abs] : files) {
          auto l = read_mp4_layout(abs);
          if (l) {
            fragments += l.value().fragments;
            (*layouts)[rel] = l.value();
          } else {
            (*why_not)[rel] = l.error().message;
          }
        }
        post_to_control([msg, id, stream, items = std::move(items), layouts, why_not, began_us, fragments,
                         nfiles = files.size()]() {
          --layout_scans_running;
          VodPlaylist pl = vod_playlist_fmp4(items, *layouts, "files/", *why_not);
          const gint64 ms = (g_get_monotonic_time() - began_us) / 1000;
          log_info(stream, "", "dvr-vod",
                   "fMP4 playlist: " + std::to_string(nfiles) + " MP4 files, " + std::to_string(fragments) +
                       " fragments read in " + std::to_string(ms) + " ms, " + std::to_string(pl.segments) +
                       " segments, " + std::to_string(pl.skipped) + " left out");
          if (pl.segments == 0)
            reply_error(msg, id,
                        Error{"no playable closed MP4 recording of " + stream + " in that range" +
                                  (why_not->empty() ? "" : ": " + why_not->begin()->second),
                              ErrorReason::not_found, "api"});
          else
            reply_text(msg, 200, "application/vnd.apple.mpegurl", pl.text);
          soup_server_message_unpause(msg);
          g_object_unref(msg);
        });
      });
  GThread* t = g_thread_new(
      "vod-layout",
      [](gpointer data) -> gpointer {
        std::unique_ptr<std::function<void()>> fn(static_cast<std::function<void()>*>(data));
        (*fn)();
        return nullptr;
      },
      work);
  g_thread_unref(t);
}

void vod(SoupServerMessage* msg, const api::ServerIdentity& id, const Query& q) {
  auto parsed = parse_query(q, true, false);
  if (!parsed) return reply_error(msg, id, parsed.error());
  RecordingQuery rq = parsed.value();
  rq.start = 0;
  rq.count = kMaxPlaylistFiles;
  RecordingPage page = DvrCatalog::instance().index().query(rq);
  if (vod_container(page.items) == "mp4") return vod_fmp4(msg, id, rq.stream, std::move(page.items));
  VodPlaylist pl = vod_playlist(page.items, "files/", "segments/");
  if (pl.segments == 0)
    return reply_error(msg, id,
                       Error{"no closed FLV or MPEG-TS recording of " + rq.stream + " in that range" +
                                 (pl.skipped ? " (" + std::to_string(pl.skipped) + " MP4 files are not played)" : ""),
                             ErrorReason::not_found, "api"});
  reply_text(msg, 200, "application/vnd.apple.mpegurl", pl.text);
}

const char* media_type(const std::string& format) {
  return format == "ts" ? "video/mp2t" : format == "mp4" ? "video/mp4" : "video/x-flv";
}

// Serves a file from a mapping: the control thread reads nothing itself, the kernel pages it in as
// libsoup writes. The path was resolved by the catalog (indexed, under the root). With ranges, a
// request's single byte range is answered 206 (416 past the end); a malformed or multi-range Range
// is ignored (200 with the whole file), and libsoup's own Range handling is kept out of it.
Status serve_file(SoupServerMessage* msg, const std::string& path, const std::string& type, bool head,
                  const std::string& download_name = "", bool ranges = false) {
  GError* err = nullptr;
  GMappedFile* mapped = g_mapped_file_new(path.c_str(), FALSE, &err);
  if (!mapped) {
    Error e{"cannot read the recording: " + std::string(err ? err->message : "?"), ErrorReason::not_found, "api"};
    g_clear_error(&err);
    return e;
  }
  GBytes* bytes = g_mapped_file_get_bytes(mapped);
  g_mapped_file_unref(mapped);
  api::set_cors_headers(msg, false, kMethods);
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  soup_message_headers_replace(h, "Content-Type", type.c_str());
  if (!download_name.empty())
    soup_message_headers_replace(h, "Content-Disposition", ("attachment; filename=\"" + download_name + "\"").c_str());
  const uint64_t size = g_bytes_get_size(bytes);
  ByteRange range;
  if (ranges) {
    SoupMessageHeaders* req = soup_server_message_get_request_headers(msg);
    const char* asked = soup_message_headers_get_one(req, "Range");
    range = parse_byte_range(asked ? asked : "", size);
    soup_message_headers_remove(req, "Range");  // answered here, never again by libsoup
    soup_message_headers_replace(h, "Accept-Ranges", "bytes");
  }
  int status = 200;
  if (range.verdict == RangeVerdict::unsatisfiable) {
    g_bytes_unref(bytes);
    soup_message_headers_replace(h, "Content-Range", ("bytes */" + std::to_string(size)).c_str());
    const std::string body =
        "{\"code\":416,\"message\":\"the range starts past the end of the " + std::to_string(size) + " bytes\"}";
    soup_server_message_set_status(msg, 416, nullptr);
    soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, body.data(), body.size());
    return ok_status();
  }
  if (range.verdict == RangeVerdict::partial) {
    GBytes* part = g_bytes_new_from_bytes(bytes, gsize(range.first), gsize(range.length()));
    g_bytes_unref(bytes);
    bytes = part;
    status = 206;
    soup_message_headers_replace(
        h, "Content-Range",
        ("bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" + std::to_string(size))
            .c_str());
  }
  if (head) {
    soup_message_headers_set_content_length(h, goffset(g_bytes_get_size(bytes)));
  } else {
    soup_message_body_append_bytes(soup_server_message_get_response_body(msg), bytes);
  }
  g_bytes_unref(bytes);
  soup_server_message_set_status(msg, guint(status), nullptr);
  return ok_status();
}

void file(SoupServerMessage* msg, const api::ServerIdentity& id, const std::string& method, const std::string& rel) {
  DvrCatalog& c = DvrCatalog::instance();
  if (!safe_relative_path(rel))
    return reply_error(msg, id, Error{"invalid recording path", ErrorReason::invalid, "api"});
  if (method == "DELETE") {
    Status st = c.remove(rel);
    if (!st) return reply_error(msg, id, st.error());
    return reply_text(msg, 200, "application/json", "{\"code\":0}");
  }
  const Recording* r = c.index().find(rel);
  if (!r) return reply_error(msg, id, Error{"no recording " + rel, ErrorReason::not_found, "api"});
  Status st = serve_file(msg, c.absolute(rel), media_type(r->format), method == "HEAD", "", true);
  if (!st) reply_error(msg, id, st.error());
}

// GET segments/<path>.ts: the MPEG-TS remux of one closed FLV recording, made on a worker thread
// (pipelines/flv_ts_remux.h) while the message waits. Its timestamps are the recording's wall clock
// (time of day, so they stay under MPEG-TS's 26.5 h wrap), continuous from file to file.
void segment(SoupServerMessage* msg, const api::ServerIdentity& id, const std::string& name) {
  const std::string suffix = ".ts";
  if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return reply_error(msg, id, Error{"a segment is <recording path>.ts", ErrorReason::not_found, "api"});
  const std::string rel = name.substr(0, name.size() - suffix.size());
  if (!safe_relative_path(rel))
    return reply_error(msg, id, Error{"invalid recording path", ErrorReason::invalid, "api"});
  DvrCatalog& c = DvrCatalog::instance();
  const Recording* found = c.index().find(rel);
  if (!found) return reply_error(msg, id, Error{"no recording " + rel, ErrorReason::not_found, "api"});
  const Recording r = *found;
  if (r.format == "ts") return file(msg, id, "GET", rel);
  if (r.format != "flv")
    return reply_error(msg, id, Error{r.format + " recordings are not played as HLS", ErrorReason::unsupported, "api"});
  if (r.open) return reply_error(msg, id, Error{rel + " is being written", ErrorReason::conflict, "api"});
  if (r.size > kMaxRemuxFileBytes)
    return reply_error(msg, id,
                       Error{rel + " is over " + std::to_string(kMaxRemuxFileBytes >> 20) +
                                 " MiB: record with [dvr] plan = segment to play it as HLS",
                             ErrorReason::too_large, "api"});
  if (remuxes_running >= kMaxRemuxesAtOnce || remux_bytes_in_flight + r.size > kMaxRemuxBytesInFlight)
    return reply_error(msg, id, Error{"too many segments being remuxed; try again", ErrorReason::unavailable, "api"});
  // mpegtsmux (1.22) starts its clock an hour in (TS_MUX_CLOCK_BASE, room for negative DTS): the
  // base is an hour earlier, so the PTS read back is the time of day (plus a day before 01:00 UTC).
  const int64_t base_ms = ((r.start_ms - kMuxClockBaseMs) % kDayMs + kDayMs) % kDayMs;
  const GstClockTime base_ns = GstClockTime(base_ms) * GST_MSECOND;
  auto made = pipelines::FlvTsRemux::create(c.absolute(rel), base_ns, size_t(r.size * 2 + (1u << 20)));
  if (!made) return reply_error(msg, id, made.error());
  std::shared_ptr<pipelines::FlvTsRemux> job(std::move(made.value()));
  auto holder = std::make_shared<std::shared_ptr<pipelines::FlvTsRemux>>(job);
  g_object_ref(msg);
  soup_server_message_pause(msg);
  ++remuxes_running;
  remux_bytes_in_flight += r.size;
  const gint64 began_us = g_get_monotonic_time();
  const uint64_t size = r.size;
  Status st = job->start([msg, id, rel, size, began_us, stream = r.stream, holder](Result<Ref<GBytes>> result) {
    --remuxes_running;
    remux_bytes_in_flight -= size;
    if (result) {
      const gsize bytes = g_bytes_get_size(result.value().get());
      api::set_cors_headers(msg, false, kMethods);
      soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Cache-Control", "max-age=3600");
      soup_server_message_set_status(msg, 200, nullptr);
      soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Content-Type", "video/mp2t");
      soup_message_body_append_bytes(soup_server_message_get_response_body(msg), result.value().get());
      log_info(stream, "", "dvr-vod",
               "remuxed " + rel + " to MPEG-TS: " + std::to_string(bytes) + " bytes in " +
                   std::to_string((g_get_monotonic_time() - began_us) / 1000) + " ms");
    } else {
      log_warn(stream, "", "dvr-vod", "remux of " + rel + " failed: " + result.error().message);
      reply_error(msg, id, result.error());
    }
    soup_server_message_unpause(msg);
    g_object_unref(msg);
    post_to_control([holder]() { holder->reset(); });  // not from inside its own bus handler
  });
  if (!st) {
    --remuxes_running;
    remux_bytes_in_flight -= size;
    reply_error(msg, id, st.error());
    soup_server_message_unpause(msg);
    g_object_unref(msg);
    holder->reset();  // the remux holds its own callback: break the cycle here
  }
}

// The files of the clip and where [from, to] falls on their joined timeline (splitmuxsrc plays
// them end to end, so a gap between files takes no time).
struct ClipPlan {
  std::string format;  // of every file
  std::vector<std::string> files;
  std::vector<GstClockTime> offsets_ns;  // where each file starts on the joined timeline
  GstClockTime start_ns = 0, stop_ns = 0;
};

Result<ClipPlan> plan_clip(const RecordingQuery& q) {
  if (q.to_ms - q.from_ms > kMaxClipMs)
    return Error{"a clip is at most " + std::to_string(kMaxClipMs / 1000) + " s", ErrorReason::invalid, "api"};
  RecordingQuery rq = q;
  rq.start = 0;
  rq.count = kMaxClipFiles + 1;
  RecordingPage page = DvrCatalog::instance().index().query(rq);
  std::vector<Recording> use;
  for (const auto& r : page.items) {
    if (r.open || r.duration_ms() <= 0 || (r.format != "ts" && r.format != "mp4" && r.format != "flv")) continue;
    if (!use.empty() && r.format != use.front().format) continue;
    use.push_back(r);
  }
  if (use.empty()) return Error{"no closed recording of " + q.stream + " in that range", ErrorReason::not_found, "api"};
  if (use.size() > kMaxClipFiles) return Error{"the range spans too many files", ErrorReason::invalid, "api"};
  ClipPlan plan;
  plan.format = use.front().format;
  int64_t offset = 0;
  bool started = false;
  for (const auto& r : use) {
    const int64_t d = r.duration_ms();
    if (!started) {
      plan.start_ns = GstClockTime(offset + std::clamp<int64_t>(q.from_ms - r.start_ms, 0, d)) * GST_MSECOND;
      started = true;
    }
    plan.stop_ns = GstClockTime(offset + std::clamp<int64_t>(q.to_ms - r.start_ms, 0, d)) * GST_MSECOND;
    plan.files.push_back(DvrCatalog::instance().absolute(r.path));
    plan.offsets_ns.push_back(GstClockTime(offset) * GST_MSECOND);
    offset += d;
  }
  if (plan.stop_ns <= plan.start_ns) return Error{"nothing was recorded in that range", ErrorReason::not_found, "api"};
  return plan;
}

// FLV is read by our own tag reader (splitmuxsrc cannot read it); MPEG-TS and MP4 by splitmuxsrc.
Result<std::unique_ptr<pipelines::RecordingClip>> make_clip(const ClipPlan& plan, const std::string& out) {
  if (plan.format == "flv") {
    std::vector<pipelines::FlvClip::Part> parts;
    for (size_t i = 0; i < plan.files.size(); ++i) parts.push_back({plan.files[i], plan.offsets_ns[i]});
    auto made = pipelines::FlvClip::create(std::move(parts), plan.start_ns, plan.stop_ns, out);
    if (!made) return made.error();
    return std::unique_ptr<pipelines::RecordingClip>(std::move(made.value()));
  }
  auto made = pipelines::DvrClip::create(plan.files, plan.start_ns, plan.stop_ns, out);
  if (!made) return made.error();
  return std::unique_ptr<pipelines::RecordingClip>(std::move(made.value()));
}

void clip(SoupServerMessage* msg, const api::ServerIdentity& id, const Query& q) {
  auto parsed = parse_query(q, true, true);
  if (!parsed) return reply_error(msg, id, parsed.error());
  auto plan = plan_clip(parsed.value());
  if (!plan) return reply_error(msg, id, plan.error());
  if (clips_running >= kMaxClipsAtOnce)
    return reply_error(msg, id, Error{"too many clips being cut; try again", ErrorReason::unavailable, "api"});
  gchar* tmp = nullptr;
  const int fd = g_file_open_tmp("estuary-clip-XXXXXX.mp4", &tmp, nullptr);
  if (fd < 0) return reply_error(msg, id, Error{"no temporary file for the clip", ErrorReason::internal, "api"});
  close(fd);
  const std::string out = tmp;
  g_free(tmp);
  auto built = make_clip(plan.value(), out);
  if (!built) {
    g_unlink(out.c_str());
    return reply_error(msg, id, built.error());
  }
  std::string name = parsed.value().stream;
  std::replace(name.begin(), name.end(), '/', '-');
  name += "-" + std::to_string(parsed.value().from_ms) + ".mp4";
  // The clip owns itself until done; the message is held and paused until then.
  std::shared_ptr<pipelines::RecordingClip> job(std::move(built.value()));
  g_object_ref(msg);
  soup_server_message_pause(msg);
  ++clips_running;
  const std::string stream = parsed.value().stream;
  auto holder = std::make_shared<std::shared_ptr<pipelines::RecordingClip>>(job);
  Status st = job->start([msg, id, out, name, stream, holder](Status result) {
    --clips_running;
    if (result) {
      Status served = serve_file(msg, out, "video/mp4", false, name);
      if (!served) reply_error(msg, id, served.error());
      log_info(stream, "", "dvr-clip", "served " + name);
    } else {
      log_warn(stream, "", "dvr-clip", result.error().message);
      reply_error(msg, id, result.error());
    }
    g_unlink(out.c_str());  // the mapping keeps the bytes until the response is written
    soup_server_message_unpause(msg);
    g_object_unref(msg);
    // Destroyed after this callback returns: not from inside its own bus handler.
    post_to_control([holder]() { holder->reset(); });
  });
  if (!st) {
    --clips_running;
    g_unlink(out.c_str());
    reply_error(msg, id, st.error());
    soup_server_message_unpause(msg);
    g_object_unref(msg);
    holder->reset();  // the clip holds its own callback: break the cycle here
  }
}

}  // namespace

void register_recordings_api(api::ApiServer& api) {
  const api::ServerIdentity id = api.identity();
  api.add_handler(kPrefix, [id](SoupServerMessage* msg, const char* path_c, GHashTable* query) {
    const std::string method = soup_server_message_get_method(msg);
    if (method == "OPTIONS") {
      api::set_cors_headers(msg, true, kMethods);
      soup_server_message_set_status(msg, 204, nullptr);
      return;
    }
    const std::string path = path_c ? path_c : "";
    const std::string rest = path.size() > std::string(kPrefix).size() ? path.substr(std::string(kPrefix).size()) : "";
    const Query q = query_of(query);
    const bool read = method == "GET" || method == "HEAD";
    const std::string files = "/files/";
    if (rest.rfind(files, 0) == 0 && (read || method == "DELETE"))
      return file(msg, id, method, rest.substr(files.size()));
    if (!read) {
      soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow", kMethods);
      return reply_text(msg, 405, "application/json", "{\"code\":405,\"message\":\"method not allowed\"}");
    }
    if (rest.empty() || rest == "/") return list(msg, id, q);
    if (rest == "/vod.m3u8") return vod(msg, id, q);
    const std::string segments = "/segments/";
    if (rest.rfind(segments, 0) == 0) return segment(msg, id, rest.substr(segments.size()));
    if (rest == "/clip" || rest == "/clip.mp4") return clip(msg, id, q);
    reply_error(msg, id, Error{"no API at " + api::printable(path), ErrorReason::not_found, "api"});
  });
}

}  // namespace estuary::server
