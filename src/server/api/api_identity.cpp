// Owns: generation of the process identity (see api_identity.h).
#include "server/api/api_identity.h"

#include <glib.h>
#include <unistd.h>

#include <cstdlib>

#include "common/ids.h"

namespace estuary::api {

ServerIdentity make_server_identity(const std::string& version) {
  ServerIdentity id;
  // new_client_id() is 8 random base-36 chars; SRS's vid form has 7 after the prefix.
  id.server = "vid-" + new_client_id().substr(1);
  id.service = new_client_id();
  id.vhost_id = "vid-" + new_client_id().substr(1);
  id.pid = static_cast<int>(getpid());
  id.version = version;
  id.signature = "Estuary/" + version;
  int* parts[] = {&id.major, &id.minor, &id.revision};
  const char* p = version.c_str();
  for (int* part : parts) {
    if (!g_ascii_isdigit(*p)) break;
    char* end = nullptr;
    *part = static_cast<int>(std::strtol(p, &end, 10));
    p = end;
    if (*p != '.') break;
    ++p;
  }
  return id;
}

}  // namespace estuary::api
