// Owns: validation of WHIP/WHEP SDP offers before any webrtcbin sees them (design notes §2.7: an
// offer webrtcbin cannot match aborts the whole process in GStreamer 1.22). Pure: text in, a plan or
// an error with its HTTP status out. Bounded: body size, m-lines and attribute counts are checked on
// the raw text before GstSDPMessage parses it.
//
// The plan names, per m-line, the one payload type the server will use (H.264 for video, or H.265 to
// a WHEP viewer of an HEVC stream whose offer has it; Opus for audio), and `filtered_sdp` is the offer reduced to
// exactly those payload types: that text, not the client's, is given to webrtcbin, so its answer can only contain what
// the server built a sender or receiver for.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace estuary::webrtc {

struct OfferLimits {
  size_t max_bytes = 64 * 1024;
  int max_media = 8;               // m-lines
  int max_attributes = 1024;       // a= lines in the whole offer
  int max_formats_per_media = 64;  // payload types listed on one m-line
};

enum class OfferRole { publish, play };  // WHIP (client sends) or WHEP (client receives)

// H.264 profile-level-id (RFC 6184): profile_idc, profile-iop (constraint flags), level_idc.
struct H264Profile {
  int profile_idc = 0;
  int iop = 0;
  int level_idc = 0;
  static bool parse(std::string_view hex, H264Profile* out);  // "42e01f"
};

// The profile_idc of an H.264 caps `profile` string ("high" -> 100), or 0 if unknown.
int h264_profile_idc_from_name(std::string_view name);

struct MediaPlan {
  int index = 0;          // m-line index in the offer
  std::string kind;       // "video" or "audio"
  std::string mid;        // a=mid
  std::string direction;  // sendonly, recvonly, sendrecv, inactive
  int pt = -1;            // chosen payload type
  std::string encoding;   // "H264", "H265" (WHEP of an HEVC stream) or "OPUS"
  int clock_rate = 0;
  std::string profile_level_id;  // H.264 only, as offered ("" = none given)
  bool level_asymmetry = false;  // H.264 level-asymmetry-allowed=1
  std::string fmtp;              // H.265 only: the offered fmtp parameters (profile-id, level-id, ...)
  bool serve = true;             // false: answered inactive (the stream lacks this track)
  int twcc_ext = 0;              // a=extmap id of the transport-wide-cc extension (0 = not offered)
  bool transport_cc = false;     // a=rtcp-fb:<pt> transport-cc (or *) offered for the chosen payload type
};

struct OfferPlan {
  std::vector<MediaPlan> media;
  int video = -1;  // index into media of the video m-line, or -1
  int audio = -1;
  std::string filtered_sdp;  // the offer with only the chosen payload types (see header comment)
  std::string ice_ufrag;     // of the first m-line (or session level)
  std::string note;          // why a choice was made (profile fallback), for the log
};

// What a WHEP viewer can get from the stream (ignored for publish).
struct StreamTracks {
  bool video = false;
  bool audio = false;
  int h264_profile_idc = 0;  // 0 = unknown
  bool hevc = false;         // the video is H.265: answered H265 when the offer has it, else 422
};

// Validates `body` as an offer for `role`. Errors carry the HTTP status in Error::code: 400
// malformed or not a WebRTC offer, 413 too large, 422 nothing the server can send or receive.
Result<OfferPlan> validate_offer(std::string_view body, OfferRole role, const StreamTracks& tracks = {},
                                 const OfferLimits& limits = {});

}  // namespace estuary::webrtc
