// Owns: one asynchronous connection to Redis (hiredis driven by the GLib main loop through its glib
// adapter, so nothing ever blocks the control thread): connect, reconnect with doubling backoff after
// a loss (logged once per loss), commands with a reply callback, and the redis://HOST:PORT/DB URL.
// Must not know: what the commands mean (the registry does), the server.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/gobject_ptr.h"
#include "common/result.h"

struct redisAsyncContext;

namespace estuary::server::cluster {

struct RedisAddress {
  std::string host;
  int port = 6379;
  int db = 0;
};
// redis://HOST:PORT[/DB]; errors: invalid.
Result<RedisAddress> parse_redis_url(const std::string& url);

// A reply, copied out of hiredis: nil, status, error, integer, string or array.
struct RedisReply {
  enum class Type { nil, status, error, integer, string, array } type = Type::nil;
  std::string str;
  long long integer = 0;
  std::vector<RedisReply> elements;
};
using RedisCallback = std::function<void(Result<RedisReply>)>;

class RedisClient {
 public:
  explicit RedisClient(RedisAddress address);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Connects now; after a loss it reconnects by itself (500 ms, doubling to 10 s).
  void start();
  bool connected() const { return connected_; }
  // Sends args as one command. Not connected: cb gets an unavailable error at once. A connection
  // lost with the command in flight: cb gets an unavailable error.
  void command(const std::vector<std::string>& args, RedisCallback cb);
  uint64_t errors() const { return errors_; }  // lost connections and failed connects

 private:
  static void on_connect(const redisAsyncContext* ac, int status);
  static void on_disconnect(const redisAsyncContext* ac, int status);
  static void on_reply(redisAsyncContext* ac, void* reply, void* privdata);
  void lost(const std::string& why);
  void schedule_reconnect();
  void drop_source();

  RedisAddress address_;
  redisAsyncContext* ac_ = nullptr;
  GSource* source_ = nullptr;
  bool connected_ = false;
  bool closing_ = false;
  bool warned_ = false;  // the current outage has been logged
  int backoff_ms_ = 0;
  uint64_t errors_ = 0;
  SourceGuard reconnect_timer_;
};

}  // namespace estuary::server::cluster
