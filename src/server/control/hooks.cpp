// Owns: the hook body, accept rule and async client (see hooks.h).
#include "server/control/hooks.h"

#include <json-glib/json-glib.h>

#include <set>

#include "common/log.h"

namespace estuary::hooks {

bool response_accepts(unsigned status, std::string_view body, std::string* why) {
  auto fail = [why](std::string reason) {
    if (why) *why = std::move(reason);
    return false;
  };
  if (status != 200 && status != 201) return fail("HTTP status " + std::to_string(status));
  while (!body.empty() && g_ascii_isspace(body.front())) body.remove_prefix(1);
  while (!body.empty() && g_ascii_isspace(body.back())) body.remove_suffix(1);
  if (body.empty()) return fail("empty body");
  if (body == "0") return true;
  JsonParser* parser = json_parser_new();
  bool ok = json_parser_load_from_data(parser, body.data(), gssize(body.size()), nullptr);
  JsonNode* root = ok ? json_parser_get_root(parser) : nullptr;
  std::string reason;
  bool accepted = false;
  if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
    reason = "body is neither 0 nor a JSON object";
  } else {
    JsonNode* code = json_object_get_member(json_node_get_object(root), "code");
    if (!code || !JSON_NODE_HOLDS_VALUE(code) || json_node_get_value_type(code) != G_TYPE_INT64) {
      reason = "JSON body has no integer code";
    } else if (json_node_get_int(code) != 0) {
      reason = "code " + std::to_string(json_node_get_int(code));
    } else {
      accepted = true;
    }
  }
  g_object_unref(parser);
  return accepted ? true : fail(reason);
}

std::string param_from_query(std::string_view query) {
  if (query.empty() || query.front() == '?') return std::string(query);
  return "?" + std::string(query);
}

std::vector<std::string> split_urls(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (g_ascii_isspace(c)) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::string hook_body(const std::string& action, const std::string& server_id, const std::string& service_id,
                      const HookFields& f) {
  JsonBuilder* b = json_builder_new();
  json_builder_begin_object(b);
  auto str = [b](const char* k, const std::string& v) {
    json_builder_set_member_name(b, k);
    json_builder_add_string_value(b, v.c_str());
  };
  str("server_id", server_id);
  str("service_id", service_id);
  str("action", action);
  str("client_id", f.client_id);
  str("ip", f.ip);
  str("vhost", f.vhost);
  str("app", f.app);
  str("stream", f.stream);
  str("param", f.param);
  str("tcUrl", f.tc_url);
  str("stream_url", f.stream_url);
  str("stream_id", f.stream_id);
  for (const auto& [k, v] : f.extra_strings) str(k.c_str(), v);
  for (const auto& [k, v] : f.extra_numbers) {
    json_builder_set_member_name(b, k.c_str());
    if (v == double(int64_t(v)))
      json_builder_add_int_value(b, int64_t(v));
    else
      json_builder_add_double_value(b, v);
  }
  json_builder_end_object(b);
  JsonGenerator* g = json_generator_new();
  JsonNode* root = json_builder_get_root(b);
  json_generator_set_root(g, root);
  gchar* text = json_generator_to_data(g, nullptr);
  std::string out = text ? text : "{}";
  g_free(text);
  json_node_unref(root);
  g_object_unref(g);
  g_object_unref(b);
  return out;
}

// ---- client ----

namespace {

struct Batch {
  HookClient::Done done;
  int pending = 0;
  bool finished = false;
  std::vector<GCancellable*> cancels;  // borrowed from the requests
};

}  // namespace

struct HookClient::State {
  SoupSession* session = nullptr;
  GMainContext* context = nullptr;
  bool alive = true;
  int in_flight = 0;
};

namespace {

struct Request {
  std::shared_ptr<HookClient::State> state;
  std::shared_ptr<Batch> batch;
  SoupMessage* msg = nullptr;
  GCancellable* cancel = nullptr;
  GSource* timer = nullptr;
  std::string url;
  bool timed_out = false;
  int timeout_ms = 0;
  ~Request() {
    if (timer) {
      g_source_destroy(timer);
      g_source_unref(timer);
    }
    if (msg) g_object_unref(msg);
    if (cancel) g_object_unref(cancel);
  }
};

void finish_batch(const std::shared_ptr<Batch>& batch, bool accepted, const std::string& reason) {
  if (batch->finished) return;
  batch->finished = true;
  for (GCancellable* c : batch->cancels) g_cancellable_cancel(c);  // the others no longer matter
  auto done = std::move(batch->done);
  batch->done = nullptr;
  if (done) done(accepted, reason);
}

gboolean on_request_timeout(gpointer data) {
  auto* r = static_cast<Request*>(data);
  r->timed_out = true;
  g_cancellable_cancel(r->cancel);
  return G_SOURCE_REMOVE;
}

void on_sent(GObject* source, GAsyncResult* result, gpointer data) {
  std::unique_ptr<Request> r(static_cast<Request*>(data));
  GError* err = nullptr;
  GBytes* bytes = soup_session_send_and_read_finish(SOUP_SESSION(source), result, &err);
  r->state->in_flight--;
  std::string reason;
  bool accepted = false;
  if (!bytes) {
    reason = r->timed_out ? "no answer within " + std::to_string(r->timeout_ms) + " ms"
                          : std::string(err ? err->message : "request failed");
  } else {
    gsize size = 0;
    const char* p = static_cast<const char*>(g_bytes_get_data(bytes, &size));
    std::string why;
    accepted = response_accepts(soup_message_get_status(r->msg), std::string_view(p ? p : "", size), &why);
    if (!accepted) reason = why;
    g_bytes_unref(bytes);
  }
  g_clear_error(&err);
  auto batch = r->batch;
  std::erase(batch->cancels, r->cancel);
  if (!r->state->alive) return;
  if (!accepted) {
    finish_batch(batch, false, r->url + ": " + reason);
    return;
  }
  if (--batch->pending == 0) finish_batch(batch, true, "");
}

}  // namespace

HookClient::HookClient() : state_(std::make_shared<State>()) {
  state_->session = soup_session_new_with_options("user-agent", "estuary-hooks", "max-conns", 1024,
                                                  "max-conns-per-host", 256, nullptr);
  state_->context = g_main_context_ref_thread_default();
}

HookClient::~HookClient() {
  state_->alive = false;
  soup_session_abort(state_->session);
  g_object_unref(state_->session);
  g_main_context_unref(state_->context);
}

int HookClient::in_flight() const { return state_->in_flight; }

void HookClient::ask(const std::vector<std::string>& urls, const std::string& body, HookLimits limits, Done done) {
  if (urls.empty()) {
    done(true, "");
    return;
  }
  if (state_->in_flight + int(urls.size()) > limits.max_in_flight) {
    done(false, "too many hook requests in flight (" + std::to_string(state_->in_flight) + ")");
    return;
  }
  auto batch = std::make_shared<Batch>();
  batch->done = std::move(done);
  batch->pending = int(urls.size());
  std::vector<Request*> requests;
  for (const std::string& url : urls) {
    SoupMessage* msg = soup_message_new("POST", url.c_str());
    if (!msg) {
      for (Request* r : requests) delete r;
      finish_batch(batch, false, url + ": invalid URL");
      return;
    }
    GBytes* payload = g_bytes_new(body.data(), body.size());
    soup_message_set_request_body_from_bytes(msg, "application/json", payload);
    g_bytes_unref(payload);
    auto* r = new Request;
    r->state = state_;
    r->batch = batch;
    r->msg = msg;
    r->cancel = g_cancellable_new();
    r->url = url;
    r->timeout_ms = limits.timeout_ms;
    requests.push_back(r);
  }
  for (Request* r : requests) {
    batch->cancels.push_back(r->cancel);
    r->timer = g_timeout_source_new(guint(limits.timeout_ms));
    g_source_set_callback(r->timer, on_request_timeout, r, nullptr);  // destroyed in ~Request
    g_source_attach(r->timer, state_->context);
    state_->in_flight++;
    soup_session_send_and_read_async(state_->session, r->msg, G_PRIORITY_DEFAULT, r->cancel, on_sent, r);
  }
}

void HookClient::tell(const std::vector<std::string>& urls, const std::string& body, HookLimits limits,
                      const std::string& log_stream, const std::string& log_client, const std::string& action) {
  // Each URL on its own, so one slow receiver does not hide another's answer in the log.
  for (const std::string& url : urls) {
    ask({url}, body, limits, [log_stream, log_client, action, url](bool accepted, const std::string& reason) {
      if (accepted)
        log_debug(log_stream, log_client, "hook", action + " " + url + " accepted");
      else
        log_warn(log_stream, log_client, "hook-failed", action + ": " + reason);
    });
  }
}

}  // namespace estuary::hooks
