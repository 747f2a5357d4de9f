// Owns: helpers for the API tests: a fake Backend with two streams and three clients, a raw HTTP/1.1
// client (GSocketClient on a worker thread while the test thread runs the server's GMainContext),
// and json-glib accessors.
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/control/api_model.h"

namespace estuary::api::test {

class FakeBackend : public Backend {
 public:
  FakeBackend();
  std::vector<StreamView> streams() const override { return streams_; }
  std::vector<ClientView> clients() const override { return clients_; }
  SummaryView summary() const override { return summary_; }
  bool kick_client(const std::string& id) override;

  std::vector<StreamView> streams_;
  std::vector<ClientView> clients_;
  SummaryView summary_;
  std::vector<std::string> kicked;  // every id kick_client was asked for
};

struct HttpResponse {
  bool received = false;  // false: the connection closed without a status line
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Sends `raw` (a complete request) to 127.0.0.1:port on a fresh connection from a worker thread,
// reads until the server closes, and iterates `ctx` on the calling thread meanwhile.
HttpResponse http_exchange(GMainContext* ctx, int port, const std::string& raw);

// Runs ctx for `ms` milliseconds: libsoup finishes closing connections asynchronously (a GTask
// completes on another thread), and a server torn down before that leaks the connection.
void drain(GMainContext* ctx, int ms);

// "GET <target> HTTP/1.1" with Host and Connection: close.
std::string simple_request(const std::string& method, const std::string& target, const std::string& extra_headers = "");

// Parsed JSON document; root() is null when the text did not parse.
class Json {
 public:
  explicit Json(const std::string& text);
  ~Json();
  Json(const Json&) = delete;
  Json& operator=(const Json&) = delete;
  JsonObject* root() const;
  std::string error;

 private:
  JsonParser* parser_ = nullptr;
};

// Member accessors that tolerate absence (return defaults) so failures show as value mismatches.
bool has(JsonObject* o, const char* key);
std::string str(JsonObject* o, const char* key);
int64_t num(JsonObject* o, const char* key);
double dbl(JsonObject* o, const char* key);
bool flag(JsonObject* o, const char* key);
JsonObject* obj(JsonObject* o, const char* key);
JsonArray* arr(JsonObject* o, const char* key);
bool is_null(JsonObject* o, const char* key);
std::vector<std::string> member_names(JsonObject* o);  // sorted

}  // namespace estuary::api::test
