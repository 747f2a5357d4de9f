// Owns: the libFuzzer target of the bounded HTTP/1.x request head parser (the LL-HLS fast path
// reads request heads itself). Invariants: a complete head lies within the input and the bound, has
// a method, a target and at most kMaxRequestFields fields; its fields pass through the framing check.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/http_request_head.h"
#include "server/net/http_framing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace estuary;
  using estuary::server::check_request_framing;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  RequestHead head;
  const HeadParse r = parse_request_head(bytes, &head);
  if (r == HeadParse::incomplete && size >= kMaxRequestHead) std::abort();
  if (r != HeadParse::complete) return 0;
  if (head.length == 0 || head.length > size || head.length > kMaxRequestHead) std::abort();
  if (head.method.empty() || head.target.empty() || head.fields.size() > kMaxRequestFields) std::abort();
  auto v = check_request_framing(head.fields, head.minor_version == 0, 4096);
  if (v && v->reason.empty()) std::abort();
  (void)head.field("Host");
  return 0;
}
