// Owns: the libFuzzer target of WHIP/WHEP offer validation (SDP parsing, codec and profile choice,
// the filtered offer). The first byte picks the role and the stream's tracks; the rest is the offer.
#include <cstdint>
#include <cstdlib>

#include "server/protocols/webrtc/sdp_offer.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  estuary::fuzz::FuzzInput in(data, size);
  uint8_t control = in.byte();
  auto role = (control & 1) ? estuary::webrtc::OfferRole::play : estuary::webrtc::OfferRole::publish;
  estuary::webrtc::StreamTracks tracks;
  tracks.video = control & 2;
  tracks.audio = control & 4;
  auto plan = estuary::webrtc::validate_offer(in.rest_text(), role, tracks);
  if (plan.ok()) {
    if (plan->video >= static_cast<int>(plan->media.size()) || plan->audio >= static_cast<int>(plan->media.size()))
      std::abort();
  }
  return 0;
}
