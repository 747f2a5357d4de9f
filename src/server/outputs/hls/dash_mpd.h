// Owns: rendering a CMAF window as a dynamic MPEG-DASH MPD (isoff-live profile): one period per
// publish (generation), SegmentTemplate with $Number$ over the same segments HLS serves and a
// SegmentTimeline, availabilityStartTime at media time 0, UTCTiming carried in the MPD itself
// (urn:mpeg:dash:utc:direct:2014), and in low-latency mode availabilityTimeOffset with the open
// segment answered as its parts are made (chunked).
// Must not know: GStreamer, HTTP. Control thread only.
#pragma once

#include <string>

#include "server/outputs/hls/cmaf_window.h"

namespace estuary::server {

// `now_us` is the wall clock for publishTime and UTCTiming. Empty when the window has no segment.
std::string render_mpd(const CmafWindow& window, gint64 now_us);

}  // namespace estuary::server
