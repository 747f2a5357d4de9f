// Owns: the relay between a TLS connection and a plain socketpair, so code that reads and writes
// kernel descriptors (the fan-out engine's writev, the RTMP server) serves TLS clients unchanged:
// it gets one end of a socketpair, and the relay moves bytes between the other end and the TLS
// stream (g_io_stream_splice_async on the control thread's context; encryption happens there).
// Memory is bounded by the socketpair's kernel buffers and GIO's fixed splice buffers: a TLS peer
// that stops reading fills the socketpair, and the writer sees it as a slow socket. When either side
// closes or fails, both are closed.
#pragma once

#include <gio/gio.h>

#include <string>

namespace estuary::server {

// Starts relaying tls_stream (a reference is taken) and returns the caller's end of the socketpair
// (close-on-exec, blocking; the caller owns it), or -1 after closing tls_stream if no socketpair
// could be made. client_id names the relay in log lines.
int start_tls_relay(GIOStream* tls_stream, const std::string& client_id);

}  // namespace estuary::server
