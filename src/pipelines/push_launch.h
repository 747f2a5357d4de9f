// Owns: the pipeline that pushes a bus stream to another server: `estuarysrc` into flvmux ! rtmp2sink
// (rtmp://, rtmps://: H.264 and AAC) or mpegtsmux ! srtsink (srt://: H.264/H.265, AAC/Opus), the
// tracks taken from the stream's caps on the bus. Used by forwards and by a cluster edge that hands
// its publishers to an origin.
// Must not know: the server.
#pragma once

#include <string>

#include "common/result.h"

namespace estuary::pipelines {

// Launch line for stream app/name to url; the sink is named "sink" and its URL is set in code
// (push_url_property), never spliced into the line. Errors: the codecs cannot go there.
Result<std::string> push_launch(const std::string& key, const std::string& url);
// The sink's URL property for url: "uri" (srtsink) or "location" (rtmp2sink).
const char* push_url_property(const std::string& url);

}  // namespace estuary::pipelines
