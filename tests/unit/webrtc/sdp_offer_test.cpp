// Owns: unit tests of WHIP/WHEP offer validation and filtering (server/webrtc/sdp_offer.h): what is
// accepted, which payload type is chosen, what the filtered offer keeps, and that every hostile
// offer is refused with a 4xx and a reason.
#include "server/protocols/webrtc/sdp_offer.h"
#include "server/control/http_routes.h"

#include <gst/gst.h>
#include <gtest/gtest.h>

#include "sdp_fixtures.h"

namespace estuary::webrtc {
namespace {

using namespace fixtures;

StreamTracks av(int profile_idc = 66) { return StreamTracks{true, true, profile_idc}; }

TEST(SdpOffer, WhipChromiumOfferPicksFirstH264AndOpus) {
  auto r = validate_offer(session_header() + video_chromium("sendonly") + audio_opus("sendonly"), OfferRole::publish);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->media.size(), 2u);
  EXPECT_EQ(r->video, 0);
  EXPECT_EQ(r->audio, 1);
  EXPECT_EQ(r->media[0].pt, 102);
  EXPECT_EQ(r->media[0].encoding, "H264");
  EXPECT_EQ(r->media[0].profile_level_id, "42001f");
  EXPECT_EQ(r->media[1].pt, 111);
  EXPECT_EQ(r->media[1].encoding, "OPUS");
  EXPECT_EQ(r->ice_ufrag, "AbCd");
  // Only the chosen payload types reach webrtcbin.
  const std::string& f = r->filtered_sdp;
  EXPECT_NE(f.find("m=video 9 UDP/TLS/RTP/SAVPF 102\r\n"), std::string::npos) << f;
  EXPECT_NE(f.find("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"), std::string::npos) << f;
  EXPECT_EQ(f.find("VP8"), std::string::npos);
  EXPECT_EQ(f.find("rtx"), std::string::npos);
  EXPECT_EQ(f.find("ssrc-group"), std::string::npos);
  EXPECT_EQ(f.find("PCMU"), std::string::npos);
  EXPECT_NE(f.find("a=rtcp-fb:102 nack pli"), std::string::npos);
  EXPECT_NE(f.find("a=ssrc:1111 cname:abc"), std::string::npos);
  EXPECT_NE(f.find("a=group:BUNDLE 0 1"), std::string::npos);
}

TEST(SdpOffer, WhepPrefersTheStreamProfile) {
  auto high =
      validate_offer(session_header() + video_chromium("recvonly") + audio_opus("recvonly"), OfferRole::play, av(100));
  ASSERT_TRUE(high) << high.error().message;
  EXPECT_EQ(high->media[0].pt, 112);
  EXPECT_EQ(high->media[0].profile_level_id, "640c1f");
  EXPECT_TRUE(high->note.empty());
  auto main =
      validate_offer(session_header() + video_chromium("recvonly") + audio_opus("recvonly"), OfferRole::play, av(77));
  ASSERT_TRUE(main);
  EXPECT_EQ(main->media[0].pt, 108);
  auto base =
      validate_offer(session_header() + video_chromium("recvonly") + audio_opus("recvonly"), OfferRole::play, av(66));
  ASSERT_TRUE(base);
  EXPECT_EQ(base->media[0].pt, 102);
}

TEST(SdpOffer, WhepOtherProfileIsServedWithTheOfferedLabelAndANote) {
  auto r = validate_offer(session_header() + video_h264("recvonly", "42e01f") + audio_opus("recvonly"), OfferRole::play,
                          av(100));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->media[0].profile_level_id, "42e01f");
  EXPECT_NE(r->note.find("profile"), std::string::npos);
}

TEST(SdpOffer, WhepAudioOnlyOfferServesAudioOnly) {
  std::string offer = session_header() + audio_opus("recvonly", "0");
  auto r = validate_offer(offer, OfferRole::play, av());
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->media.size(), 1u);
  EXPECT_EQ(r->video, -1);
  EXPECT_TRUE(r->media[0].serve);
}

TEST(SdpOffer, WhepMissingTrackIsAnsweredInactive) {
  auto r = validate_offer(session_header() + video_chromium("recvonly") + audio_opus("recvonly"), OfferRole::play,
                          StreamTracks{true, false, 66});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->media[0].serve);
  EXPECT_FALSE(r->media[1].serve);
  EXPECT_NE(r->filtered_sdp.find("a=inactive"), std::string::npos);
  EXPECT_EQ(r->filtered_sdp.find("a=recvonly\r\na=rtcp-mux\r\na=rtpmap:111"), std::string::npos);
}

TEST(SdpOffer, WhepOfAnHevcStreamNeedsH265InTheOffer) {
  StreamTracks hevc = av();
  hevc.hevc = true;
  const std::string h265 = "m=video 9 UDP/TLS/RTP/SAVPF 102 49 50\r\n" + transport("0", "recvonly") +
                           "a=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=1;profile-level-id=42e01f\r\n"
                           "a=rtpmap:49 H265/90000\r\na=fmtp:49 level-id=93;profile-id=1;tier-flag=0;tx-mode=SRST\r\n"
                           "a=rtpmap:50 rtx/90000\r\na=fmtp:50 apt=49\r\n";
  auto r = validate_offer(session_header() + h265 + audio_opus("recvonly"), OfferRole::play, hevc);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->media[0].encoding, "H265");
  EXPECT_EQ(r->media[0].pt, 49);
  EXPECT_EQ(r->media[0].fmtp, "level-id=93;profile-id=1;tier-flag=0;tx-mode=SRST");
  EXPECT_EQ(r->filtered_sdp.find("H264"), std::string::npos) << r->filtered_sdp;
  // Without H265 in the offer: 422 with the reason, H.264 is not offered instead.
  auto no =
      validate_offer(session_header() + video_chromium("recvonly") + audio_opus("recvonly"), OfferRole::play, hevc);
  ASSERT_FALSE(no);
  EXPECT_EQ(server::http_status_for(no.error()), 422);
  EXPECT_NE(no.error().message.find("offers no H265"), std::string::npos) << no.error().message;
  // An H.264 stream still gets H.264 from the same offer.
  auto h264 = validate_offer(session_header() + h265 + audio_opus("recvonly"), OfferRole::play, av());
  ASSERT_TRUE(h264);
  EXPECT_EQ(h264->media[0].encoding, "H264");
  // WHIP (publish) is unchanged: H.264 only.
  auto whip =
      validate_offer(session_header() + video_chromium("sendonly") + audio_opus("sendonly"), OfferRole::publish, hevc);
  ASSERT_TRUE(whip);
  EXPECT_EQ(whip->media[0].encoding, "H264");
}

TEST(SdpOffer, WhepNothingInCommonIs422) {
  auto r =
      validate_offer(session_header() + audio_opus("recvonly", "0"), OfferRole::play, StreamTracks{true, false, 66});
  ASSERT_FALSE(r);
  EXPECT_EQ(server::http_status_for(r.error()), 422);
  EXPECT_NE(r.error().message.find("nothing in common"), std::string::npos);
}

TEST(SdpOffer, HostileOffersAreRefusedWithReasons) {
  struct Case {
    std::string name, body;
    OfferRole role;
    int status;
    std::string says;
  };
  std::string thousand = session_header();
  for (int i = 0; i < 1000; ++i) thousand += "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";
  std::string many_attrs = session_header() + video_h264("sendonly", "42e01f");
  for (int i = 0; i < 2000; ++i) many_attrs += "a=x-junk:" + std::to_string(i) + "\r\n";
  const std::vector<Case> cases = {
      {"empty", "", OfferRole::publish, 400, "empty"},
      {"blank", " \r\n\r\n", OfferRole::play, 400, "empty"},
      {"garbage", "hello, this is not SDP at all", OfferRole::publish, 400, "v=0"},
      {"binary", std::string("v=0\r\n\0\x01\x02", 8), OfferRole::publish, 400, "NUL"},
      {"no m-line", session_header(), OfferRole::play, 400, "no m-line"},
      {"vp8 only", session_header() + video_vp8_only("sendonly"), OfferRole::publish, 422, "VP8"},
      {"vp8 only play", session_header() + video_vp8_only("recvonly"), OfferRole::play, 422, "H.264"},
      {"pcmu only", session_header() + audio_pcmu_only("sendonly", "0"), OfferRole::publish, 422, "Opus"},
      {"recvonly whip", session_header() + video_h264("recvonly", "42e01f"), OfferRole::publish, 422, "WHIP"},
      {"sendonly whep", session_header() + video_h264("sendonly", "42e01f"), OfferRole::play, 422, "WHEP"},
      {"two video", session_header() + video_h264("sendonly", "42e01f", "0") + video_h264("sendonly", "42e01f", "1"),
       OfferRole::publish, 422, "more than one"},
      {"thousand m-lines", thousand, OfferRole::play, 400, "too many m-lines"},
      {"many attributes", many_attrs, OfferRole::publish, 400, "too many attributes"},
      {"huge", session_header() + std::string(200000, 'x'), OfferRole::publish, 413, "too large"},
      {"datachannel",
       session_header() + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n" + transport("0", "sendrecv"),
       OfferRole::play, 422, "data channels"},
      {"plain rtp",
       "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n",
       OfferRole::publish, 400, "not WebRTC"},
      {"no ice",
       "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n"
       "a=rtpmap:96 H264/90000\r\n",
       OfferRole::publish, 400, "ICE"},
      {"no mid",
       "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
       "a=rtpmap:96 H264/90000\r\n",
       OfferRole::publish, 400, "mid"},
      {"bad pt", session_header() + "m=video 9 UDP/TLS/RTP/SAVPF 999\r\n" + transport("0", "sendonly"),
       OfferRole::publish, 400, "0..127"},
      {"mode 0 only play",
       session_header() + "m=video 9 UDP/TLS/RTP/SAVPF 100\r\n" + transport("0", "recvonly") +
           "a=rtpmap:100 H264/90000\r\na=fmtp:100 profile-level-id=42e01f\r\n",
       OfferRole::play, 422, "packetization-mode"},
  };
  for (const auto& c : cases) {
    auto r = validate_offer(c.body, c.role, av());
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(server::http_status_for(r.error()), c.status) << c.name << ": " << r.error().message;
    EXPECT_NE(r.error().message.find(c.says), std::string::npos) << c.name << ": " << r.error().message;
  }
}

TEST(SdpOffer, ProfileHelpers) {
  H264Profile p;
  ASSERT_TRUE(H264Profile::parse("42e01f", &p));
  EXPECT_EQ(p.profile_idc, 0x42);
  EXPECT_EQ(p.iop, 0xe0);
  EXPECT_EQ(p.level_idc, 0x1f);
  EXPECT_FALSE(H264Profile::parse("42e0", &p));
  EXPECT_FALSE(H264Profile::parse("zz0000", &p));
  EXPECT_EQ(h264_profile_idc_from_name("constrained-baseline"), 66);
  EXPECT_EQ(h264_profile_idc_from_name("high"), 100);
  EXPECT_EQ(h264_profile_idc_from_name("main"), 77);
  EXPECT_EQ(h264_profile_idc_from_name("what"), 0);
}

}  // namespace
}  // namespace estuary::webrtc
