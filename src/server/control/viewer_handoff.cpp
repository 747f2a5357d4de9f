// Owns: the viewer hand-off to the fan-out engine (see viewer_handoff.h).
#include "server/control/viewer_handoff.h"

#include "common/control_thread.h"

namespace estuary::server {

void hand_viewer_to_fanout(fanout::Engine& engine, ClientRegistry& clients, ViewerHandoff viewer) {
  ClientRegistry* registry = &clients;  // the registry outlives the engine's viewers (main.cpp order)
  const std::string id = viewer.client_id;
  auto counters = engine.add_viewer(std::move(viewer.channel), viewer.fd, id, std::move(viewer.prefix),
                                    [registry, id](const std::string&, fanout::CloseReason reason) {
                                      std::string why = fanout::close_reason_name(reason);
                                      post_to_control([registry, id, why]() { registry->remove_client(id, why); });
                                    });
  Client* c = clients.find_client(id);
  if (!c) return;
  fanout::Engine* e = &engine;
  const uint64_t before = viewer.bytes_received_before;
  c->kick = [e, id]() { e->kick(id); };
  c->bytes_sent = [counters]() { return counters->bytes_sent.load(std::memory_order_relaxed); };
  c->bytes_received = [counters, before]() {
    return before + counters->bytes_received.load(std::memory_order_relaxed);
  };
}

}  // namespace estuary::server
