// Owns: what a pulled source's URL means to GStreamer: its kind (RTSP, SRT, RTMP, HLS, progressive
// HTTP, file), the reader launch line that turns it into parsed elementary streams, and the
// credential-free form of the URL that logs and the API may show. Pure functions.
#pragma once

#include <string>

#include "common/result.h"

namespace estuary::pipelines {

enum class PullKind { rtsp, srt, rtmp, hls, http, file };
const char* pull_kind_name(PullKind k);

struct PullOptions {
  std::string rtsp_transport = "auto";  // auto | tcp | udp
};

// How to build the reader for a URL. The launch line names the source element "src" (its URL
// property is set in code, never spliced into launch syntax) and the element whose dynamic pads
// carry the tracks "demux": a demuxer (tsdemux for SRT and HLS, flvdemux for RTMP, by extension for
// files and HTTP, parsebin when unknown) or, for RTSP, rtspsrc itself (RTP pads that need a
// depayloader). Each track then gets the parser its caps need.
struct ReaderPlan {
  PullKind kind = PullKind::file;
  std::string launch;
  std::string url_property;  // property of "src" that takes the location
  std::string url_value;     // the value (a local path for file://)
  bool rtp_pads = false;     // "demux" pads are RTP (rtspsrc)
  bool live = true;          // false: a file, paced to the clock by the reader
};

Result<ReaderPlan> plan_reader(const std::string& url, const PullOptions& options);

// The URL without secrets: user info password and query values of passphrase/key/token/secret/
// password/auth/sign... become "***" (for the API and logs).
std::string redact_url(const std::string& url);

}  // namespace estuary::pipelines
