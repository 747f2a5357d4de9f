// Owns: the libFuzzer target of the SRT stream id parser (`#!::r=...,m=...` and bare
// `app/stream?k=v`), with both default modes; a parsed id must have a non-empty app and stream.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/protocols/srt/stream_id.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4 * estuary::srt::max_stream_id_length) return 0;  // libsrt carries at most 512 bytes
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (auto mode : {estuary::srt::Mode::publish, estuary::srt::Mode::request}) {
    auto id = estuary::srt::parse_stream_id(text, mode);
    if (id.ok() && (id->app.empty() || id->stream.empty())) std::abort();
  }
  estuary::srt::Mode m;
  estuary::srt::parse_mode(text, &m);
  return 0;
}
