// Owns: admission of publishers and viewers for every protocol: the global connection limit, the
// per-app IP rules and per-stream viewer limit ([security]), and the on_publish/on_play hooks
// ([hooks]); then the on_unpublish/on_stop notifications when an admitted client leaves. Runs on
// the control thread; the supervisor owns one (Supervisor::admission()).
//
// A protocol server joins with two steps: Supervisor::add_client(client) (with ip, app, stream and
// query filled in), then admission.admit(client_id, Action::publish|play, done) and, in done, its
// own accept (begin_publish/begin_play) or refusal (RTMP onStatus error, HTTP verdict.http_status,
// SRT reject). done may run synchronously (no hooks configured) or later; guard the connection
// with a weak token. Leaving needs nothing more: Supervisor::remove_client sends on_stop or
// on_unpublish for admitted clients. Other modules send on_dvr/on_hls with notify().
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "server/control/hooks.h"

namespace estuary::server {

class Supervisor;
struct Client;

struct Verdict {
  bool allowed = true;
  int http_status = 200;  // refusals: 403 (rules, hooks), 503 (limits, hooks overloaded)
  std::string reason;
};

class Admission {
 public:
  enum class Action { publish, play };
  using Done = std::function<void(const Verdict&)>;

  explicit Admission(Supervisor& supervisor);
  ~Admission();

  void set_server_identity(std::string server_id, std::string service_id);

  void admit(const std::string& client_id, Action action, Done done);
  // The checks of admit() that need no hook (connection and viewer limits, IP rules), for a request
  // that is not registered as a client (HTTP HEAD): the verdict admit() would start from. Logs nothing.
  Verdict check_rules(const std::string& ip, const std::string& app, const std::string& stream, Action action) const;
  // Called by Supervisor::remove_client for every client before it is forgotten.
  void client_left(const Client& client);
  // Fire-and-forget callback (on_dvr, on_hls, ...) to the URLs the app's [hooks] names for it.
  // fields.app must be set; server_id/service_id are added here. Results are logged.
  void notify(const std::string& action, const hooks::HookFields& fields);

  // Fields of a client as the hooks send them (stream_id from the live stream, if any).
  hooks::HookFields fields_for(const Client& client) const;

 private:
  // registered: the asking client is already counted among the clients (and viewers).
  Verdict rules_verdict(const std::string& ip, const std::string& app, const std::string& key, Action action,
                        bool registered) const;
  void finish(const std::string& client_id, Action action, const Verdict& verdict, const Done& done);

  Supervisor& supervisor_;
  std::unique_ptr<hooks::HookClient> client_;
  std::string server_id_ = "vid-estuary";
  std::string service_id_ = "estuary";
  std::set<std::string> admitted_;  // client ids whose publish/play was allowed
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace estuary::server
