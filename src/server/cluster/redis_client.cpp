// Owns: RedisClient (see redis_client.h).
#include "server/cluster/redis_client.h"

#include <hiredis/adapters/glib.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>

#include "common/log.h"
#include "common/timer.h"

namespace estuary::server::cluster {
namespace {

struct PendingCommand {
  RedisClient* client;
  RedisCallback cb;
};

RedisReply copy_reply(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::array;
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(copy_reply(r->element[i]));
      break;
    default:
      break;
  }
  return out;
}

Error unavailable(const std::string& why) {
  return Error{"registry unavailable: " + why, ErrorReason::unavailable, "cluster"};
}

}  // namespace

Result<RedisAddress> parse_redis_url(const std::string& url) {
  const std::string scheme = "redis://";
  Error bad{"\"" + url + "\" is not redis://HOST:PORT[/DB]", ErrorReason::invalid, "cluster"};
  if (url.rfind(scheme, 0) != 0) return bad;
  std::string rest = url.substr(scheme.size());
  RedisAddress a;
  const size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    const std::string db = rest.substr(slash + 1);
    if (db.empty() || db.size() > 2 || !std::all_of(db.begin(), db.end(), ::isdigit)) return bad;
    a.db = std::stoi(db);
    rest = rest.substr(0, slash);
  }
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad;
  const std::string port = rest.substr(colon + 1);
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit)) return bad;
  a.port = std::stoi(port);
  if (a.port < 1 || a.port > 65535) return bad;
  a.host = rest.substr(0, colon);
  return a;
}

RedisClient::RedisClient(RedisAddress address) : address_(std::move(address)) {}

RedisClient::~RedisClient() {
  closing_ = true;
  reconnect_timer_.reset();
  if (ac_) {
    redisAsyncContext* ac = ac_;
    ac_ = nullptr;
    redisAsyncFree(ac);  // pending callbacks run with a null reply: on_reply sees closing_
  }
  drop_source();
}

void RedisClient::drop_source() {
  if (!source_) return;
  g_source_destroy(source_);
  g_source_unref(source_);
  source_ = nullptr;
}

void RedisClient::start() {
  if (ac_ || closing_) return;
  drop_source();
  redisAsyncContext* ac = redisAsyncConnect(address_.host.c_str(), address_.port);
  if (!ac) return lost("out of memory");
  if (ac->err) {
    const std::string why = ac->errstr;
    redisAsyncFree(ac);
    return lost(why);
  }
  ac->data = this;
  ac_ = ac;
  source_ = redis_source_new(ac);
  g_source_attach(source_, nullptr);
  redisAsyncSetConnectCallback(ac, &RedisClient::on_connect);
  redisAsyncSetDisconnectCallback(ac, &RedisClient::on_disconnect);
  // hiredis notices the connection on the first write: SELECT (or PING) gets it going.
  if (address_.db != 0)
    command({"SELECT", std::to_string(address_.db)}, [](Result<RedisReply>) {});
  else
    command({"PING"}, [](Result<RedisReply>) {});
}

void RedisClient::on_connect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisClient*>(ac->data);
  if (!self || self->closing_) return;
  if (status != REDIS_OK) {
    // hiredis frees the context after this callback.
    self->ac_ = nullptr;
    if (self->source_) reinterpret_cast<RedisSource*>(self->source_)->poll_fd.revents = 0;
    self->lost(ac->errstr[0] ? ac->errstr : "cannot connect");
    return;
  }
  self->connected_ = true;
  self->backoff_ms_ = 0;
  log_info("", "", "registry-connected",
           "redis " + self->address_.host + ":" + std::to_string(self->address_.port) + " db " +
               std::to_string(self->address_.db) + (self->warned_ ? " (back after an outage)" : ""));
  self->warned_ = false;
}

void RedisClient::on_disconnect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisClient*>(ac->data);
  if (!self || self->closing_) return;
  // hiredis frees the context after this callback; the dispatch that called us must not read it again.
  self->ac_ = nullptr;
  if (self->source_) reinterpret_cast<RedisSource*>(self->source_)->poll_fd.revents = 0;
  self->connected_ = false;
  self->lost(status == REDIS_OK ? "closed" : (ac->errstr[0] ? ac->errstr : "connection lost"));
}

void RedisClient::lost(const std::string& why) {
  ++errors_;
  connected_ = false;
  // The source stays until the reconnect: hiredis still calls its cleanup while freeing the context.
  if (!warned_) {
    log_warn("", "", "registry-lost",
             "redis " + address_.host + ":" + std::to_string(address_.port) + ": " + why +
                 "; retrying with backoff (flowing streams are not touched)");
    warned_ = true;
  }
  schedule_reconnect();
}

void RedisClient::schedule_reconnect() {
  if (closing_) return;
  backoff_ms_ = backoff_ms_ == 0 ? 500 : std::min(backoff_ms_ * 2, 10000);
  reconnect_timer_ = start_timer(backoff_ms_, [this]() {
    SourceGuard finishing = std::move(reconnect_timer_);
    drop_source();
    start();
  });
}

void RedisClient::command(const std::vector<std::string>& args, RedisCallback cb) {
  if (!ac_ || closing_) return cb(unavailable("not connected"));
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* pending = new PendingCommand{this, std::move(cb)};
  if (redisAsyncCommandArgv(ac_, &RedisClient::on_reply, pending, int(argv.size()), argv.data(), lens.data()) !=
      REDIS_OK) {
    RedisCallback failed = std::move(pending->cb);
    delete pending;
    failed(unavailable("command refused"));
  }
}

void RedisClient::on_reply(redisAsyncContext* ac, void* reply, void* privdata) {
  std::unique_ptr<PendingCommand> pending(static_cast<PendingCommand*>(privdata));
  if (!pending || pending->client->closing_) return;
  if (!reply) return pending->cb(unavailable("connection lost"));
  auto* r = static_cast<redisReply*>(reply);
  if (r->type == REDIS_REPLY_ERROR)
    return pending->cb(Error{"redis: " + std::string(r->str, r->len), ErrorReason::internal, "cluster"});
  pending->cb(copy_reply(r));
}

}  // namespace estuary::server::cluster
