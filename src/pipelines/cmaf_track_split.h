// Owns: taking one track out of multiplexed CMAF fragments: from a run of moof+mdat pairs (as
// write_fragment makes them: one traf per track, default-base-is-moof, trun data offsets), the same
// fragments carrying only that track's traf and samples, renumbered as track 1 so they play with
// the one-track init segment write_init_segment({track}) makes. MPEG-DASH serves audio and video as
// separate adaptation sets (dash.js and the DASH-IF guidelines want one media component per
// representation) from the same muxed parts HLS serves.
// Must not know: GStreamer, HTTP, playlists. Sans-IO.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace estuary::pipelines::cmaf {

// The fragments of `track_id` (1-based) in data[0..size), renumbered as track 1. A fragment without
// that track is left out, so the result may be empty. false (and `error` set) for bytes that are not
// a well-formed run of moof+mdat pairs; nothing is read outside data[0..size).
bool extract_track(const uint8_t* data, size_t size, uint32_t track_id, std::vector<uint8_t>* out, std::string* error);

// The bytes each track takes in data[0..size) as extract_track serves it (per fragment with the
// track: its moof with mfhd and that traf, its mdat header and samples): (*bytes)[id - 1] grows by
// track id's share, for ids 1..bytes->size() (others are not counted). false (and `error` set) for
// bytes extract_track refuses.
bool track_bytes(const uint8_t* data, size_t size, std::vector<uint64_t>* bytes, std::string* error);

}  // namespace estuary::pipelines::cmaf
