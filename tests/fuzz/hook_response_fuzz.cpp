// Owns: the libFuzzer target of hook responses (SRS's accept rule on status and JSON body) and the
// hook helpers that take request text (query -> param, URL lists). Input: two status bytes, body.
#include <cstdint>
#include <string>

#include "server/control/hooks.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  estuary::fuzz::FuzzInput in(data, size);
  unsigned status = (unsigned(in.byte()) << 8) | in.byte();
  std::string_view body = in.rest_text();
  std::string why;
  estuary::hooks::response_accepts(status % 600, body, &why);
  estuary::hooks::response_accepts(200, body, nullptr);
  estuary::hooks::param_from_query(body);
  estuary::hooks::split_urls(body);
  estuary::hooks::HookFields fields;
  fields.param = estuary::hooks::param_from_query(body);
  fields.stream = std::string(body.substr(0, 64));
  estuary::hooks::hook_body("on_publish", "srv", "svc", fields);
  return 0;
}
