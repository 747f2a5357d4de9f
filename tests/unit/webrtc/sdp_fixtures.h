// Owns: SDP offers used by the WebRTC unit tests, shaped like Chromium's and GStreamer's offers
// (BUNDLE, ICE credentials, fingerprint, rtx, several H.264 profiles, VP8, Opus).
#pragma once

#include <string>

namespace estuary::webrtc::fixtures {

inline std::string session_header() {
  return "v=0\r\n"
         "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
         "s=-\r\n"
         "t=0 0\r\n"
         "a=group:BUNDLE 0 1\r\n"
         "a=msid-semantic: WMS\r\n";
}

inline std::string transport(const std::string& mid, const std::string& direction) {
  return "c=IN IP4 0.0.0.0\r\n"
         "a=rtcp:9 IN IP4 0.0.0.0\r\n"
         "a=ice-ufrag:AbCd\r\n"
         "a=ice-pwd:0123456789abcdefghijklmn\r\n"
         "a=ice-options:trickle\r\n"
         "a=fingerprint:sha-256 "
         "11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00\r\n"
         "a=setup:actpass\r\n"
         "a=mid:" +
         mid + "\r\na=" + direction + "\r\na=rtcp-mux\r\n";
}

// Video m-line with VP8 (96/97 rtx), H.264 42001f (102/103), 42e01f (106/107), 4d001f (108) and 640c1f (112).
inline std::string video_chromium(const std::string& direction, const std::string& mid = "0") {
  return "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 106 107 108 112\r\n" + transport(mid, direction) +
         "a=rtpmap:96 VP8/90000\r\n"
         "a=rtcp-fb:96 nack pli\r\n"
         "a=rtpmap:97 rtx/90000\r\n"
         "a=fmtp:97 apt=96\r\n"
         "a=rtpmap:102 H264/90000\r\n"
         "a=rtcp-fb:102 nack pli\r\n"
         "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n"
         "a=rtpmap:103 rtx/90000\r\n"
         "a=fmtp:103 apt=102\r\n"
         "a=rtpmap:106 H264/90000\r\n"
         "a=rtcp-fb:106 nack pli\r\n"
         "a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
         "a=rtpmap:107 rtx/90000\r\n"
         "a=fmtp:107 apt=106\r\n"
         "a=rtpmap:108 H264/90000\r\n"
         "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f\r\n"
         "a=rtpmap:112 H264/90000\r\n"
         "a=fmtp:112 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f\r\n"
         "a=ssrc-group:FID 1111 2222\r\n"
         "a=ssrc:1111 cname:abc\r\n"
         "a=ssrc:2222 cname:abc\r\n";
}

inline std::string video_vp8_only(const std::string& direction, const std::string& mid = "0") {
  return "m=video 9 UDP/TLS/RTP/SAVPF 96 98\r\n" + transport(mid, direction) +
         "a=rtpmap:96 VP8/90000\r\n"
         "a=rtpmap:98 VP9/90000\r\n";
}

inline std::string video_h264(const std::string& direction, const std::string& plid, const std::string& mid = "0",
                              int pt = 102) {
  const std::string p = std::to_string(pt);
  return "m=video 9 UDP/TLS/RTP/SAVPF " + p + "\r\n" + transport(mid, direction) + "a=rtpmap:" + p +
         " H264/90000\r\na=fmtp:" + p + " packetization-mode=1;profile-level-id=" + plid + "\r\n";
}

inline std::string audio_opus(const std::string& direction, const std::string& mid = "1") {
  return "m=audio 9 UDP/TLS/RTP/SAVPF 111 9 0 8 126\r\n" + transport(mid, direction) +
         "a=rtpmap:111 opus/48000/2\r\n"
         "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
         "a=rtpmap:9 G722/8000\r\n"
         "a=rtpmap:0 PCMU/8000\r\n"
         "a=rtpmap:8 PCMA/8000\r\n"
         "a=rtpmap:126 telephone-event/8000\r\n";
}

inline std::string audio_pcmu_only(const std::string& direction, const std::string& mid = "1") {
  return "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\n" + transport(mid, direction) + "a=rtpmap:0 PCMU/8000\r\n";
}

}  // namespace estuary::webrtc::fixtures
