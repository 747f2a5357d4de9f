// Owns: the "dvr" output kind: recording a stream to files as [dvr] says (format, plan, path
// template) or as requested through the API; file rotation for plan=segment; the "dvr-file-closed"
// event (for the on_dvr hook); errors (unwritable path, disk full) stop the recorder and are shown
// in the log and the API while the stream and its viewers go on; each file's entry in the recordings
// index (dvr_catalog.h). Control thread only.
#pragma once

#include <ctime>
#include <string>

#include "server/config/config.h"

namespace estuary::server {

// Registers the "dvr" output kind.
void register_dvr_output();

// Points the recordings index at [dvr]'s root and retention, with [dvr:APP] retention for the apps
// that have their own (rebuilding it from disk when the root is new). Called at startup and by each
// recorder as it starts.
void open_dvr_catalog(const config::Config& cfg);

// Expands [app] [stream] [timestamp] (ms) [2006] [01] [02] [15] [04] [05] (local time).
std::string expand_dvr_path(const std::string& tmpl, const std::string& app, const std::string& stream,
                            int64_t wall_ms);

}  // namespace estuary::server
