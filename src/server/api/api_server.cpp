// Owns: the libsoup side of the HTTP API (see api_server.h): listening, turning SoupServerMessages
// into ApiRequests and ApiReplies back into responses, CORS, and the request size limits.
#include "server/api/api_server.h"

#include <gio/gio.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <string_view>

#include "common/log.h"
#include "common/timer.h"
#include "server/api/api_errors.h"
#include "server/api/api_json.h"

namespace estuary::api {

struct ApiServer::Core {
  ApiRouter router;

  // Answers msg with reply, CORS headers included.
  void respond(SoupServerMessage* msg, const ApiReply& reply, bool preflight) const {
    soup_server_message_set_status(msg, static_cast<guint>(reply.http_status), nullptr);
    soup_server_message_set_response(msg, reply.content_type.c_str(), SOUP_MEMORY_COPY, reply.body.data(),
                                     reply.body.size());
    SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
    soup_message_headers_replace(h, "Cache-Control", "no-store");
    soup_message_headers_replace(h, "X-Content-Type-Options", "nosniff");
    if (!reply.allow.empty() && (preflight || reply.http_status == 405))
      soup_message_headers_replace(h, "Allow", reply.allow.c_str());
    set_cors_headers(msg, preflight, reply.allow.empty() ? "GET, HEAD, DELETE, OPTIONS" : reply.allow.c_str());
  }

  void serve(SoupServerMessage* msg, const char* path, GHashTable* query) {
    const char* method = soup_server_message_get_method(msg);
    GUri* uri = soup_server_message_get_uri(msg);
    const char* raw_query = uri ? g_uri_get_query(uri) : nullptr;
    std::string_view path_view = path ? path : "";
    const ApiOptions& opt = router.options();
    ApiReply reply;
    if (path_view.size() > opt.max_uri_length || (raw_query && strlen(raw_query) > opt.max_uri_length)) {
      reply = router.error_reply(code::uri_too_long, "request URI too long");
    } else {
      ApiRequest req;
      req.method = method ? method : "";
      req.path = std::string(path_view);
      if (query) {
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, query);
        while (g_hash_table_iter_next(&it, &k, &v))
          req.query.emplace(static_cast<const char*>(k), v ? static_cast<const char*>(v) : "");
      }
      reply = router.handle(req);
    }
    bool preflight = method && std::string_view(method) == "OPTIONS" && reply.http_status == 200;
    respond(msg, reply, preflight);
    log_debug("", "", "api-request",
              std::string(method ? method : "?") + " " + printable(path_view) + " -> " +
                  std::to_string(reply.http_status) + " code=" + std::to_string(reply.code));
  }

  // Called from got-headers / got-chunk: stops accumulating an oversized body and answers 413
  // without running any handler (libsoup skips handlers once a status is set).
  void reject_body(SoupServerMessage* msg) const {
    if (soup_server_message_get_status(msg) != 0) return;
    SoupMessageBody* body = soup_server_message_get_request_body(msg);
    soup_message_body_set_accumulate(body, FALSE);
    soup_message_body_truncate(body);
    respond(msg, router.error_reply(code::payload_too_large, "request body too large"), false);
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Connection", "close");
  }
};

namespace {

using CoreBox = std::shared_ptr<ApiServer::Core>;  // heap-boxed for C user data

void delete_core_box(gpointer data, GClosure*) { delete static_cast<CoreBox*>(data); }

void on_api_request(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable* query, gpointer data) {
  const CoreBox& core = *static_cast<CoreBox*>(data);
  try {
    core->serve(msg, path, query);
  } catch (const std::exception& e) {
    log_error("", "", "api-error", std::string("handler failed: ") + e.what());
    core->respond(msg, core->router.error_reply(code::internal, "internal error"), false);
  } catch (...) {
    core->respond(msg, core->router.error_reply(code::internal, "internal error"), false);
  }
}

// Compares without stopping at the first difference, so timing does not reveal the secret.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
  return diff == 0 && !b.empty();
}

bool authorized(const ApiOptions& opt, const char* header) {
  std::string_view h = header ? header : "";
  if (opt.auth == "bearer") {
    if (h.size() < 7 || g_ascii_strncasecmp(h.data(), "Bearer ", 7) != 0) return false;
    return same_secret(h.substr(7), opt.token);
  }
  if (opt.auth == "basic") {
    if (h.size() < 6 || g_ascii_strncasecmp(h.data(), "Basic ", 6) != 0) return false;
    std::string expected = opt.username + ":" + opt.password;
    gchar* encoded = g_base64_encode(reinterpret_cast<const guchar*>(expected.data()), expected.size());
    bool ok = same_secret(h.substr(6), encoded);
    g_free(encoded);
    return ok;
  }
  return true;
}

// Answers 401 before any handler runs when auth is on and the request does not carry it.
bool reject_unauthorized(const ApiServer::Core& core, SoupServerMessage* msg) {
  const ApiOptions& opt = core.router.options();
  if (opt.auth.empty() || opt.auth == "none") return false;
  const char* method = soup_server_message_get_method(msg);
  GUri* uri = soup_server_message_get_uri(msg);
  const char* path = uri ? g_uri_get_path(uri) : "";
  // WHIP/WHEP (/rtc/, and the short forms /whip/, /whep/) carry their own tokens for the hooks.
  const char* p = path ? path : "";
  if (g_strcmp0(method, "OPTIONS") == 0 || g_str_has_prefix(p, "/rtc/") || g_str_has_prefix(p, "/whip/") ||
      g_str_has_prefix(p, "/whep/"))
    return false;
  SoupMessageHeaders* h = soup_server_message_get_request_headers(msg);
  if (authorized(opt, soup_message_headers_get_one(h, "Authorization"))) return false;
  static const char body[] = "{\"code\":401,\"msg\":\"authentication required\"}";
  soup_server_message_set_status(msg, 401, nullptr);
  soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_STATIC, body, sizeof body - 1);
  SoupMessageHeaders* rh = soup_server_message_get_response_headers(msg);
  soup_message_headers_replace(rh, "WWW-Authenticate",
                               opt.auth == "bearer" ? "Bearer realm=\"estuary\"" : "Basic realm=\"estuary\"");
  set_cors_headers(msg, false, "GET, HEAD, DELETE, OPTIONS");
  log_warn("", "", "api-unauthorized",
           std::string(method ? method : "?") + " " + (path ? path : "") + " from " +
               (soup_server_message_get_remote_host(msg) ? soup_server_message_get_remote_host(msg) : "?"));
  return true;
}

void on_got_headers(SoupServerMessage* msg, gpointer data) {
  const CoreBox& core = *static_cast<CoreBox*>(data);
  if (reject_unauthorized(*core, msg)) {
    SoupMessageBody* body = soup_server_message_get_request_body(msg);
    soup_message_body_set_accumulate(body, FALSE);
    return;
  }
  SoupMessageHeaders* h = soup_server_message_get_request_headers(msg);
  if (soup_message_headers_get_encoding(h) == SOUP_ENCODING_CONTENT_LENGTH &&
      soup_message_headers_get_content_length(h) > static_cast<goffset>(core->router.options().max_request_body))
    core->reject_body(msg);
}

void on_got_chunk(SoupServerMessage* msg, GBytes*, gpointer data) {
  const CoreBox& core = *static_cast<CoreBox*>(data);
  SoupMessageBody* body = soup_server_message_get_request_body(msg);
  if (body && static_cast<size_t>(body->length) > core->router.options().max_request_body) core->reject_body(msg);
}

void on_request_started(SoupServer*, SoupServerMessage* msg, gpointer data) {
  const CoreBox& core = *static_cast<CoreBox*>(data);
  // Each connection holds its own reference to Core for as long as the message lives.
  g_signal_connect_data(msg, "got-headers", G_CALLBACK(on_got_headers), new CoreBox(core), delete_core_box,
                        GConnectFlags(0));
  g_signal_connect_data(msg, "got-chunk", G_CALLBACK(on_got_chunk), new CoreBox(core), delete_core_box,
                        GConnectFlags(0));
}

struct HandlerBox {
  ApiServer::Handler fn;
};

void on_extra_request(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable* query, gpointer data) {
  auto* box = static_cast<HandlerBox*>(data);
  try {
    box->fn(msg, path, query);
  } catch (const std::exception& e) {
    log_error("", "", "api-error", std::string("handler for ") + (path ? path : "?") + " failed: " + e.what());
    soup_server_message_set_status(msg, 500, nullptr);
  } catch (...) {
    soup_server_message_set_status(msg, 500, nullptr);
  }
}

int bound_port(SoupServer* server) {
  GSList* listeners = soup_server_get_listeners(server);
  int port = 0;
  for (GSList* l = listeners; l && port == 0; l = l->next) {
    GSocketAddress* addr = g_socket_get_local_address(G_SOCKET(l->data), nullptr);
    if (addr && G_IS_INET_SOCKET_ADDRESS(addr)) port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(addr));
    if (addr) g_object_unref(addr);
  }
  g_slist_free(listeners);
  return port;
}

}  // namespace

ApiServer::ApiServer(Backend& backend, ServerIdentity id, ApiOptions options)
    : core_(std::make_shared<Core>(Core{ApiRouter(backend, std::move(id), options)})) {
  const std::string& signature = core_->router.identity().signature;
  server_ =
      Ref<SoupServer>::adopt(SOUP_SERVER(g_object_new(SOUP_TYPE_SERVER, "server-header", signature.c_str(), nullptr)));
  soup_server_add_handler(server_.get(), "/", on_api_request, new CoreBox(core_),
                          [](gpointer p) { delete static_cast<CoreBox*>(p); });
  gulong sig = g_signal_connect_data(server_.get(), "request-started", G_CALLBACK(on_request_started),
                                     new CoreBox(core_), delete_core_box, GConnectFlags(0));
  request_started_ = SignalGuard(server_.get(), sig);
  Core* core = core_.get();  // the timer is cancelled (history_timer_) before core_ goes
  history_timer_ = start_repeating_timer(1000, [core]() {
    core->router.sample_history(g_get_real_time() / 1000);
    return true;
  });
}

ApiServer::~ApiServer() {
  history_timer_.reset();
  request_started_.disconnect();
  for (const auto& prefix : extra_prefixes_) soup_server_remove_handler(server_.get(), prefix.c_str());
  soup_server_remove_handler(server_.get(), "/");
  // Closes the listeners and every open connection, so no callback fires after this.
  soup_server_disconnect(server_.get());
}

const ServerIdentity& ApiServer::identity() const { return core_->router.identity(); }

Status ApiServer::listen(const std::string& address, int port, bool https) {
  if (port < 0 || port > 65535)
    return Error{"api: invalid listen port " + std::to_string(port), ErrorReason::invalid, "api"};
  GError* err = nullptr;
  gboolean ok = FALSE;
  const auto options = https ? SOUP_SERVER_LISTEN_HTTPS : SoupServerListenOptions(0);
  if (address.empty() || address == "*") {
    ok = soup_server_listen_all(server_.get(), static_cast<guint>(port), options, &err);
  } else if (address == "localhost") {
    ok = soup_server_listen_local(server_.get(), static_cast<guint>(port), options, &err);
  } else {
    auto inet = Ref<GInetAddress>::adopt(g_inet_address_new_from_string(address.c_str()));
    if (!inet) return Error{"api: invalid listen address '" + address + "'", ErrorReason::invalid, "api"};
    auto sock = Ref<GSocketAddress>::adopt(g_inet_socket_address_new(inet.get(), static_cast<guint16>(port)));
    ok = soup_server_listen(server_.get(), sock.get(), options, &err);
  }
  if (!ok) {
    Error e{"api: cannot listen on " + address + ":" + std::to_string(port) + ": " + (err ? err->message : "?"),
            ErrorReason::unavailable, "api"};
    g_clear_error(&err);
    return e;
  }
  int& first = https ? https_port_ : port_;
  if (first == 0) first = port != 0 ? port : bound_port(server_.get());
  log_info("", "", "api-listen",
           std::string(https ? "HTTPS API on " : "HTTP API on ") + (address.empty() ? std::string("*") : address) +
               ":" + std::to_string(port != 0 ? port : first));
  return ok_status();
}

void ApiServer::add_handler(const std::string& path_prefix, Handler handler) {
  if (path_prefix.empty() || path_prefix == "/") {
    log_warn("", "", "api-handler", "refusing to replace the API's \"/\" handler");
    return;
  }
  soup_server_add_handler(server_.get(), path_prefix.c_str(), on_extra_request, new HandlerBox{std::move(handler)},
                          [](gpointer p) { delete static_cast<HandlerBox*>(p); });
  if (std::find(extra_prefixes_.begin(), extra_prefixes_.end(), path_prefix) == extra_prefixes_.end())
    extra_prefixes_.push_back(path_prefix);
}

void ApiServer::remove_handler(const std::string& path_prefix) {
  soup_server_remove_handler(server_.get(), path_prefix.c_str());
  std::erase(extra_prefixes_, path_prefix);
}

}  // namespace estuary::api
