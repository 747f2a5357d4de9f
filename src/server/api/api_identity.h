// Owns: who this server process is, as the API envelope and /api/v1/versions report it (SRS's
// server id, service id and pid), and the generation of those ids at start-up.
#pragma once

#include <string>

namespace estuary::api {

struct ServerIdentity {
  std::string server;   // server id, "vid-" + 7 base-36 chars, new each process start (SRS form)
  std::string service;  // service id, 8 base-36 chars, new each process start
  int pid = 0;
  std::string vhost_id;   // id of the single default vhost ("vid-..."), what StreamView::vhost holds
  std::string version;    // bare "0.1.0": SRS puts X.Y.Z in versions.data.version and summaries
  std::string signature;  // "Estuary/0.1.0": the Server header
  int major = 0;
  int minor = 0;
  int revision = 0;
};

// A fresh identity for this process: random server/service/vhost ids, getpid(), and the version
// parsed from `version` ("0.1.0"; missing parts are 0).
ServerIdentity make_server_identity(const std::string& version = "0.1.0");

}  // namespace estuary::api
