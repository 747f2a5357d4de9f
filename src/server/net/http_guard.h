// Owns: the connection discipline of a SoupServer (HTTP media port, API port and their HTTPS
// twins), which libsoup 3.2 does not have: a deadline for each request head (first request:
// header_timeout_ms; later ones on a kept-alive connection: keepalive_timeout_ms) and for its
// body, a cap on body size, a cap on connections per address, and RFC 9112 framing (ambiguous
// requests get 400 and a closed connection, never a second response). A connection past a
// deadline is shut down (libsoup then reads EOF and frees it) with one log line.
// Runs on the control thread (libsoup's signals). State lives on the socket and message objects.
// Must not know: routes, handlers, streams.
#pragma once

#include <libsoup/soup.h>

#include <memory>
#include <string>

#include "server/net/connection_limits.h"

namespace estuary::server {

// name: "http", "api" (for the log). Call once per server, before it listens.
void guard_http_server(SoupServer* server, const std::string& name, ConnectionLimitsSource limits,
                       std::shared_ptr<PerIpConnections> per_ip);

}  // namespace estuary::server
