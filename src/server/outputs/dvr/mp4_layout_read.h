// Owns: read_mp4_layout(), the blocking reader that feeds Mp4BoxScan (common/mp4_box_scan.h) one
// box header at a time from a recorded fragmented MP4 with pread: only the headers are read (16
// bytes per top-level box), never the media. Must not know: HTTP, the index, HLS. Blocking: call it
// off the control thread.
#pragma once

#include <string>

#include "common/mp4_box_scan.h"
#include "common/result.h"

namespace estuary::server {

// The layout of the fMP4 file at `path`; not_found when it cannot be opened, invalid (with the
// scanner's reason) when its boxes do not make a fragmented MP4.
Result<Mp4Layout> read_mp4_layout(const std::string& path);

}  // namespace estuary::server
