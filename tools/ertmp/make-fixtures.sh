#!/usr/bin/env bash
# Regenerates the E-RTMP replay fixtures of tests/e2e/fixtures (ertmp-hevc-aac.bin,
# ertmp-av1-opus.bin): a 2 s 160x120 15 fps test pattern with a tone is encoded by ffmpeg (libx265 +
# AAC; libaom-av1 + Opus), published once by estuary-ertmp-publish --capture to a throwaway Estuary on
# 127.0.0.1, and the client side of each session (handshake C0/C1/C2, connect, createStream, publish,
# SequenceStart, frames, deleteStream) is kept as it went on the wire. Needs a built tree (tools/build.sh).
# Usage: tools/ertmp/make-fixtures.sh [BUILD_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build}"
out="$root/tests/e2e/fixtures"
tmp="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$tmp"' EXIT
src=(-f lavfi -i testsrc2=size=160x120:rate=15 -f lavfi -i sine=frequency=440:sample_rate=48000 -t 2)
ffmpeg -nostdin -loglevel error "${src[@]}" -c:v libx265 -preset ultrafast \
  -x265-params keyint=15:log-level=error -b:v 150k -c:a aac -b:a 32k "$tmp/hevc.mp4"
ffmpeg -nostdin -loglevel error "${src[@]}" -c:v libaom-av1 -usage realtime -cpu-used 8 -b:v 150k -g 15 \
  -c:a libopus -b:a 24k "$tmp/av1.mkv"
port=$((20000 + RANDOM % 20000))
env ESTUARY_RTMP_PORT=$port ESTUARY_RTMP_ADDRESS=127.0.0.1 ESTUARY_HTTP_PORT=$((port + 1)) \
  ESTUARY_HTTP_ADDRESS=127.0.0.1 ESTUARY_API_PORT=$((port + 2)) ESTUARY_API_ADDRESS=127.0.0.1 \
  ESTUARY_RTSP_PORT=$((port + 3)) ESTUARY_RTSP_ADDRESS=127.0.0.1 ESTUARY_SRT_PORT=$((port + 4)) \
  ESTUARY_SRT_ADDRESS=127.0.0.1 ESTUARY_RTC_PORT=$((port + 5)) ESTUARY_RTC_INTERFACES=127.0.0.1 \
  ESTUARY_HTTP_HTTPS_PORT=$((port + 6)) ESTUARY_API_HTTPS_PORT=$((port + 7)) ESTUARY_RTMP_RTMPS_PORT=$((port + 8)) \
  "$build/src/server/estuary" >"$tmp/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$((port + 2))/api/v1/versions" >/dev/null && break
  sleep 0.2
done
pub="$build/tools/ertmp/estuary-ertmp-publish"
"$pub" --capture="$out/ertmp-hevc-aac.bin" "$tmp/hevc.mp4" "rtmp://127.0.0.1:$port/live/fixture"
"$pub" --capture="$out/ertmp-av1-opus.bin" "$tmp/av1.mkv" "rtmp://127.0.0.1:$port/live/fixture"
ls -l "$out"/ertmp-*.bin
