// Owns: route matching and the per-endpoint JSON of the SRS-compatible API (see api_router.h).
#include "server/api/api_router.h"

#include <glib.h>
#include <json-glib/json-glib.h>

#include <algorithm>
#include <optional>
#include <string_view>
#include <vector>

#include "common/gobject_ptr.h"
#include "server/api/api_errors.h"
#include "server/api/api_json.h"
#include "server/control/http_routes.h"

namespace estuary::api {
namespace {

enum class RouteId {
  root,
  api,
  v1,
  versions,
  summaries,
  vhosts,
  vhost,
  streams,
  stream,
  stream_history,
  clients,
  client
};

struct Route {
  RouteId id;
  std::string rest;  // the {id} of item routes
};

constexpr const char* kReadMethods = "GET, HEAD, OPTIONS";
constexpr const char* kClientMethods = "GET, HEAD, DELETE, OPTIONS";

// Paths: "/", "/api[/]", "/api/v1[/]", "/api/v1/<name>[/]", "/api/v1/<collection>/<id>" and
// "/api/v1/streams/<id>/history".
std::optional<Route> match_route(std::string_view path) {
  if (path == "/") return Route{RouteId::root, {}};
  if (path == "/api" || path == "/api/") return Route{RouteId::api, {}};
  if (path == "/api/v1" || path == "/api/v1/") return Route{RouteId::v1, {}};
  constexpr std::string_view prefix = "/api/v1/";
  if (!path.starts_with(prefix)) return std::nullopt;
  std::string_view rest = path.substr(prefix.size());
  std::string_view name = rest;
  std::string_view id;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    name = rest.substr(0, slash);
    id = rest.substr(slash + 1);
    constexpr std::string_view history = "/history";
    if (name == "streams" && id.size() > history.size() && id.ends_with(history)) {
      id.remove_suffix(history.size());
      if (id.find('/') != std::string_view::npos) return std::nullopt;
      return Route{RouteId::stream_history, std::string(id)};
    }
    if (id.find('/') != std::string_view::npos) return std::nullopt;
  }
  struct Entry {
    std::string_view name;
    RouteId list;
    std::optional<RouteId> item;
  };
  static const Entry table[] = {
      {"versions", RouteId::versions, std::nullopt},  {"summaries", RouteId::summaries, std::nullopt},
      {"vhosts", RouteId::vhosts, RouteId::vhost},    {"streams", RouteId::streams, RouteId::stream},
      {"clients", RouteId::clients, RouteId::client},
  };
  for (const auto& e : table) {
    if (e.name != name) continue;
    if (id.empty()) return Route{e.list, {}};
    if (!e.item) return std::nullopt;
    return Route{*e.item, std::string(id)};
  }
  return std::nullopt;
}

const char* allowed_methods(RouteId id) { return id == RouteId::client ? kClientMethods : kReadMethods; }

bool method_allowed(RouteId id, const std::string& method) {
  if (method == "GET" || method == "HEAD" || method == "OPTIONS") return true;
  return id == RouteId::client && method == "DELETE";
}

// A JavaScript identifier path such as "jQuery123_456" or "app.cb"; anything else could inject script.
bool valid_callback(const std::string& cb) {
  if (cb.empty() || cb.size() > 128) return false;
  auto head_ok = [](char c) { return g_ascii_isalpha(c) || c == '_' || c == '$'; };
  auto tail_ok = [&](char c) { return head_ok(c) || g_ascii_isdigit(c) || c == '.'; };
  if (!head_ok(cb[0])) return false;
  return std::all_of(cb.begin() + 1, cb.end(), tail_ok);
}

std::optional<size_t> parse_count(const std::string& text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  size_t v = 0;
  for (char c : text) {
    if (!g_ascii_isdigit(c)) return std::nullopt;
    v = v * 10 + static_cast<size_t>(c - '0');
  }
  return v;
}

template <typename T>
std::pair<size_t, size_t> page_bounds(const std::vector<T>& items, const Page& page) {
  size_t begin = std::min(page.start, items.size());
  size_t end = begin + std::min(page.count, items.size() - begin);
  return {begin, end};
}

// Owns a builder positioned inside the top-level object, with the envelope already written.
class Reply {
 public:
  explicit Reply(const ServerIdentity& id) : b_(Ref<JsonBuilder>::adopt(json_builder_new())) {
    json_builder_begin_object(b_.get());
    add_envelope(b_.get(), id, code::success);
  }
  JsonBuilder* b() const { return b_.get(); }
  std::string finish() {
    json_builder_end_object(b_.get());
    JsonNodePtr root(json_builder_get_root(b_.get()));
    return to_json_text(root.get());
  }

 private:
  Ref<JsonBuilder> b_;
};

void add_urls(JsonBuilder* b, std::initializer_list<std::pair<const char*, const char*>> urls) {
  json_builder_set_member_name(b, "urls");
  json_builder_begin_object(b);
  for (const auto& [k, v] : urls) add_string(b, k, v);
  json_builder_end_object(b);
}

}  // namespace

Result<Page> parse_page(const std::map<std::string, std::string>& query, int max_count) {
  Page page;
  if (auto it = query.find("start"); it != query.end()) {
    auto v = parse_count(it->second);
    if (!v) return api_error(code::bad_request, "start must be a non-negative integer");
    page.start = *v;
  }
  if (auto it = query.find("count"); it != query.end()) {
    auto v = parse_count(it->second);
    if (!v) return api_error(code::bad_request, "count must be a non-negative integer");
    page.count = std::min(*v, static_cast<size_t>(std::max(max_count, 0)));
  }
  return page;
}

ApiRouter::ApiRouter(Backend& backend, ServerIdentity identity, ApiOptions options)
    : backend_(backend), identity_(std::move(identity)), options_(options) {}

void ApiRouter::sample_history(int64_t now_ms) { history_.sample(now_ms, backend_.streams()); }

// Columns, not rows: a chart takes each array as it is. ?seconds=N keeps the last N samples.
Status ApiRouter::add_history(JsonBuilder* b, const std::string& id,
                              const std::map<std::string, std::string>& query) const {
  const std::deque<HistorySample>* samples = history_.find(id);
  if (!samples) return api_error(code::stream_not_found, "stream not found: " + printable(id));
  size_t keep = samples->size();
  if (auto it = query.find("seconds"); it != query.end()) {
    auto n = parse_count(it->second);
    if (!n || *n == 0) return api_error(code::bad_request, "seconds must be a positive integer");
    keep = std::min(keep, *n);
  }
  add_string(b, "stream", id);
  add_int(b, "interval_ms", 1000);
  add_int(b, "capacity", static_cast<int64_t>(history_.capacity()));
  json_builder_set_member_name(b, "history");
  json_builder_begin_object(b);
  auto column = [&](const char* name, auto get) {
    json_builder_set_member_name(b, name);
    json_builder_begin_array(b);
    for (size_t i = samples->size() - keep; i < samples->size(); ++i) get((*samples)[i]);
    json_builder_end_array(b);
  };
  column("t", [&](const HistorySample& h) { json_builder_add_int_value(b, h.t_ms); });
  column("kbps_in", [&](const HistorySample& h) { json_builder_add_int_value(b, h.kbps_in); });
  column("kbps_out", [&](const HistorySample& h) { json_builder_add_int_value(b, h.kbps_out); });
  column("fps", [&](const HistorySample& h) { json_builder_add_double_value(b, h.fps); });
  column("viewers", [&](const HistorySample& h) { json_builder_add_int_value(b, h.viewers); });
  json_builder_end_object(b);
  return ok_status();
}

ApiReply ApiRouter::error_reply(int api_code, const std::string& message) const {
  if (api_code == code::success) api_code = code::internal;  // an Error without a category
  Ref<JsonBuilder> b = Ref<JsonBuilder>::adopt(json_builder_new());
  json_builder_begin_object(b.get());
  add_envelope(b.get(), identity_, api_code);
  add_string(b.get(), "message", message);
  json_builder_end_object(b.get());
  JsonNodePtr root(json_builder_get_root(b.get()));
  ApiReply reply;
  reply.code = api_code;
  reply.http_status = http_status_for_code(api_code, options_.srs_error_status);
  reply.body = to_json_text(root.get());
  return reply;
}

ApiReply ApiRouter::handle(const ApiRequest& request) {
  std::string method = request.method;
  std::string callback;
  if (auto it = request.query.find("callback"); it != request.query.end()) {
    if (!valid_callback(it->second)) return error_reply(code::bad_request, "invalid JSONP callback name");
    callback = it->second;
    // SRS: JSONP cannot send DELETE, so ?method= overrides the HTTP method.
    if (auto m = request.query.find("method"); m != request.query.end()) {
      method = m->second;
      std::transform(method.begin(), method.end(), method.begin(), [](char c) { return g_ascii_toupper(c); });
    }
  }

  ApiReply reply;
  auto route = match_route(request.path);
  if (!route) {
    reply = error_reply(code::not_found, "no API at " + printable(request.path));
  } else if (!method_allowed(route->id, method)) {
    reply = error_reply(code::method_not_allowed, "method " + printable(method, 16) + " not allowed");
  } else if (method == "OPTIONS") {
    reply.body = Reply(identity_).finish();
  } else {
    Reply r(identity_);
    JsonBuilder* b = r.b();
    const std::string& id = route->rest;
    Status status = ok_status();
    switch (route->id) {
      case RouteId::root:
        add_urls(b, {{"api", "the api root"}});
        break;
      case RouteId::api:
        add_urls(b, {{"v1", "the api version 1.0"}});
        break;
      case RouteId::v1:
        add_urls(b, {{"versions", "the version of Estuary"},
                     {"summaries", "the summary(pid, argv, pwd, cpu, mem) of Estuary"},
                     {"vhosts", "all vhosts or the specified vhost"},
                     {"streams",
                      "all streams or the specified stream, ?start=&count=; /{id}/history: the last "
                      "minutes at 1 s, ?seconds="},
                     {"clients", "all clients or the specified client, ?start=&count=; DELETE kicks"}});
        break;
      case RouteId::versions:
        json_builder_set_member_name(b, "data");
        json_builder_begin_object(b);
        add_int(b, "major", identity_.major);
        add_int(b, "minor", identity_.minor);
        add_int(b, "revision", identity_.revision);
        add_string(b, "version", identity_.version);
        json_builder_end_object(b);
        break;
      case RouteId::summaries: {
        SummaryView sum = backend_.summary();
        ProcessInfo proc = read_process_info();
        HostInfo host = read_host_info(host_cpu_);
        json_builder_set_member_name(b, "data");
        json_builder_begin_object(b);
        add_bool(b, "ok", host.ok);
        add_int(b, "now_ms", sum.now_ms ? sum.now_ms : g_get_real_time() / 1000);
        json_builder_set_member_name(b, "self");
        json_builder_begin_object(b);
        add_string(b, "version", identity_.version);
        add_int(b, "pid", sum.pid ? sum.pid : identity_.pid);
        add_int(b, "ppid", proc.ppid);
        add_string(b, "argv", proc.argv);
        add_string(b, "cwd", proc.cwd);
        add_int(b, "mem_kbyte", static_cast<int64_t>(sum.mem_kbyte));
        // SRS's *_percent members are ratios (0.05 = 5%); the model's cpu_percent is a percentage.
        add_double(b, "mem_percent",
                   host.mem_ram_kbyte ? static_cast<double>(sum.mem_kbyte) / host.mem_ram_kbyte : 0.0);
        add_double(b, "cpu_percent", sum.cpu_percent / 100.0);
        add_int(b, "srs_uptime", static_cast<int64_t>(sum.uptime_s));
        json_builder_end_object(b);
        json_builder_set_member_name(b, "system");
        json_builder_begin_object(b);
        add_double(b, "cpu_percent", host.cpu_percent);
        add_int(b, "mem_ram_kbyte", static_cast<int64_t>(host.mem_ram_kbyte));
        add_double(b, "mem_ram_percent", host.mem_ram_percent);
        add_int(b, "mem_swap_kbyte", static_cast<int64_t>(host.mem_swap_kbyte));
        add_double(b, "mem_swap_percent", host.mem_swap_percent);
        add_int(b, "cpus", sum.cpus > 0 ? sum.cpus : host.cpus);
        add_int(b, "cpus_online", host.cpus_online);
        add_double(b, "uptime", host.uptime_s);
        add_double(b, "ilde_time", host.idle_s);  // sic: SRS's spelling
        add_double(b, "load_1m", host.load_1m);
        add_double(b, "load_5m", host.load_5m);
        add_double(b, "load_15m", host.load_15m);
        add_int(b, "srs_send_bytes", static_cast<int64_t>(sum.send_bytes));
        add_int(b, "srs_recv_bytes", static_cast<int64_t>(sum.recv_bytes));
        add_int(b, "conn_srs", sum.clients);
        add_int(b, "streams", sum.streams);  // Estuary extension
        json_builder_end_object(b);
        json_builder_end_object(b);
        break;
      }
      case RouteId::vhosts:
      case RouteId::vhost: {
        if (route->id == RouteId::vhost && id != identity_.vhost_id && id != kDefaultVhostName) {
          status = api_error(code::vhost_not_found, "vhost not found: " + printable(id));
          break;
        }
        auto streams = backend_.streams();
        auto clients = backend_.clients();
        auto summary = backend_.summary();
        if (route->id == RouteId::vhosts) {
          json_builder_set_member_name(b, "vhosts");
          json_builder_begin_array(b);
        } else {
          json_builder_set_member_name(b, "vhost");
        }
        json_builder_begin_object(b);
        add_vhost_members(b, identity_, streams, clients, summary);
        json_builder_end_object(b);
        if (route->id == RouteId::vhosts) json_builder_end_array(b);
        break;
      }
      case RouteId::streams: {
        auto page = parse_page(request.query, options_.max_page_count);
        if (!page) {
          status = page.error();
          break;
        }
        auto streams = backend_.streams();
        auto [begin, end] = page_bounds(streams, page.value());
        json_builder_set_member_name(b, "streams");
        json_builder_begin_array(b);
        for (size_t i = begin; i < end; ++i) {
          json_builder_begin_object(b);
          add_stream_members(b, streams[i], identity_.vhost_id);
          json_builder_end_object(b);
        }
        json_builder_end_array(b);
        add_int(b, "total", static_cast<int64_t>(streams.size()));  // Estuary extension
        break;
      }
      case RouteId::stream: {
        auto streams = backend_.streams();
        auto it = std::find_if(streams.begin(), streams.end(), [&](const StreamView& s) { return s.id == id; });
        if (it == streams.end()) {
          status = api_error(code::stream_not_found, "stream not found: " + printable(id));
          break;
        }
        json_builder_set_member_name(b, "stream");
        json_builder_begin_object(b);
        add_stream_members(b, *it, identity_.vhost_id);
        json_builder_end_object(b);
        break;
      }
      case RouteId::stream_history:
        status = add_history(b, id, request.query);
        break;
      case RouteId::clients: {
        auto page = parse_page(request.query, options_.max_page_count);
        if (!page) {
          status = page.error();
          break;
        }
        auto clients = backend_.clients();
        auto [begin, end] = page_bounds(clients, page.value());
        json_builder_set_member_name(b, "clients");
        json_builder_begin_array(b);
        for (size_t i = begin; i < end; ++i) {
          json_builder_begin_object(b);
          add_client_members(b, clients[i], identity_.vhost_id);
          json_builder_end_object(b);
        }
        json_builder_end_array(b);
        add_int(b, "total", static_cast<int64_t>(clients.size()));  // Estuary extension
        break;
      }
      case RouteId::client: {
        if (method == "DELETE") {
          if (!backend_.kick_client(id))
            status = api_error(code::client_not_found, "client not found: " + printable(id));
          break;
        }
        auto clients = backend_.clients();
        auto it = std::find_if(clients.begin(), clients.end(), [&](const ClientView& c) { return c.id == id; });
        if (it == clients.end()) {
          status = api_error(code::client_not_found, "client not found: " + printable(id));
          break;
        }
        json_builder_set_member_name(b, "client");
        json_builder_begin_object(b);
        add_client_members(b, *it, identity_.vhost_id);
        json_builder_end_object(b);
        break;
      }
    }
    if (status.ok()) {
      reply.body = r.finish();
    } else {
      reply = error_reply(status.error().code ? status.error().code : server::http_status_for(status.error()),
                          status.error().message);
    }
  }
  if (route) reply.allow = allowed_methods(route->id);

  if (!callback.empty()) {
    // A script tag never runs a non-200 reply, so JSONP errors travel in `code` only (as in SRS).
    reply.body = callback + "(" + reply.body + ")";
    reply.content_type = "text/javascript";
    reply.http_status = 200;
  }
  return reply;
}

}  // namespace estuary::api
