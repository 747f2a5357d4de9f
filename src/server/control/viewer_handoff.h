// Owns: handing a connected byte-stream viewer (RTMP play, HTTP-FLV, HTTP-TS) to the fan-out engine:
// the engine takes the socket, the client record's kick and byte counters switch to the engine's,
// and the engine's close of the viewer removes the client on the control thread. One place for what
// every TCP play protocol does at the moment it stops reading the socket itself. Control thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fanout/fanout.h"
#include "server/control/ports.h"

namespace estuary::server {

struct ViewerHandoff {
  fanout::ChannelPtr channel;
  int fd = -1;  // taken over by the engine
  std::string client_id;
  std::vector<uint8_t> prefix;         // bytes to send before the channel's (the protocol's own replies)
  uint64_t bytes_received_before = 0;  // what the protocol read before the hand-off (API counters)
};

// Adds the viewer to the engine and rewires its client record.
void hand_viewer_to_fanout(fanout::Engine& engine, ClientRegistry& clients, ViewerHandoff viewer);

}  // namespace estuary::server
