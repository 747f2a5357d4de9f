// Owns: putting a TsGuard in front of a tsdemux element (a buffer probe on its sink pad), so every
// MPEG-TS ingest path — SRT publishers, pulled SRT/HTTP-TS/HLS/file sources — reaches the demuxer
// only through the guard. Input the guard finds hopeless ends that one pipeline with an error
// message (never the process); the first rejection of a stream is logged with its reason.
// Runs on the pad's streaming thread; touches only the probe's own state and posts bus messages.
// Must not know: the server, sessions, which protocol delivered the bytes.
#pragma once

#include <gst/gst.h>

#include <string>

namespace estuary::pipelines {

// Installs the guard on demux's "sink" pad (push mode: put a queue before a tsdemux that would
// pull from its source). stream names the stream in log lines.
void guard_ts_demuxer(GstElement* demux, const std::string& stream);

// True when element is a tsdemux (the elements a guard belongs in front of).
bool is_ts_demuxer(GstElement* element);

}  // namespace estuary::pipelines
