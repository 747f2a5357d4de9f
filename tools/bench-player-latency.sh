#!/usr/bin/env bash
# Owns: the browser live-latency benchmark (issue #15's table). Runs the e2e_cmaf_browser test
# (headless Chromium with hls.js and dash.js through /players/, an RTMP publisher of a 640x360
# 25 fps test pattern with 1 s GOPs, the server on 127.0.0.1) for SECONDS of watching and prints the
# p50/p95 live latency each player reports against the wall clock (hls.js: now minus the
# EXT-X-PROGRAM-DATE-TIME of the frame on screen; dash.js: getCurrentLiveLatency(), from the MPD's
# availabilityStartTime), for:
#   lowlatency  LL-HLS in hls.js (lowLatencyMode) and low-latency DASH in dash.js, 2 s segments,
#               200 ms parts (the defaults);
#   classic     fMP4 HLS with 1 s segments in hls.js (no parts) and DASH without the chunked
#               open segment.
# The latency counts from the moment the frame reached the server (the program date time and the
# availabilityStartTime map media time to the wall clock by the part made soonest after its media);
# the publisher's encoder delay is not included.
#
# usage: tools/bench-player-latency.sh [SECONDS] (default 60)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
exe="$root/build/tests/e2e/e2e_cmaf_browser"
[[ -x "$exe" ]] || { echo "build first: ninja -C build tests/e2e/e2e_cmaf_browser" >&2; exit 1; }
export ESTUARY_SOURCE_ROOT="$root" ESTUARY_BUILD_ROOT="$root/build" ESTUARY_PLAYER_SECONDS="$seconds"
run() {
  local name="$1"
  shift
  echo "== $name ($seconds s of watching)"
  env "$@" "$exe" 2>/dev/null | grep -E "^(hls|dash): .*latency|FAILED|OK \]" || true
}
run lowlatency ESTUARY_HLS_VARIANT=lowlatency
run classic ESTUARY_HLS_VARIANT=fmp4 ESTUARY_HLS_TARGET_DURATION_S=1
