// Owns: WHIP/WHEP offer validation and filtering (see sdp_offer.h).
#include "server/protocols/webrtc/sdp_offer.h"

#include <gst/sdp/sdp.h>

#include <charconv>
#include <cstring>
#include <optional>

namespace estuary::webrtc {
namespace {

Error bad(std::string message) { return Error{std::move(message), ErrorReason::invalid, "webrtc"}; }
Error unusable(std::string message) { return Error{std::move(message), ErrorReason::unprocessable, "webrtc"}; }

// Owns a parsed GstSDPMessage.
struct SdpMessage {
  GstSDPMessage* msg = nullptr;
  ~SdpMessage() {
    if (msg) gst_sdp_message_free(msg);
  }
};

std::optional<int> parse_int(std::string_view text) {
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = g_ascii_tolower(c);
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = g_ascii_toupper(c);
  return out;
}

// Raw-text limits, before the parser allocates anything per line.
Status check_raw(std::string_view body, const OfferLimits& limits) {
  if (body.size() > limits.max_bytes)
    return Error{
        "offer too large (" + std::to_string(body.size()) + " bytes, limit " + std::to_string(limits.max_bytes) + ")",
        ErrorReason::too_large, "webrtc"};
  size_t start = 0;
  while (start < body.size() && g_ascii_isspace(body[start])) ++start;
  if (start == body.size()) return bad("empty offer: the body must be an SDP offer (application/sdp)");
  if (body.substr(start, 3) != "v=0") return bad("not an SDP offer: it must begin with v=0");
  if (body.find('\0') != std::string_view::npos) return bad("malformed SDP: NUL byte in the offer");
  int media = 0, attributes = 0;
  size_t pos = start;
  while (pos < body.size()) {
    size_t end = body.find('\n', pos);
    if (end == std::string_view::npos) end = body.size();
    std::string_view line = body.substr(pos, end - pos);
    if (line.substr(0, 2) == "m=") ++media;
    if (line.substr(0, 2) == "a=") ++attributes;
    pos = end + 1;
  }
  if (media == 0) return bad("malformed SDP: the offer has no m-line");
  if (media > limits.max_media)
    return bad("too many m-lines (" + std::to_string(media) + ", limit " + std::to_string(limits.max_media) + ")");
  if (attributes > limits.max_attributes)
    return bad("too many attributes (" + std::to_string(attributes) + ", limit " +
               std::to_string(limits.max_attributes) + ")");
  return ok_status();
}

const char* media_attr(const GstSDPMessage* msg, const GstSDPMedia* media, const char* key) {
  const char* v = gst_sdp_media_get_attribute_val(media, key);
  return v ? v : gst_sdp_message_get_attribute_val(msg, key);
}

std::string direction_of(const GstSDPMedia* media) {
  for (const char* d : {"sendonly", "recvonly", "sendrecv", "inactive"})
    if (gst_sdp_media_get_attribute_val(media, d)) return d;
  return "sendrecv";
}

struct Codec {
  int pt = -1;
  std::string name;  // upper case
  int clock_rate = 0;
  std::string fmtp;  // parameters after "<pt> "
};

// The value of key in an fmtp parameter list ("a=1;b=2"), or "".
std::string fmtp_param(std::string_view fmtp, std::string_view key) {
  size_t pos = 0;
  while (pos <= fmtp.size()) {
    size_t end = fmtp.find(';', pos);
    if (end == std::string_view::npos) end = fmtp.size();
    std::string_view item = fmtp.substr(pos, end - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    size_t eq = item.find('=');
    if (eq != std::string_view::npos && lower(item.substr(0, eq)) == key) return std::string(item.substr(eq + 1));
    pos = end + 1;
  }
  return "";
}

// rtpmap and fmtp of every payload type listed on the m-line (static ones without rtpmap are skipped).
Result<std::vector<Codec>> codecs_of(const GstSDPMedia* media, int index, const OfferLimits& limits) {
  const guint n = gst_sdp_media_formats_len(media);
  if (n == 0) return bad("m-line " + std::to_string(index) + " lists no payload type");
  if (int(n) > limits.max_formats_per_media)
    return bad("m-line " + std::to_string(index) + " lists too many payload types (" + std::to_string(n) + ")");
  std::vector<Codec> out;
  for (guint i = 0; i < n; ++i) {
    std::string_view fmt = gst_sdp_media_get_format(media, i);
    auto pt = parse_int(fmt);
    if (!pt || *pt < 0 || *pt > 127)
      return bad("m-line " + std::to_string(index) + ": payload type \"" + std::string(fmt) + "\" is not 0..127");
    Codec c;
    c.pt = *pt;
    for (guint a = 0; a < gst_sdp_media_attributes_len(media); ++a) {
      const GstSDPAttribute* attr = gst_sdp_media_get_attribute(media, a);
      if (!attr->key || !attr->value) continue;
      std::string_view value = attr->value;
      size_t sp = value.find(' ');
      if (sp == std::string_view::npos || value.substr(0, sp) != fmt) continue;
      std::string_view rest = value.substr(sp + 1);
      if (std::strcmp(attr->key, "rtpmap") == 0) {
        size_t slash = rest.find('/');
        c.name = upper(rest.substr(0, slash));
        if (slash != std::string_view::npos) {
          std::string_view rate = rest.substr(slash + 1);
          rate = rate.substr(0, rate.find('/'));
          c.clock_rate = parse_int(rate).value_or(0);
        }
      } else if (std::strcmp(attr->key, "fmtp") == 0) {
        c.fmtp = std::string(rest);
      }
    }
    if (!c.name.empty()) out.push_back(std::move(c));
  }
  return out;
}

bool profile_matches(const H264Profile& offered, int stream_idc) {
  if (stream_idc == 0) return false;
  return offered.profile_idc == stream_idc;
}

// Adds a video codec name the server does not use to the "only ..." list of a refusal (repair and
// retransmission formats left out, each name once).
void note_other_video(std::string& others, const std::string& name) {
  if (name != "RTX" && name != "RED" && name != "ULPFEC" && name != "FLEXFEC-03" &&
      others.find(name) == std::string::npos)
    others += (others.empty() ? "" : ", ") + name;
}

// WHEP of an HEVC stream: the offer's first H265/90000 entry (RFC 7798; Chromium 136+ offers it where
// a hardware decoder exists, Safari does), else 422: the stream is not transcoded to H.264.
Result<MediaPlan> choose_hevc(const std::vector<Codec>& codecs, MediaPlan plan) {
  std::string others;
  for (const Codec& c : codecs) {
    if (c.name == "H265" && c.clock_rate == 90000) {
      plan.pt = c.pt;
      plan.encoding = "H265";
      plan.clock_rate = 90000;
      plan.fmtp = c.fmtp;
      return plan;
    }
    note_other_video(others, c.name);
  }
  return unusable("m-line " + std::to_string(plan.index) + " (video) offers no H265" +
                  (others.empty() ? "" : " (only " + others + ")") +
                  ": the stream is H.265 (HEVC), which is sent as it is, not transcoded; play it in a browser "
                  "that decodes H.265 (Chromium 136+ with a hardware decoder, Safari) or publish H.264");
}

// Chooses the H.264 payload type of a video m-line. publish: the client's first packetization-mode=1
// entry (its preference), else its first H.264. play: packetization-mode=1 is required (FU-A
// fragments large NAL units); a profile equal to the stream's wins, then level-asymmetry-allowed.
Result<MediaPlan> choose_video(const std::vector<Codec>& codecs, MediaPlan plan, OfferRole role,
                               const StreamTracks& tracks, std::string* note) {
  if (role == OfferRole::play && tracks.hevc) return choose_hevc(codecs, std::move(plan));
  const Codec* best = nullptr;
  int best_score = -1;
  bool any_h264 = false;
  std::string others;
  for (const Codec& c : codecs) {
    if (c.name != "H264" || c.clock_rate != 90000) {
      note_other_video(others, c.name);
      continue;
    }
    any_h264 = true;
    const std::string pm = fmtp_param(c.fmtp, "packetization-mode");
    const bool fu_a = pm == "1";
    if (role == OfferRole::play && !fu_a) continue;
    int score = fu_a ? 100 : 0;
    H264Profile p;
    if (H264Profile::parse(fmtp_param(c.fmtp, "profile-level-id"), &p) && profile_matches(p, tracks.h264_profile_idc))
      score += 10;
    if (fmtp_param(c.fmtp, "level-asymmetry-allowed") == "1") score += 1;
    if (role == OfferRole::publish) score = fu_a ? 1 : 0;  // first entry of the best kind
    if (score > best_score) {
      best = &c;
      best_score = score;
    }
  }
  const std::string where = "m-line " + std::to_string(plan.index) + " (video)";
  if (!any_h264)
    return unusable(where + " offers no H.264" + (others.empty() ? "" : " (only " + others + ")") +
                    ": this server sends and receives H.264 video only; VP8/VP9/AV1 are not transcoded");
  if (!best) return unusable(where + ": H.264 is offered only with packetization-mode=0; mode 1 is required");
  plan.pt = best->pt;
  plan.encoding = "H264";
  plan.clock_rate = 90000;
  plan.profile_level_id = fmtp_param(best->fmtp, "profile-level-id");
  plan.level_asymmetry = fmtp_param(best->fmtp, "level-asymmetry-allowed") == "1";
  if (role == OfferRole::play) {
    H264Profile p;
    const bool parsed = H264Profile::parse(plan.profile_level_id, &p);
    if (tracks.h264_profile_idc && (!parsed || p.profile_idc != tracks.h264_profile_idc))
      *note = "the offer has no H.264 profile " + std::to_string(tracks.h264_profile_idc) +
              "; the stream is sent as profile-level-id " +
              (plan.profile_level_id.empty() ? "(none)" : plan.profile_level_id) +
              " (decoders accept it; re-encode upstream if a client refuses)";
  }
  return plan;
}

Result<MediaPlan> choose_audio(const std::vector<Codec>& codecs, MediaPlan plan) {
  std::string others;
  for (const Codec& c : codecs) {
    if (c.name == "OPUS" && c.clock_rate == 48000) {
      plan.pt = c.pt;
      plan.encoding = "OPUS";
      plan.clock_rate = 48000;
      return plan;
    }
    if (c.name != "TELEPHONE-EVENT" && c.name != "CN" && c.name != "RED" && others.find(c.name) == std::string::npos)
      others += (others.empty() ? "" : ", ") + c.name;
  }
  return unusable("m-line " + std::to_string(plan.index) + " (audio): no common audio codec (the server uses Opus" +
                  (others.empty() ? ")" : "; offered: " + others + ")"));
}

// The offer's transport-wide congestion control on an m-line: the extmap id of the extension and whether
// transport-cc feedback is offered for the chosen payload type.
void note_twcc(const GstSDPMedia* media, MediaPlan& plan) {
  const std::string pt = std::to_string(plan.pt);
  for (guint a = 0; a < gst_sdp_media_attributes_len(media); ++a) {
    const GstSDPAttribute* attr = gst_sdp_media_get_attribute(media, a);
    if (!attr->key || !attr->value) continue;
    std::string_view key = attr->key, value = attr->value;
    const size_t sp = value.find(' ');
    if (sp == std::string_view::npos) continue;
    std::string_view first = value.substr(0, sp), rest = value.substr(sp + 1);
    if (key == "extmap" &&
        rest.substr(0, rest.find(' ')) == "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01") {
      auto id = parse_int(first.substr(0, first.find('/')));
      if (id && *id >= 1 && *id <= 14) plan.twcc_ext = *id;  // one-byte header ids only
    } else if (key == "rtcp-fb" && (first == pt || first == "*") && rest == "transport-cc") {
      plan.transport_cc = true;
    }
  }
}

// Keeps only the chosen payload type on the m-line, and marks it inactive when it is not served.
void filter_media(GstSDPMedia* media, const MediaPlan& plan) {
  const std::string keep = std::to_string(plan.pt);
  for (int i = int(gst_sdp_media_formats_len(media)) - 1; i >= 0; --i)
    if (keep != gst_sdp_media_get_format(media, guint(i))) gst_sdp_media_remove_format(media, guint(i));
  for (int i = int(gst_sdp_media_attributes_len(media)) - 1; i >= 0; --i) {
    const GstSDPAttribute* attr = gst_sdp_media_get_attribute(media, guint(i));
    if (!attr->key) continue;
    std::string_view key = attr->key;
    std::string_view value = attr->value ? attr->value : "";
    bool drop = false;
    if (key == "rtpmap" || key == "fmtp" || key == "rtcp-fb") {
      std::string_view pt = value.substr(0, value.find(' '));
      drop = pt != keep && pt != "*";
    } else if (key == "ssrc-group") {
      drop = true;  // FID/FEC groups name the retransmission streams that were just removed
    } else if (!plan.serve && (key == "sendonly" || key == "recvonly" || key == "sendrecv")) {
      drop = true;
    }
    if (drop) gst_sdp_media_remove_attribute(media, guint(i));
  }
  if (!plan.serve) gst_sdp_media_add_attribute(media, "inactive", nullptr);
}

}  // namespace

bool H264Profile::parse(std::string_view hex, H264Profile* out) {
  if (hex.size() != 6) return false;
  int v[3];
  for (int i = 0; i < 3; ++i) {
    auto [ptr, ec] = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, v[i], 16);
    if (ec != std::errc() || ptr != hex.data() + 2 * i + 2) return false;
  }
  out->profile_idc = v[0];
  out->iop = v[1];
  out->level_idc = v[2];
  return true;
}

int h264_profile_idc_from_name(std::string_view name) {
  if (name == "baseline" || name == "constrained-baseline") return 66;
  if (name == "main") return 77;
  if (name == "extended") return 88;
  if (name.substr(0, 4) == "high") {
    if (name == "high" || name == "progressive-high" || name == "constrained-high") return 100;
    if (name.substr(0, 7) == "high-10") return 110;
    if (name.substr(0, 9) == "high-4:2:2") return 122;
    if (name.substr(0, 9) == "high-4:4:4") return 244;
  }
  return 0;
}

Result<OfferPlan> validate_offer(std::string_view body, OfferRole role, const StreamTracks& tracks,
                                 const OfferLimits& limits) {
  Status raw = check_raw(body, limits);
  if (!raw) return raw.error();
  SdpMessage sdp;
  std::string text(body);
  if (gst_sdp_message_new_from_text(text.c_str(), &sdp.msg) != GST_SDP_OK || !sdp.msg)
    return bad("malformed SDP: the parser refused the offer");
  const guint n = gst_sdp_message_medias_len(sdp.msg);
  if (n == 0) return bad("malformed SDP: no m-line could be parsed");

  OfferPlan plan;
  std::string note;
  for (guint i = 0; i < n; ++i) {
    const GstSDPMedia* media = gst_sdp_message_get_media(sdp.msg, i);
    const std::string where = "m-line " + std::to_string(i);
    const std::string kind = media->media ? media->media : "";
    if (kind == "application")
      return unusable(where + ": data channels (m=application) are not supported; offer audio and video only");
    if (kind != "audio" && kind != "video") return unusable(where + ": media \"" + kind + "\" is not audio or video");
    const std::string proto = media->proto ? media->proto : "";
    if (proto.find("SAVPF") == std::string::npos)
      return bad(where + ": protocol \"" + proto + "\" is not WebRTC (UDP/TLS/RTP/SAVPF)");
    if (gst_sdp_media_get_port(media) == 0 && !gst_sdp_media_get_attribute_val(media, "bundle-only"))
      return unusable(where + " is disabled (port 0)");
    MediaPlan mp;
    mp.index = int(i);
    mp.kind = kind;
    const char* mid = gst_sdp_media_get_attribute_val(media, "mid");
    if (!mid || !*mid) return bad(where + " has no a=mid");
    mp.mid = mid;
    const char* ufrag = media_attr(sdp.msg, media, "ice-ufrag");
    if (!ufrag || !*ufrag || !media_attr(sdp.msg, media, "ice-pwd"))
      return bad(where + " has no ICE credentials (a=ice-ufrag, a=ice-pwd)");
    if (plan.ice_ufrag.empty()) plan.ice_ufrag = ufrag;
    if (!media_attr(sdp.msg, media, "fingerprint")) return bad(where + " has no DTLS fingerprint (a=fingerprint)");
    mp.direction = direction_of(media);
    if (role == OfferRole::publish && mp.direction != "sendonly" && mp.direction != "sendrecv")
      return unusable(where + " is " + mp.direction + ": a WHIP offer must send media (sendonly)");
    if (role == OfferRole::play && mp.direction != "recvonly" && mp.direction != "sendrecv")
      return unusable(where + " is " + mp.direction + ": a WHEP offer must receive media (recvonly)");
    auto codecs = codecs_of(media, mp.index, limits);
    if (!codecs) return codecs.error();
    const bool video = kind == "video";
    if ((video ? plan.video : plan.audio) >= 0) return unusable(where + ": more than one " + kind + " m-line");
    Result<MediaPlan> chosen = video ? choose_video(*codecs, mp, role, tracks, &note) : choose_audio(*codecs, mp);
    if (!chosen) return chosen.error();
    if (role == OfferRole::play) chosen->serve = video ? tracks.video : tracks.audio;
    note_twcc(media, *chosen);
    (video ? plan.video : plan.audio) = int(plan.media.size());
    plan.media.push_back(std::move(*chosen));
  }
  if (role == OfferRole::play) {
    bool any = false;
    for (const MediaPlan& m : plan.media) any = any || m.serve;
    if (!any)
      return unusable(std::string("nothing in common: the stream has ") +
                      (tracks.video && tracks.audio ? "video and audio"
                       : tracks.video               ? "video only"
                       : tracks.audio               ? "audio only"
                                                    : "no tracks") +
                      " and the offer asks for none of it");
  }
  for (const MediaPlan& m : plan.media)
    filter_media(const_cast<GstSDPMedia*>(gst_sdp_message_get_media(sdp.msg, guint(m.index))), m);
  gchar* filtered = gst_sdp_message_as_text(sdp.msg);
  plan.filtered_sdp = filtered ? filtered : "";
  g_free(filtered);
  plan.note = std::move(note);
  return plan;
}

}  // namespace estuary::webrtc
