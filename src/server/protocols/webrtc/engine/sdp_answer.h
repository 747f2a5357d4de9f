// Owns: the SDP answer of the shared engine (ICE-lite, DTLS passive, BUNDLE, rtcp-mux; send only to a WHEP
// viewer, receive only from a WHIP publisher):
// one m-line per offered m-line in order, the plan's payload type (H.264 with nack/pli feedback and
// the offer's profile-level-id, Opus; to a publisher that offers them, the transport-wide-cc extmap with the
// offer's id and transport-cc feedback), our ICE credentials, certificate fingerprint, SSRCs and host
// candidates on the one UDP port; and the offer's ICE credentials and fingerprint it needs back.
// Must not know: sockets, DTLS, sessions. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "server/protocols/webrtc/sdp_offer.h"

namespace estuary::webrtc::engine {

struct OfferCredentials {
  std::string ufrag, pwd;
  std::string fingerprint;  // "sha-256 AB:CD:..."
  std::string setup;        // actpass, active, passive
};

// The offer's first ice-ufrag, ice-pwd, fingerprint and setup (session or media level). Errors
// (reason invalid: HTTP 400): a missing credential or fingerprint, or setup:passive (we are passive).
Result<OfferCredentials> offer_credentials(std::string_view sdp);

struct AnswerParams {
  std::string ufrag, pwd;
  std::string fingerprint;             // "AB:CD:..." sha-256
  std::vector<std::string> addresses;  // host candidate IPs
  int port = 0;
  int tcp_port = 0;  // passive ICE-TCP host candidates on it too (0 = none)
  uint32_t video_ssrc = 0, audio_ssrc = 0;
  std::string cname;
  bool receive = false;  // a WHIP publisher: recvonly, no SSRCs of ours
  bool twcc = false;     // with receive: echo the offer's transport-wide-cc extmap and transport-cc feedback
};

std::string build_answer(const OfferPlan& plan, const AnswerParams& p);

}  // namespace estuary::webrtc::engine
