// Owns: the connection discipline of a SoupServer (HTTP media port, API port and their HTTPS
// twins), which libsoup 3.2 does not have: a deadline for each request head (first request:
// header_timeout_ms; later ones on a kept-alive connection: keepalive_timeout_ms) and for its
// body, a cap on body size, a cap on connections per address, and RFC 9112 framing (ambiguous
// requests get 400 and a closed connection, never a second response). A connection past a
// deadline is shut down and, a second later, closed (libsoup 3.2 does not release connections that
// end between requests; see http_guard.cpp), with one log line.
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

// The connection of msg leaves libsoup (soup_server_message_steal_connection, about to be called):
// no deadline applies to it any more. Call before stealing.
void release_http_connection(SoupServerMessage* msg);
// A released connection goes back to libsoup (soup_server_accept_iostream, about to be called): its
// deadlines apply again.
void reclaim_http_connection(GSocket* socket);
// The socket of msg's connection: libsoup's, or for a connection given back with
// reclaim_http_connection, that one (libsoup 3.2 knows no socket for it). nullptr if unknown.
GSocket* http_connection_socket(SoupServerMessage* msg);

}  // namespace estuary::server
