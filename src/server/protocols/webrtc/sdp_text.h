// Owns: the small text transformations of SDP that webrtcbin does not do for us: adding the
// configured public address (NAT, containers) as an extra host candidate to an answer, and parsing
// a trickle-ICE fragment (RFC 8840, PATCH application/trickle-ice-sdpfrag). Pure and bounded.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace estuary::webrtc {

// For every UDP or TCP host candidate in `sdp`, adds the same candidate with the connection address
// replaced by `ip` and a higher priority, so peers behind the server's NAT try the public address
// first and local peers still reach the private one. No change if ip is empty or already present.
std::string add_candidate_address(std::string_view sdp, std::string_view ip);

// Number of a=candidate lines in sdp.
int count_candidates(std::string_view sdp);

struct TrickleCandidate {
  int mline = 0;          // m-line index the candidate belongs to
  std::string candidate;  // "candidate:..." (the a= value, as add-ice-candidate takes it)
};

struct TrickleFragment {
  std::string ice_ufrag;  // "" if the fragment does not name it
  std::vector<TrickleCandidate> candidates;
  bool end_of_candidates = false;
};

// Parses a trickle-ICE SDP fragment. `mids` are the session's m-line mids in order (a=mid lines in
// the fragment map candidates to them; without any, candidates go to m-line 0, the bundle).
// Errors (Error::code): 400 malformed, 413 too large or too many candidates, 422 unknown mid.
Result<TrickleFragment> parse_trickle_fragment(std::string_view body, const std::vector<std::string>& mids,
                                               size_t max_bytes = 16 * 1024, int max_candidates = 64);

}  // namespace estuary::webrtc
