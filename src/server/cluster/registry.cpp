// Owns: Registry (see registry.h).
#include "server/cluster/registry.h"

#include <glib.h>
#include <json-glib/json-glib.h>

#include <map>

#include "common/log.h"
#include "common/timer.h"
#include "server/control/api_model.h"

namespace estuary::server::cluster {
namespace {

constexpr int kCheckMs = 200;  // how often the live stream list is compared (new streams register at once)

void member(JsonBuilder* b, const char* name, const std::string& v) {
  json_builder_set_member_name(b, name);
  json_builder_add_string_value(b, v.c_str());
}
void member(JsonBuilder* b, const char* name, int64_t v) {
  json_builder_set_member_name(b, name);
  json_builder_add_int_value(b, v);
}

// Parses a JSON object and hands it to fill; invalid when it is not one.
template <typename T>
Result<T> parse_object(const std::string& text, const std::function<void(JsonObject*, T&)>& fill) {
  Ref<JsonParser> parser = Ref<JsonParser>::adopt(json_parser_new());
  if (!json_parser_load_from_data(parser.get(), text.data(), gssize(text.size()), nullptr))
    return Error{"registry entry is not JSON", ErrorReason::invalid, "cluster"};
  JsonNode* root = json_parser_get_root(parser.get());
  if (!root || !JSON_NODE_HOLDS_OBJECT(root))
    return Error{"registry entry is not an object", ErrorReason::invalid, "cluster"};
  T out;
  fill(json_node_get_object(root), out);
  return out;
}

std::string str(JsonObject* o, const char* name) { return json_object_get_string_member_with_default(o, name, ""); }

}  // namespace

std::string json_text(JsonBuilder* b) {
  Ref<JsonGenerator> gen = Ref<JsonGenerator>::adopt(json_generator_new());
  JsonNode* root = json_builder_get_root(b);
  json_generator_set_root(gen.get(), root);
  gchar* text = json_generator_to_data(gen.get(), nullptr);
  std::string out = text;
  g_free(text);
  json_node_unref(root);
  return out;
}

std::string stream_key(const std::string& app_stream) { return "estuary:stream:" + app_stream; }
std::string node_key(const std::string& node_id) { return "estuary:node:" + node_id; }

std::string owner_json(const StreamOwner& owner, int64_t since_ms) {
  Ref<JsonBuilder> b = Ref<JsonBuilder>::adopt(json_builder_new());
  json_builder_begin_object(b.get());
  member(b.get(), "node_id", owner.node_id);
  member(b.get(), "pull", owner.pull);
  if (!owner.srt.empty()) member(b.get(), "srt", owner.srt);
  member(b.get(), "api", owner.api);
  member(b.get(), "since_ms", since_ms);
  json_builder_end_object(b.get());
  return json_text(b.get());
}

Result<StreamOwner> parse_owner(const std::string& json) {
  auto r = parse_object<StreamOwner>(json, [](JsonObject* o, StreamOwner& s) {
    s.node_id = str(o, "node_id");
    s.pull = str(o, "pull");
    s.srt = str(o, "srt");
    s.api = str(o, "api");
  });
  if (r && (r->node_id.empty() || r->pull.empty()))
    return Error{"registry entry lacks node_id or pull", ErrorReason::invalid, "cluster"};
  return r;
}

std::string node_json(const NodeInfo& n) {
  Ref<JsonBuilder> b = Ref<JsonBuilder>::adopt(json_builder_new());
  json_builder_begin_object(b.get());
  member(b.get(), "node_id", n.node_id);
  member(b.get(), "mode", n.mode);
  member(b.get(), "rtmp", n.rtmp);
  if (!n.srt.empty()) member(b.get(), "srt", n.srt);
  member(b.get(), "api", n.api);
  member(b.get(), "streams", int64_t(n.streams));
  member(b.get(), "viewers", int64_t(n.viewers));
  member(b.get(), "send_kbps", n.send_kbps);
  member(b.get(), "recv_kbps", n.recv_kbps);
  json_builder_set_member_name(b.get(), "cpu_percent");
  json_builder_add_double_value(b.get(), n.cpu_percent);
  member(b.get(), "updated_ms", n.updated_ms);
  json_builder_end_object(b.get());
  return json_text(b.get());
}

Result<NodeInfo> parse_node(const std::string& json) {
  return parse_object<NodeInfo>(json, [](JsonObject* o, NodeInfo& n) {
    n.node_id = str(o, "node_id");
    n.mode = str(o, "mode");
    n.rtmp = str(o, "rtmp");
    n.srt = str(o, "srt");
    n.api = str(o, "api");
    n.streams = int(json_object_get_int_member_with_default(o, "streams", 0));
    n.viewers = int(json_object_get_int_member_with_default(o, "viewers", 0));
    n.send_kbps = json_object_get_int_member_with_default(o, "send_kbps", 0);
    n.recv_kbps = json_object_get_int_member_with_default(o, "recv_kbps", 0);
    n.cpu_percent = json_object_get_double_member_with_default(o, "cpu_percent", 0);
    n.updated_ms = json_object_get_int_member_with_default(o, "updated_ms", 0);
  });
}

Registry::Registry(RedisAddress address, NodeIdentity self, const config::ClusterSection& settings,
                   api::Backend& backend)
    : redis_(std::move(address)), self_(std::move(self)), settings_(settings), backend_(backend) {}

Registry::~Registry() {
  check_timer_.reset();
  *alive_ = false;
}

void Registry::start() {
  redis_.start();
  check_timer_ = start_repeating_timer(kCheckMs, [this]() {
    const int64_t now = g_get_monotonic_time();
    const bool heartbeat = now - last_heartbeat_us_ >= int64_t(settings_.heartbeat_ms) * 1000;
    if (heartbeat) last_heartbeat_us_ = now;
    tick(heartbeat);
    return true;
  });
}

void Registry::count(const Result<RedisReply>& r) {
  if (!r) ++command_errors_;
}

void Registry::tick(bool heartbeat) {
  const bool owns_streams = self_.mode == "origin";
  std::map<std::string, int64_t> live;
  int viewers = 0;
  for (const auto& s : backend_.streams()) {
    viewers += s.clients;
    if (s.publish_active) live[s.app + "/" + s.name] = s.live_ms;
  }
  if (!redis_.connected()) {
    // Re-register everything once the registry is back.
    if (owns_streams) registered_.clear();
    return;
  }
  if (owns_streams) {
    for (auto it = registered_.begin(); it != registered_.end();) {
      if (live.count(it->first)) {
        ++it;
        continue;
      }
      unregister_stream(it->first);
      it = registered_.erase(it);
    }
    for (const auto& [key, since] : live)
      if (heartbeat || !registered_.count(key)) register_stream(key, since);
  }
  if (!heartbeat) return;
  const api::SummaryView sum = backend_.summary();
  NodeInfo n;
  n.node_id = self_.node_id;
  n.mode = self_.mode;
  n.rtmp = self_.rtmp_base;
  n.srt = self_.srt_base;
  n.api = self_.api_base;
  n.streams = int(live.size());
  n.viewers = viewers;
  n.cpu_percent = sum.cpu_percent;
  n.updated_ms = g_get_real_time() / 1000;
  int64_t send_kbps = 0, recv_kbps = 0;
  for (const auto& s : backend_.streams()) {
    send_kbps += s.kbps_send_30s;
    recv_kbps += s.kbps_recv_30s;
  }
  n.send_kbps = send_kbps;
  n.recv_kbps = recv_kbps;
  const std::string ttl = std::to_string(settings_.ttl_ms);
  redis_.command({"SET", node_key(self_.node_id), node_json(n), "PX", ttl}, [this](auto r) { count(r); });
  redis_.command({"SADD", "estuary:nodes", self_.node_id}, [this](auto r) { count(r); });
}

void Registry::register_stream(const std::string& key, int64_t since_ms) {
  const bool is_new = !registered_.count(key);
  registered_[key] = since_ms;
  StreamOwner o{self_.node_id, self_.rtmp_base + "/" + key, self_.api_base, self_.srt_base};
  redis_.command({"SET", stream_key(key), owner_json(o, since_ms), "PX", std::to_string(settings_.ttl_ms)},
                 [this, key, is_new, alive = std::weak_ptr<bool>(alive_)](Result<RedisReply> r) {
                   if (alive.expired()) return;
                   count(r);
                   if (is_new && r) log_info(key, "", "registry-register", "owner " + self_.node_id);
                 });
}

void Registry::unregister_stream(const std::string& key) {
  // Only if it is still ours: the publisher may already be live on another origin.
  static const char* kDelIfOwner =
      "local v = redis.call('GET', KEYS[1]) "
      "if v and string.find(v, ARGV[1], 1, true) then return redis.call('DEL', KEYS[1]) end return 0";
  redis_.command({"EVAL", kDelIfOwner, "1", stream_key(key), "\"node_id\":\"" + self_.node_id + "\""},
                 [this, key, alive = std::weak_ptr<bool>(alive_)](Result<RedisReply> r) {
                   if (alive.expired()) return;
                   count(r);
                   if (r) log_info(key, "", "registry-unregister", "owner " + self_.node_id);
                 });
}

void Registry::lookup(const std::string& app_stream, std::function<void(Result<StreamOwner>)> cb) {
  // The answer or the timeout, whichever comes first.
  auto once = std::make_shared<std::function<void(Result<StreamOwner>)>>(std::move(cb));
  auto timer = std::make_shared<SourceGuard>();
  *timer = start_timer(settings_.lookup_timeout_ms, [once, timer, app_stream]() {
    SourceGuard finishing = std::move(*timer);
    if (auto f = std::move(*once); f)
      f(Error{"registry lookup of " + app_stream + " timed out", ErrorReason::unavailable, "cluster"});
  });
  redis_.command({"GET", stream_key(app_stream)}, [once, timer, app_stream](Result<RedisReply> r) {
    timer->reset();
    auto f = std::move(*once);
    if (!f) return;
    if (!r) return f(r.error());
    if (r->type != RedisReply::Type::string)
      return f(Error{"no origin has " + app_stream, ErrorReason::not_found, "cluster"});
    f(parse_owner(r->str));
  });
}

void Registry::nodes(std::function<void(Result<std::vector<NodeInfo>>)> cb) {
  redis_.command({"SMEMBERS", "estuary:nodes"}, [this, cb, alive = std::weak_ptr<bool>(alive_)](Result<RedisReply> r) {
    if (alive.expired()) return;
    if (!r) return cb(r.error());
    std::vector<std::string> args = {"MGET"};
    for (const auto& e : r->elements) args.push_back(node_key(e.str));
    if (args.size() == 1) return cb(std::vector<NodeInfo>{});
    redis_.command(args, [cb](Result<RedisReply> values) {
      if (!values) return cb(values.error());
      std::vector<NodeInfo> out;
      for (const auto& v : values->elements)
        if (v.type == RedisReply::Type::string)
          if (auto n = parse_node(v.str)) out.push_back(std::move(*n));
      cb(std::move(out));
    });
  });
}

}  // namespace estuary::server::cluster
