// Owns: unit tests of the SDP text helpers (server/webrtc/sdp_text.h): the public candidate added to
// answers and trickle-ICE fragment parsing with its bounds.
#include "server/protocols/webrtc/sdp_text.h"
#include "server/control/http_routes.h"

#include <gtest/gtest.h>

namespace estuary::webrtc {
namespace {

const char* kAnswer =
    "v=0\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 102\r\n"
    "a=mid:0\r\n"
    "a=candidate:1 1 UDP 2015363327 10.0.0.5 8001 typ host\r\n"
    "a=candidate:2 1 TCP 1015021823 10.0.0.5 9 typ host tcptype active\r\n"
    "a=candidate:3 1 UDP 1686052607 5.6.7.8 40000 typ srflx raddr 10.0.0.5 rport 8001\r\n"
    "a=end-of-candidates\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    "a=mid:1\r\n";

TEST(SdpText, AddsThePublicAddressBesideEachHostCandidate) {
  std::string out = add_candidate_address(kAnswer, "203.0.113.7");
  EXPECT_EQ(count_candidates(out), 5);
  EXPECT_NE(out.find("a=candidate:x1 1 UDP 2015364327 203.0.113.7 8001 typ host\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("203.0.113.7 9 typ host tcptype active"), std::string::npos) << out;
  // Added before the end marker, originals kept.
  EXPECT_LT(out.find("203.0.113.7 8001"), out.find("a=end-of-candidates"));
  EXPECT_NE(out.find("10.0.0.5 8001 typ host"), std::string::npos);
}

TEST(SdpText, NoCandidateAddressLeavesTheAnswerAlone) {
  EXPECT_EQ(add_candidate_address(kAnswer, ""), kAnswer);
  std::string same = add_candidate_address(kAnswer, "10.0.0.5");
  EXPECT_EQ(count_candidates(same), 3);
}

TEST(SdpText, ParsesTrickleFragments) {
  const std::string frag =
      "a=ice-ufrag:AbCd\r\n"
      "a=ice-pwd:xyz\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\n"
      "a=mid:1\r\n"
      "a=candidate:1 1 UDP 2015363327 192.168.1.2 50000 typ host\r\n"
      "a=end-of-candidates\r\n";
  auto r = parse_trickle_fragment(frag, {"0", "1"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->ice_ufrag, "AbCd");
  ASSERT_EQ(r->candidates.size(), 1u);
  EXPECT_EQ(r->candidates[0].mline, 1);
  EXPECT_EQ(r->candidates[0].candidate, "candidate:1 1 UDP 2015363327 192.168.1.2 50000 typ host");
  EXPECT_TRUE(r->end_of_candidates);
}

TEST(SdpText, RefusesBadTrickleFragments) {
  auto unknown = parse_trickle_fragment("a=mid:7\r\n", {"0"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(server::http_status_for(unknown.error()), 422);
  auto malformed = parse_trickle_fragment("a=candidate:garbage\r\n", {"0"});
  ASSERT_FALSE(malformed);
  EXPECT_EQ(server::http_status_for(malformed.error()), 400);
  auto junk = parse_trickle_fragment("this is not sdp", {"0"});
  ASSERT_FALSE(junk);
  EXPECT_EQ(server::http_status_for(junk.error()), 400);
  std::string many;
  for (int i = 0; i < 100; ++i) many += "a=candidate:1 1 UDP 1 10.0.0.1 " + std::to_string(1000 + i) + " typ host\r\n";
  auto too_many = parse_trickle_fragment(many, {"0"});
  ASSERT_FALSE(too_many);
  EXPECT_EQ(server::http_status_for(too_many.error()), 413);
  auto big = parse_trickle_fragment(std::string(20000, 'a'), {"0"});
  ASSERT_FALSE(big);
  EXPECT_EQ(server::http_status_for(big.error()), 413);
}

}  // namespace
}  // namespace estuary::webrtc
