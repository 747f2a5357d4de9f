// Owns: the WHIP publisher side of SharedEngine (see shared_engine.h): SRTP unprotect and payload-type
// demultiplexing of a publisher's RTP, its transport-wide sequence numbers and the transport-cc feedback built from
// them (every kTwccFeedbackUs), its receiver reports, and the PLI/NACK outbox.
#include <cstring>
#include <map>

#include "server/protocols/webrtc/engine/engine_session.h"
#include "server/protocols/webrtc/engine/rtp_receiver.h"
#include "server/protocols/webrtc/engine/shared_engine.h"

namespace estuary::webrtc::engine {

void SharedEngine::receive_rtp(Viewer& v, uint8_t* data, size_t len, int64_t now) {
  int n = int(len);
  if (!v.dtls->unprotect_rtp(data, &n)) return;
  RtpHeader h;
  if (!parse_rtp_header(data, size_t(n), &h)) return;
  const bool video = h.pt == v.video.pt;
  if (!video && h.pt != v.audio.pt) return;  // a payload type the answer did not accept
  const bool first_video = video && v.rx.ssrc_of_pt(h.pt) == 0;
  if (!v.rx.on_rtp(h, video ? 90000 : 48000, now)) return;
  uint16_t twcc_seq;
  const int ext = video ? v.video.twcc_ext : v.audio.twcc_ext;
  if (ext && rtp_extension_u16(data, size_t(n), ext, &twcc_seq)) v.twcc.on_packet(twcc_seq, now);
  if (first_video) send_pli(v, now);  // its SSRC is known now: ask for a keyframe at once
  ViewerCounters& c = *v.counters;
  c.last_rx_us.store(now, std::memory_order_relaxed);
  c.packets_received.fetch_add(1, std::memory_order_relaxed);
  if (v.spec.on_rtp) v.spec.on_rtp(data, size_t(n), video);
}

void SharedEngine::publisher_reports(Viewer& v, int64_t now) {
  if (now >= v.next_twcc_us && v.twcc.pending()) {
    v.next_twcc_us = now + kTwccFeedbackUs;
    const uint8_t video_pt = uint8_t(v.video.pt >= 0 ? v.video.pt : 0);
    const uint32_t media = v.rx.ssrc_of_pt(video_pt) ? v.rx.ssrc_of_pt(video_pt)
                           : v.audio.pt >= 0         ? v.rx.ssrc_of_pt(uint8_t(v.audio.pt))
                                                     : 0;
    for (const auto& fb : v.twcc.feedback(v.video.ssrc ? v.video.ssrc : v.audio.ssrc, media)) {
      uint8_t pkt[kSlot];
      if (fb.size() + SRTP_MAX_TRAILER_LEN > sizeof pkt) continue;
      std::memcpy(pkt, fb.data(), fb.size());
      int out = int(fb.size());
      if (v.dtls->protect_rtcp(pkt, &out)) send_to(v, pkt, size_t(out));
    }
  }
  if (now < v.next_rr_us || v.rx.packets() == 0) return;
  v.next_rr_us = now + kReceiverReportUs;
  v.counters->packets_lost.store(v.rx.lost(), std::memory_order_relaxed);
  const auto rr = v.rx.receiver_report(v.video.ssrc ? v.video.ssrc : v.audio.ssrc, now);
  uint8_t pkt[kSlot];
  if (rr.size() + SRTP_MAX_TRAILER_LEN > sizeof pkt) return;
  std::memcpy(pkt, rr.data(), rr.size());
  int out = int(rr.size());
  if (v.dtls->protect_rtcp(pkt, &out)) send_to(v, pkt, size_t(out));
}

void SharedEngine::request_keyframe(const std::string& ufrag) {
  {
    std::lock_guard<std::mutex> lock(out_mu_);
    if (outbox_.size() >= kMaxOutbox) return;
    outbox_.push_back(Feedback{ufrag, true, 0, 0});
  }
  wake();
}

void SharedEngine::request_retransmission(const std::string& ufrag, uint32_t ssrc, uint16_t seq) {
  {
    std::lock_guard<std::mutex> lock(out_mu_);
    if (outbox_.size() >= kMaxOutbox) return;
    outbox_.push_back(Feedback{ufrag, false, ssrc, seq});
  }
  wake();
}

void SharedEngine::send_pli(Viewer& v, int64_t now) {
  const uint32_t media = v.video.pt >= 0 ? v.rx.ssrc_of_pt(uint8_t(v.video.pt)) : 0;
  if (!media || now - v.last_pli_us < kKeyframeRequestGapUs) return;
  v.last_pli_us = now;
  const auto pli = picture_loss(v.video.ssrc, media);
  uint8_t pkt[kSlot];
  std::memcpy(pkt, pli.data(), pli.size());
  int out = int(pli.size());
  if (v.dtls->protect_rtcp(pkt, &out)) send_to(v, pkt, size_t(out));
  v.counters->plis.fetch_add(1, std::memory_order_relaxed);
}

// Engine thread, under mu_: NACKs of one source go out as one packet.
void SharedEngine::drain_outbox(int64_t now) {
  std::vector<Feedback> items;
  {
    std::lock_guard<std::mutex> lock(out_mu_);
    items.swap(outbox_);
  }
  std::map<std::pair<std::string, uint32_t>, std::vector<uint16_t>> nacks;
  for (const Feedback& f : items) {
    auto it = by_ufrag_.find(f.ufrag);
    if (it == by_ufrag_.end() || !it->second->connected || !it->second->spec.publisher) continue;
    Viewer& v = *it->second;
    if (!f.keyframe) {
      const uint32_t ssrc = f.ssrc ? f.ssrc : v.video.pt >= 0 ? v.rx.ssrc_of_pt(uint8_t(v.video.pt)) : 0;
      if (ssrc) nacks[{f.ufrag, ssrc}].push_back(f.seq);
      continue;
    }
    send_pli(v, now);
  }
  for (auto& [key, seqs] : nacks) {
    Viewer& v = *by_ufrag_[key.first];
    const auto nack = generic_nack(v.video.ssrc ? v.video.ssrc : v.audio.ssrc, key.second, seqs, 200);
    uint8_t pkt[kSlot];
    std::memcpy(pkt, nack.data(), nack.size());
    int out = int(nack.size());
    if (v.dtls->protect_rtcp(pkt, &out)) send_to(v, pkt, size_t(out));
    v.counters->nacks.fetch_add(seqs.size(), std::memory_order_relaxed);
  }
}

}  // namespace estuary::webrtc::engine
