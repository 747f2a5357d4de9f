// Owns: serving a byte-stream format of a live stream over HTTP (HTTP-FLV, HTTP-TS): the
// play request, waiting for the output's channel, then stealing the connection from libsoup and
// handing the socket to the fan-out engine (over HTTPS, the plain end of a TLS relay: tls_relay.h);
// HEAD gets the same status and headers without becoming a viewer. One registration per format.
#pragma once

#include <string>

#include "fanout/fanout.h"
#include "server/control/http_routes.h"
#include "server/control/ports.h"

namespace estuary::server {

struct HttpByteStreamFormat {
  std::string extension;     // ".flv"
  std::string format;        // fan-out channel format: "flv"
  std::string content_type;  // "video/x-flv"
  std::string client_type;   // API client type: "flv-play"
};

void register_http_byte_stream(StreamRoutes& http, ControlPorts ports, fanout::Engine& engine,
                               HttpByteStreamFormat format);

}  // namespace estuary::server
