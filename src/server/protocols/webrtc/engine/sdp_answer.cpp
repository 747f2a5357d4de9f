// Owns: the shared engine's SDP answer (see sdp_answer.h).
#include "server/protocols/webrtc/engine/sdp_answer.h"

#include <sstream>

#include "server/protocols/webrtc/engine/twcc.h"

namespace estuary::webrtc::engine {
namespace {

// Value of the first "a=name:" line, or "".
std::string attribute(std::string_view sdp, std::string_view name) {
  size_t pos = 0;
  while (pos < sdp.size()) {
    size_t end = sdp.find('\n', pos);
    if (end == std::string_view::npos) end = sdp.size();
    std::string_view line = sdp.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > name.size() + 3 && line.substr(0, 2) == "a=" && line.substr(2, name.size()) == name &&
        line[2 + name.size()] == ':')
      return std::string(line.substr(3 + name.size()));
    pos = end + 1;
  }
  return "";
}

}  // namespace

Result<OfferCredentials> offer_credentials(std::string_view sdp) {
  OfferCredentials c;
  c.ufrag = attribute(sdp, "ice-ufrag");
  c.pwd = attribute(sdp, "ice-pwd");
  c.fingerprint = attribute(sdp, "fingerprint");
  c.setup = attribute(sdp, "setup");
  auto bad = [](const std::string& m) { return Error{m, ErrorReason::invalid, "webrtc"}; };
  if (c.ufrag.empty() || c.ufrag.size() > 256 || c.pwd.size() < 22 || c.pwd.size() > 256)
    return bad("the offer lacks valid ICE credentials (a=ice-ufrag, a=ice-pwd)");
  if (c.fingerprint.find(' ') == std::string::npos || c.fingerprint.size() > 200)
    return bad("the offer lacks a DTLS fingerprint (a=fingerprint)");
  if (c.setup == "passive") return bad("the offer is DTLS passive; the server is passive too (a=setup)");
  return c;
}

std::string build_answer(const OfferPlan& plan, const AnswerParams& p) {
  std::ostringstream s;
  s << "v=0\r\no=- " << (uint64_t(p.video_ssrc) << 16 ^ p.audio_ssrc) << " 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
  s << "a=ice-lite\r\n";
  std::string bundle;
  for (const MediaPlan& m : plan.media)
    if (m.serve) bundle += " " + m.mid;
  if (!bundle.empty()) s << "a=group:BUNDLE" << bundle << "\r\n";
  if (!p.receive) s << "a=msid-semantic: WMS estuary\r\n";
  for (const MediaPlan& m : plan.media) {
    const bool video = m.kind == "video";
    const int pt = m.pt >= 0 ? m.pt : 0;
    s << "m=" << m.kind << " " << (m.serve ? 9 : 0) << " UDP/TLS/RTP/SAVPF " << pt << "\r\n";
    s << "c=IN IP4 0.0.0.0\r\n";
    s << "a=mid:" << m.mid << "\r\n";
    if (!m.serve) {
      s << "a=inactive\r\n";
      continue;
    }
    s << "a=ice-ufrag:" << p.ufrag << "\r\na=ice-pwd:" << p.pwd << "\r\n";
    s << "a=fingerprint:sha-256 " << p.fingerprint << "\r\na=setup:passive\r\n";
    s << (p.receive ? "a=recvonly" : "a=sendonly") << "\r\na=rtcp-mux\r\n";
    if (video && m.encoding == "H265") {
      // The offer's own parameters (profile-id, tier-flag, level-id, tx-mode) are echoed: the stream is
      // sent as published, and the browser decodes what it said it can.
      s << "a=rtpmap:" << pt << " H265/90000\r\n";
      s << "a=rtcp-fb:" << pt << " nack\r\na=rtcp-fb:" << pt << " nack pli\r\na=rtcp-fb:" << pt << " ccm fir\r\n";
      if (!m.fmtp.empty()) s << "a=fmtp:" << pt << " " << m.fmtp << "\r\n";
    } else if (video) {
      s << "a=rtpmap:" << pt << " H264/90000\r\n";
      s << "a=rtcp-fb:" << pt << " nack\r\na=rtcp-fb:" << pt << " nack pli\r\na=rtcp-fb:" << pt << " ccm fir\r\n";
      s << "a=fmtp:" << pt << " level-asymmetry-allowed=1;packetization-mode=1;profile-level-id="
        << (m.profile_level_id.empty() ? "42e01f" : m.profile_level_id) << "\r\n";
    } else {
      s << "a=rtpmap:" << pt << " opus/48000/2\r\n";
      s << "a=fmtp:" << pt << " minptime=10;useinbandfec=1\r\n";
    }
    if (p.receive && p.twcc && m.twcc_ext > 0 && m.transport_cc) {
      s << "a=extmap:" << m.twcc_ext << " " << kTwccExtensionUri << "\r\n";
      s << "a=rtcp-fb:" << pt << " transport-cc\r\n";
    }
    const uint32_t ssrc = video ? p.video_ssrc : p.audio_ssrc;
    if (!p.receive) {
      s << "a=msid:estuary " << m.kind << "\r\n";
      s << "a=ssrc:" << ssrc << " cname:" << p.cname << "\r\n";
      s << "a=ssrc:" << ssrc << " msid:estuary " << m.kind << "\r\n";
    }
    int foundation = 1;
    for (const std::string& ip : p.port > 0 ? p.addresses : std::vector<std::string>{}) {
      const bool v6 = ip.find(':') != std::string::npos;
      s << "a=candidate:" << foundation << " 1 udp " << (2130706431 - foundation) << " " << ip << " " << p.port
        << " typ host generation 0\r\n";
      (void)v6;
      ++foundation;
    }
    for (size_t i = 0; p.tcp_port > 0 && i < p.addresses.size(); ++i, ++foundation)
      s << "a=candidate:" << foundation << " 1 tcp " << (1518280447 - foundation) << " " << p.addresses[i] << " "
        << p.tcp_port << " typ host tcptype passive generation 0\r\n";
    s << "a=end-of-candidates\r\n";
  }
  return s.str();
}

}  // namespace estuary::webrtc::engine
