#!/usr/bin/env bash
# Owns: the soak test: for a given duration, one server on 127.0.0.1 sees publishers and players of
# every protocol connect, play and leave in cycles — RTMP publish, HTTP-FLV, HTTP-TS, HLS, SRT
# publish and play, WHEP, RTSP — plus API kicks and SIGHUP reloads, around one long-lived stream.
# Every 10 s it samples the server's RSS, open fds, threads and the API's client count, and at the
# end prints the samples and the trend after warm-up: RSS change in total and per cycle, and fds
# and threads against the first sample after warm-up.
#
# usage: tools/soak.sh [--duration SECONDS] [--warmup SECONDS] [--server PATH] [--keep]
#   --duration S   how long to run the cycles (default 600)
#   --warmup S     samples before this are not part of the trend (default 120)
#   --parallel N   cycles in flight at once (default 2)
# Environment: SOAK_BASE_PORT (default 21000): ports BASE..BASE+5 are used.
# The target (issue #18): after warm-up, RSS flat within +-5 % and fds/threads back to baseline.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
server="$root/build/src/server/estuary"
rtc="$root/build/tools/rtcclient/estuary-rtc"
duration=600
warmup=120
parallel=2
keep=0
base="${SOAK_BASE_PORT:-21000}"
rtmp_port=$base http_port=$((base + 1)) api_port=$((base + 2)) rtsp_port=$((base + 3)) srt_port=$((base + 4))

die() { echo "soak: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --parallel) parallel="$2"; shift 2 ;;
    --server) server="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) die "unknown option $1" ;;
  esac
done
[ -x "$server" ] || die "no server binary at $server (tools/build.sh)"
command -v ffmpeg >/dev/null || die "ffmpeg not found"

work="$(mktemp -d /tmp/estuary-soak.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ "$keep" -eq 0 ]; then rm -rf "$work"; else echo "soak: kept $work"; fi
}
trap cleanup EXIT

cd "$work"
env ESTUARY_RTMP_PORT=$rtmp_port ESTUARY_HTTP_PORT=$http_port ESTUARY_API_PORT=$api_port \
  ESTUARY_RTSP_PORT=$rtsp_port ESTUARY_SRT_PORT=$srt_port ESTUARY_RTC_PORT=$((base + 5)) ESTUARY_RTC_PORT_MIN=$((base + 100)) \
  ESTUARY_RTC_PORT_MAX=$((base + 600)) ESTUARY_HTTP_HTTPS_PORT=0 ESTUARY_API_HTTPS_PORT=0 ESTUARY_RTMP_RTMPS_PORT=0 \
  ESTUARY_RTMP_ADDRESS=127.0.0.1 ESTUARY_HTTP_ADDRESS=127.0.0.1 ESTUARY_API_ADDRESS=127.0.0.1 \
  ESTUARY_RTSP_ADDRESS=127.0.0.1 ESTUARY_SRT_ADDRESS=127.0.0.1 ESTUARY_RTC_INTERFACES=127.0.0.1 \
  ESTUARY_SERVER_LOG_LEVEL=warn \
  "$server" > "$work/server.log" 2>&1 &
server_pid=$!
api="http://127.0.0.1:$api_port"
for _ in $(seq 1 100); do curl -sf "$api/api/v1/versions" >/dev/null && break; sleep 0.2; done
curl -sf "$api/api/v1/versions" >/dev/null || die "server did not start (see $work/server.log)"

lavfi=(-f lavfi -i "testsrc2=size=320x180:rate=25" -f lavfi -i "sine=frequency=440:sample_rate=44100")
x264=(-c:v libx264 -preset ultrafast -tune zerolatency -g 25 -pix_fmt yuv420p -c:a aac -b:a 64k)
q=(-hide_banner -nostats -loglevel error)
# The long-lived stream every player reads.
ffmpeg "${q[@]}" -re "${lavfi[@]}" -t $((duration + 60)) "${x264[@]}" -f flv "rtmp://127.0.0.1:$rtmp_port/soak/base" \
  > "$work/base.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do curl -sf "$api/api/v1/streams" | grep -q '"name":"base"' && break; sleep 0.2; done

# One cycle: every protocol connects, plays a little and leaves; n makes the churn streams unique.
cycle() {
  local n=$1 t=3
  local churn="soak/churn$((n % 50))"
  ffmpeg "${q[@]}" -re "${lavfi[@]}" -t $t "${x264[@]}" -f flv "rtmp://127.0.0.1:$rtmp_port/$churn" &
  ffmpeg "${q[@]}" -re "${lavfi[@]}" -t $t "${x264[@]}" -f mpegts \
    "srt://127.0.0.1:$srt_port?streamid=#!::r=soak/srt$((n % 50)),m=publish" &
  timeout 10 ffmpeg "${q[@]}" -t 2 -i "http://127.0.0.1:$http_port/soak/base.flv" -f null - &
  timeout 10 ffmpeg "${q[@]}" -t 2 -i "http://127.0.0.1:$http_port/soak/base.ts" -f null - &
  timeout 15 ffmpeg "${q[@]}" -t 2 -i "http://127.0.0.1:$http_port/soak/base.m3u8" -f null - &
  timeout 10 ffmpeg "${q[@]}" -t 2 -i "srt://127.0.0.1:$srt_port?streamid=#!::r=soak/base,m=request" -f null - &
  timeout 10 ffmpeg "${q[@]}" -rtsp_transport tcp -t 2 -i "rtsp://127.0.0.1:$rtsp_port/soak/base" -f null - &
  [ -x "$rtc" ] && timeout 15 "$rtc" viewers --whep "$api/rtc/v1/whep/?app=soak&stream=base" --count 1 --seconds 2 \
    >/dev/null 2>&1 &
  # A player that gets kicked by the API.
  timeout 10 ffmpeg "${q[@]}" -t 6 -i "http://127.0.0.1:$http_port/soak/base.flv" -f null - &
  sleep 1.5
  local id
  id="$(curl -sf "$api/api/v1/clients?count=1000" | python3 -c '
import json, sys
cs = [c for c in json.load(sys.stdin).get("clients", []) if c.get("type") == "flv-play"]
print(cs[-1]["id"] if cs else "")' 2>/dev/null || true)"
  [ -n "$id" ] && curl -sf -X DELETE "$api/api/v1/clients/$id" >/dev/null || true
  wait
}

sample() {  # seconds rss_kb fds threads clients
  local rss fds threads clients
  rss="$(awk '/^VmRSS/ {print $2}' /proc/$server_pid/status)"
  threads="$(awk '/^Threads/ {print $2}' /proc/$server_pid/status)"
  fds="$(ls /proc/$server_pid/fd | wc -l)"
  clients="$(curl -sf "$api/api/v1/clients?count=10000" | python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("clients", [])))' 2>/dev/null || echo -1)"
  echo "$(( $(date +%s) - start )) $rss $fds $threads $clients"
}

start=$(date +%s)
end=$((start + duration))
cycles=0
next_sample=$start
next_hup=$((start + 60))
samples="$work/samples.txt"
: > "$samples"
printf "%8s %10s %6s %8s %8s %8s\n" seconds rss_kb fds threads clients cycles
while [ "$(date +%s)" -lt "$end" ]; do
  kill -0 "$server_pid" 2>/dev/null || die "the server died (see $work/server.log)"
  running=()
  for _ in $(seq 1 "$parallel"); do
    n=$cycles
    cycles=$((cycles + 1))
    cycle "$n" > /dev/null 2>&1 &
    running+=($!)
  done
  for p in "${running[@]}"; do wait "$p" 2>/dev/null || true; done
  now=$(date +%s)
  if [ "$now" -ge "$next_hup" ]; then kill -HUP "$server_pid"; next_hup=$((now + 60)); fi
  if [ "$now" -ge "$next_sample" ]; then
    line="$(sample) $cycles"
    echo "$line" >> "$samples"
    printf "%8s %10s %6s %8s %8s %8s\n" $line
    next_sample=$((now + 10))
  fi
done
# Let the last players leave, then the final sample.
sleep 10
line="$(sample) $cycles"
echo "$line" >> "$samples"
printf "%8s %10s %6s %8s %8s %8s (after the last cycle)\n" $line

python3 - "$samples" "$warmup" <<'EOF'
import sys
rows = [list(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
warm = [r for r in rows if r[0] >= int(sys.argv[2])]
if len(warm) < 3:
    print("soak: too few samples after warm-up for a trend"); sys.exit(0)
first, last = warm[0], warm[-1]
n = len(warm)
xs = [r[5] for r in warm]; ys = [r[1] * 1024 for r in warm]
mx, my = sum(xs) / n, sum(ys) / n
var = sum((x - mx) ** 2 for x in xs)
slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var if var else 0.0
rss = [r[1] for r in warm]
print(f"\nafter warm-up: {n} samples, cycles {first[5]} -> {last[5]} ({last[5] - first[5]} cycles)")
print(f"RSS: {first[1] / 1024:.1f} MB -> {last[1] / 1024:.1f} MB ({(last[1] - first[1]) * 100.0 / first[1]:+.1f} %), "
      f"range {min(rss) / 1024:.1f}..{max(rss) / 1024:.1f} MB, trend {slope:+.0f} bytes per cycle")
print(f"fds: {first[2]} -> {last[2]}; threads: {first[3]} -> {last[3]}; API clients: {first[4]} -> {last[4]}")
EOF
