// Owns: parsing an SRT stream id into what the server routes on: the stream (app/stream), the
// direction (publish or request), the host, and the remaining key=value pairs as a query string for
// hooks and auth. Accepts SRS's syntax `#!::r=app/stream,m=publish,k=v` (the SRT access-control
// convention) and a bare `app/stream[?k=v&...]` that takes a configured default mode. Pure: no I/O,
// no libsrt; the listener calls it from libsrt's handshake thread.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace estuary::srt {

enum class Mode { publish, request };

struct StreamId {
  std::string app;
  std::string stream;
  Mode mode = Mode::request;
  std::string host;   // h= (vhost); "" when absent
  std::string query;  // other pairs as "k=v&k2=v2" (no leading '?'); "" when none
  std::string key() const { return app + "/" + stream; }
};

// Longest stream id libsrt carries (SRTO_STREAMID).
constexpr size_t max_stream_id_length = 512;

// SRT access-control rejection codes (libsrt's access_control.h; repeated so this header needs no
// libsrt): a syntax error, and a mode other than publish/request.
constexpr int reject_bad_request = 1400;
constexpr int reject_bad_mode = 1405;

// Error::code is the SRT rejection code for the caller (reject_bad_request or reject_bad_mode).
Result<StreamId> parse_stream_id(std::string_view text, Mode default_mode);

const char* mode_name(Mode mode);
// "publish" or "request" (also "play" for request); false for anything else.
bool parse_mode(std::string_view text, Mode* out);

}  // namespace estuary::srt
