// Owns: how a request URL with a query becomes a path to a mount and its streams. gst-rtsp-server
// keeps the query in the path of SETUP/RECORD/PLAY/TEARDOWN, and clients put it in different places
// (ffmpeg: /app/stream?token=x/streamid=0; rtspclientsink: /app/stream/stream=0?token=x), so a
// publisher or player with ?token=… would not find its own media. The server made here creates
// clients whose paths drop the query wherever it sits; hooks still get it from the request URL.
#pragma once

#include <gst/rtsp-server/rtsp-server.h>

#include <string>

namespace estuary::server {

// abspath + query -> the path without the query ("/app/stream/streamid=0").
std::string rtsp_path_without_query(const char* abspath, const char* query);
// A GstRTSPServer whose clients use rtsp_path_without_query (a new reference).
GstRTSPServer* new_rtsp_server();

}  // namespace estuary::server
