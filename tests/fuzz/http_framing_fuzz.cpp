// Owns: the libFuzzer target of the RFC 9112 framing check: the input is split into header fields
// ("name:value" lines) as a request head would carry them. Invariants: a verdict is 400 or 413 with
// a reason; a request with both Content-Length and Transfer-Encoding is never accepted.
#include <glib.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "server/net/http_framing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool http_1_0 = data[0] & 1;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  estuary::server::HeaderFields fields;
  bool cl = false, te = false;
  size_t start = 0;
  while (start <= text.size() && fields.size() < 64) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      fields.emplace_back(line.substr(0, colon), line.substr(colon + 1));
      cl = cl || g_ascii_strcasecmp(fields.back().first.c_str(), "Content-Length") == 0;
      te = te || g_ascii_strcasecmp(fields.back().first.c_str(), "Transfer-Encoding") == 0;
    }
    start = end + 1;
  }
  auto v = estuary::server::check_request_framing(fields, http_1_0, 4096);
  if (v && ((v->status != 400 && v->status != 413) || v->reason.empty())) std::abort();
  if (cl && te && !v) std::abort();
  return 0;
}
