// Owns: the libFuzzer target of the SDP text helpers: trickle-ICE fragments (RFC 8840) against a
// session's mids, and the public-address candidate rewrite of an answer. Input: a line of mids
// separated by spaces, then the fragment (or SDP) text.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "server/protocols/webrtc/sdp_text.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  estuary::fuzz::FuzzInput in(data, size);
  std::string_view mid_line = in.until('\n');
  std::vector<std::string> mids;
  size_t start = 0;
  while (start <= mid_line.size() && mids.size() < 16) {
    size_t end = mid_line.find(' ', start);
    if (end == std::string_view::npos) end = mid_line.size();
    if (end > start) mids.emplace_back(mid_line.substr(start, end - start));
    start = end + 1;
  }
  std::string_view body = in.rest_text();
  auto frag = estuary::webrtc::parse_trickle_fragment(body, mids, 16 * 1024, 64);
  if (frag.ok()) {
    if (frag->candidates.size() > 64) std::abort();
    for (const auto& c : frag->candidates)
      if (c.mline < 0 || (!mids.empty() && c.mline >= static_cast<int>(mids.size()))) std::abort();
  }
  std::string rewritten = estuary::webrtc::add_candidate_address(body, "203.0.113.7");
  if (estuary::webrtc::count_candidates(rewritten) < estuary::webrtc::count_candidates(body)) std::abort();
  estuary::webrtc::add_candidate_address(body, mids.empty() ? std::string_view() : std::string_view(mids[0]));
  return 0;
}
