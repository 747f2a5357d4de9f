// Owns: RTSP publish on the RTSP port: ANNOUNCE (SDP: H.264, H.265, AAC, Opus; one video and one
// audio track at most; anything else gets 415), SETUP in record mode over TCP (interleaved) or UDP,
// RECORD, TEARDOWN. Each ANNOUNCE mounts a record media for its path whose pipeline depayloads and
// parses the announced tracks (pipelines::RecordIngest); the publisher becomes an "rtsp-publish"
// client with the same admission as RTMP publishers (limits, IP rules, on_publish hook), the same
// busy/takeover rule (PublishPort::begin_publish) and the same silence timeout ([rtmp]
// publish_timeout_ms). Nothing reaches the stream bus before the publisher is admitted.
//
// The RTSP answers cannot wait for a hook: ANNOUNCE is refused at once when the verdict is known at
// once (rules, busy stream, no hook configured); otherwise it is answered and the verdict comes
// later — a refusal then fails the next SETUP/RECORD (403) or closes the connection.
//
// Must not know: outputs, other protocols. Control thread only (gst-rtsp-server's client signals).
#pragma once

#include <gst/rtsp-server/rtsp-server.h>

#include "server/protocols/rtsp/rtsp_state.h"

namespace estuary::server {

// Mount points whose ANNOUNCE path lookups first mount the record media for the announced SDP.
// The server's play mounts live in the same object.
GstRTSPMountPoints* new_publish_mount_points(std::weak_ptr<RtspServer::State> state);
// Connects the publish request signals of a newly connected client.
void watch_publish_requests(const RtspStatePtr& st, GstRTSPClient* client);
// The publisher of `info` (if any) stops now: off the bus, its record unmounted and removed from the
// client registry (on_unpublish). For "closed", TEARDOWN and the server's end.
void end_rtsp_publish(RtspServer::State& st, RtspServer::State::ClientInfo& info, const std::string& reason);
// A play mount replaces the record mount of `key` (the stream is live: no ANNOUNCE can win there).
void forget_record_mount(RtspServer::State& st, const std::string& key);

}  // namespace estuary::server
