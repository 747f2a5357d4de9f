// Owns: the media elements around a session's webrtcbin (and the WHIP ingest chains the shared engine's
// ingest reuses, see rtc_ingest.h), built to match a validated offer plan.
//   WHIP (ingest): webrtcbin src pads ─ H.264: rtph264depay ! h264parse (avc) ──────────────┐
//                                     └ Opus: rtpopusdepay ! opusdec ! AAC encode ! aacparse ┴ estuarysink stream=app/x
//     The chains and the bus sink's pads exist before negotiation (so the stream's track count is
//     known); webrtcbin's pad-added only links a ready chain, on its own thread.
//   WHEP (viewer): estuarysrc stream=app/x@rtc (locked until the peer connects, so the first thing
//     sent is the GOP cache's keyframe) ─ video: queue ! rtph264pay pt=<offer> ! capssetter
//     (profile-level-id of the offer) ─┐ audio: queue ! rtpopuspay pt=<offer> ─ webrtcbin sink_<m-line>
//     pads, whose transceivers carry the offer's codec as codec-preferences and send only.
// Only m-lines the plan serves are linked (design notes §2.7).
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "common/gobject_ptr.h"
#include "common/result.h"
#include "server/protocols/webrtc/sdp_offer.h"

namespace estuary::webrtc {

struct MediaCounters {
  std::atomic<uint64_t> bytes_sent{0};         // RTP bytes handed to webrtcbin (WHEP)
  std::atomic<uint64_t> keyframe_requests{0};  // PLI/FIR from the viewer (WHEP)
};

struct WhipMedia {
  Ref<GstElement> video_depay;  // force-key-unit events are sent upstream from its src pad
  Ref<GstElement> audio_depay;
};

// Adds the ingest chains for plan (depayloader … estuarysink stream=stream_key) to pipeline, unlinked
// at their heads: media.video_depay / audio_depay take RTP (webrtcbin's pads or the shared engine's
// rtpjitterbuffer).
Result<WhipMedia> build_whip_chains(GstElement* pipeline, const OfferPlan& plan, const std::string& stream_key,
                                    uint64_t gop_cache_bytes);

// Adds the ingest chains for plan to pipeline and links webrtcbin's future src pads to them.
Result<WhipMedia> build_whip_media(GstElement* pipeline, GstElement* webrtc, const OfferPlan& plan,
                                   const std::string& stream_key, uint64_t gop_cache_bytes);
// Asks the publisher for a keyframe (PLI/FIR through webrtcbin's RTP session).
void request_keyframe(const WhipMedia& media);

struct WhepMedia {
  Ref<GstElement> source;  // the locked estuarysrc
};

// Adds the viewer chains for plan, reading bus stream `feed`. on_keyframe_request runs on a
// streaming thread when the viewer asks for a keyframe (it must only post).
Result<WhepMedia> build_whep_media(GstElement* pipeline, GstElement* webrtc, const OfferPlan& plan,
                                   const std::string& feed, uint64_t queue_ns, std::shared_ptr<MediaCounters> counters,
                                   std::function<void()> on_keyframe_request);
// Starts reading the feed (call once the peer is connected).
void start_whep_media(WhepMedia& media);

}  // namespace estuary::webrtc
