// Owns: the API test helpers (see api_test_util.h).
#include "api_test_util.h"

#include <algorithm>

namespace estuary::api::test {

FakeBackend::FakeBackend() {
  StreamView a;
  a.id = "vid-aaa1";
  a.name = "test";
  a.app = "live";  // vhost left empty: rendered as the default vhost id
  a.tc_url = "rtmp://127.0.0.1/live";
  a.url = "/live/test";
  a.live_ms = 1700000000123;
  a.clients = 2;
  a.frames = 1234;
  a.send_bytes = 5000000000ULL;  // beyond 32 bits on purpose
  a.recv_bytes = 2000;
  a.kbps_recv_30s = 1600;
  a.kbps_send_30s = 800;
  a.publish_active = true;
  a.publish_cid = "pub00001";
  a.video = VideoView{"H264", "High", "3.1", 1280, 720};
  a.audio = AudioView{"AAC", 44100, 2, "LC"};
  a.outputs = {"flv", "hls"};
  streams_.push_back(a);

  StreamView b;
  b.id = "vid-bbb2";
  b.name = "cam";
  b.vhost = "vid-custom";
  b.app = "live";
  b.url = "/live/cam";
  b.publish_active = false;
  b.publish_cid = "stale";  // must not be shown while inactive
  streams_.push_back(b);

  ClientView c1;
  c1.id = "pub00001";
  c1.stream = "vid-aaa1";
  c1.ip = "10.0.0.1";
  c1.tc_url = "rtmp://127.0.0.1/live";
  c1.url = "/live/test";
  c1.name = "test";
  c1.type = "fmle-publish";
  c1.publish = true;
  c1.alive_s = 12.5;
  c1.recv_bytes = 2000;
  c1.kbps_recv_30s = 1600;
  clients_.push_back(c1);

  ClientView c2;
  c2.id = "ply00002";
  c2.vhost = "vid-custom";
  c2.stream = "vid-aaa1";
  c2.ip = "10.0.0.2";
  c2.page_url = "http://example.test/player.html";
  c2.url = "/live/test";
  c2.name = "test";
  c2.type = "flv-play";
  c2.alive_s = 3;
  c2.send_bytes = 4000;
  c2.kbps_send_30s = 800;
  clients_.push_back(c2);

  ClientView c3;
  c3.id = "ply00003";
  c3.stream = "vid-aaa1";
  c3.ip = "10.0.0.3";
  c3.name = std::string("caf\xff\xfe\"<x>", 9);  // invalid UTF-8 and JSON specials from the wire
  c3.type = "rtmp-play";
  clients_.push_back(c3);

  summary_.now_ms = 1700000001000;
  summary_.pid = 4242;
  summary_.uptime_s = 61.9;
  summary_.mem_kbyte = 20480;
  summary_.cpu_percent = 12.5;
  summary_.cpus = 8;
  summary_.streams = 2;
  summary_.clients = 3;
  summary_.send_bytes = 9000;
  summary_.recv_bytes = 7000;
}

bool FakeBackend::kick_client(const std::string& id) {
  kicked.push_back(id);
  return std::any_of(clients_.begin(), clients_.end(), [&](const ClientView& c) { return c.id == id; });
}

namespace {

HttpResponse parse_response(const std::string& raw) {
  HttpResponse r;
  auto head_end = raw.find("\r\n\r\n");
  if (raw.compare(0, 5, "HTTP/") != 0 || head_end == std::string::npos) return r;
  auto sp = raw.find(' ');
  r.status = std::atoi(raw.c_str() + sp + 1);
  r.received = true;
  size_t pos = raw.find("\r\n") + 2;
  while (pos < head_end) {
    size_t eol = raw.find("\r\n", pos);
    std::string line = raw.substr(pos, eol - pos);
    pos = eol + 2;
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return g_ascii_tolower(c); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    r.headers[name] = value;
  }
  r.body = raw.substr(head_end + 4);
  return r;
}

std::string exchange_blocking(int port, const std::string& raw) {
  GSocketClient* client = g_socket_client_new();
  g_socket_client_set_timeout(client, 10);
  GSocketConnection* conn =
      g_socket_client_connect_to_host(client, "127.0.0.1", static_cast<guint16>(port), nullptr, nullptr);
  std::string out;
  if (conn) {
    GOutputStream* os = g_io_stream_get_output_stream(G_IO_STREAM(conn));
    // The server may answer and close before reading everything (huge requests): ignore write errors.
    g_output_stream_write_all(os, raw.data(), raw.size(), nullptr, nullptr, nullptr);
    GInputStream* is = g_io_stream_get_input_stream(G_IO_STREAM(conn));
    char buf[16384];
    for (;;) {
      gssize n = g_input_stream_read(is, buf, sizeof buf, nullptr, nullptr);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    g_io_stream_close(G_IO_STREAM(conn), nullptr, nullptr);
    g_object_unref(conn);
  }
  g_object_unref(client);
  return out;
}

}  // namespace

HttpResponse http_exchange(GMainContext* ctx, int port, const std::string& raw) {
  std::atomic<bool> done{false};
  std::string reply;
  std::thread worker([&] {
    reply = exchange_blocking(port, raw);
    done.store(true);
    g_main_context_wakeup(ctx);
  });
  while (!done.load()) g_main_context_iteration(ctx, TRUE);
  worker.join();
  // Let the server finish closing the connection before the next test step.
  while (g_main_context_iteration(ctx, FALSE)) {
  }
  return parse_response(reply);
}

void drain(GMainContext* ctx, int ms) {
  gint64 deadline = g_get_monotonic_time() + static_cast<gint64>(ms) * 1000;
  while (g_get_monotonic_time() < deadline) {
    if (!g_main_context_iteration(ctx, FALSE)) g_usleep(1000);
  }
}

std::string simple_request(const std::string& method, const std::string& target, const std::string& extra_headers) {
  return method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra_headers + "\r\n";
}

Json::Json(const std::string& text) : parser_(json_parser_new()) {
  GError* err = nullptr;
  if (!json_parser_load_from_data(parser_, text.data(), static_cast<gssize>(text.size()), &err)) {
    error = err ? err->message : "parse failed";
    g_clear_error(&err);
  }
}

Json::~Json() { g_object_unref(parser_); }

JsonObject* Json::root() const {
  JsonNode* n = json_parser_get_root(parser_);
  return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : nullptr;
}

bool has(JsonObject* o, const char* key) { return o && json_object_has_member(o, key); }

static JsonNode* member(JsonObject* o, const char* key) {
  return has(o, key) ? json_object_get_member(o, key) : nullptr;
}

std::string str(JsonObject* o, const char* key) {
  JsonNode* n = member(o, key);
  return n && json_node_get_value_type(n) == G_TYPE_STRING ? json_node_get_string(n) : "<not a string>";
}
int64_t num(JsonObject* o, const char* key) {
  JsonNode* n = member(o, key);
  return n && json_node_get_value_type(n) == G_TYPE_INT64 ? json_node_get_int(n) : -999;
}
double dbl(JsonObject* o, const char* key) {
  JsonNode* n = member(o, key);
  if (!n || !JSON_NODE_HOLDS_VALUE(n)) return -999;
  return json_node_get_value_type(n) == G_TYPE_DOUBLE ? json_node_get_double(n) : json_node_get_int(n);
}
bool flag(JsonObject* o, const char* key) {
  JsonNode* n = member(o, key);
  return n && json_node_get_value_type(n) == G_TYPE_BOOLEAN && json_node_get_boolean(n);
}
JsonObject* obj(JsonObject* o, const char* key) {
  JsonNode* n = member(o, key);
  return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : nullptr;
}
JsonArray* arr(JsonObject* o, const char* key) {
  JsonNode* n = member(o, key);
  return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : nullptr;
}
bool is_null(JsonObject* o, const char* key) {
  JsonNode* n = member(o, key);
  return n && JSON_NODE_HOLDS_NULL(n);
}
std::vector<std::string> member_names(JsonObject* o) {
  std::vector<std::string> names;
  if (!o) return names;
  GList* list = json_object_get_members(o);
  for (GList* l = list; l; l = l->next) names.emplace_back(static_cast<const char*>(l->data));
  g_list_free(list);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace estuary::api::test
