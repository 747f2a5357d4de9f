#!/usr/bin/env bash
# Owns: the WebRTC benchmark. Generates a 720p30 H.264 (Main, no B-frames, 1 s GOP, ~2 Mb/s) + AAC
# file, starts the server on 127.0.0.1, publishes the file over RTMP in a loop (ffmpeg -c copy), and
# for each viewer count runs estuary-rtc viewers (N WHEP viewers, depayload only) and measures the
# server's CPU (utime+stime per wall second over the steady window) and peak RSS; then measures
# RTMP-in → WHEP-out latency with estuary-rtc latency (its own RTMP publisher, frames matched by
# content). Prints a Markdown table.
#
# --engine shared: the server's shared engine ([rtc] engine = shared, one UDP port) driven by
# estuary-rtc load (a few client threads, its own ICE/DTLS/SRTP, SRTP-decrypting only what it looks into; viewers
# ok = connected, keyframe first, no gap). Each row's load client also publishes the row's stream itself (the file's
# H.264 + AAC over RTMP, paced in real time, no encoder) and times each access unit from its RTMP sink to its
# arrival on 100 of the viewers' sockets (kernel receive timestamps): latency p50/p95 under that load. Server and
# client CPU are measured over the window (every session connected → the window's end), RSS peak too.
# --transport tcp (with --engine shared): the viewers use ICE-TCP ([rtc] tcp_port, the same number).
# --gso "off on" (with --engine shared): the whole viewer list once per value, each on a fresh server with
# [rtc] gso off / on (UDP GSO for a viewer's equal-size datagrams), in that order, in one run; a GSO column.
# --max-pending P (with --engine shared): the load client keeps at most P handshakes in flight (--max-pending).
#
# usage: tools/bench-webrtc.sh [--build DIR] [--engine webrtcbin|shared] [--transport udp|tcp]
#                              [--viewers "20 50 100"] [--seconds S] [--gso "off on"] [--max-pending P] [--keep]
#                              [--media FLV] (a file made by an earlier --keep run: no encode)
# Environment: BENCH_RTMP_PORT (29351), BENCH_API_PORT (29851), BENCH_RTC_PORT_MIN (47000).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build"
viewers_list="20 50 100"
seconds=15
keep=0
engine=webrtcbin
transport=udp
gso_list=off
max_pending=0
media_in=
rtmp_port="${BENCH_RTMP_PORT:-29351}"
api_port="${BENCH_API_PORT:-29851}"
rtc_min="${BENCH_RTC_PORT_MIN:-47000}"

die() { echo "bench-webrtc: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --viewers) viewers_list="$2"; shift 2 ;;
    --engine) engine="$2"; shift 2 ;;
    --transport) transport="$2"; shift 2 ;;
    --gso) gso_list="$2"; shift 2 ;;
    --max-pending) max_pending="$2"; shift 2 ;;
    --media) media_in="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1" ;;
  esac
done
server="$build/src/server/estuary"
tool="$build/tools/rtcclient/estuary-rtc"
[ -x "$server" ] || die "no server at $server"
[ -x "$tool" ] || die "no estuary-rtc at $tool (ninja -C $build tools/rtcclient/estuary-rtc)"

tmp="$(mktemp -d /tmp/estuary-bench-rtc.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "$keep" = 1 ] && echo "bench-webrtc: kept $tmp" >&2 || rm -rf "$tmp"
}
trap cleanup EXIT

media="$tmp/media.flv"
# Shared: each row publishes the file once (connects + the window must fit in it).
duration=30
[ "$engine" = shared ] && duration=$((seconds + 60))
[ -n "$media_in" ] && cp "$media_in" "$media" || \
ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440 \
  -t $duration -c:v libx264 -preset veryfast -profile:v main -bf 0 -g 30 -b:v 1900k -maxrate 2000k -bufsize 1000k \
  -pix_fmt yuv420p -c:a aac -b:a 96k -f flv "$media"

server_pid=
# Starts the server with [rtc] gso = $1 (on|off).
start_server() {
  ESTUARY_RTMP_PORT=$rtmp_port ESTUARY_RTMP_ADDRESS=127.0.0.1 ESTUARY_API_PORT=$api_port ESTUARY_API_ADDRESS=127.0.0.1 \
    ESTUARY_HTTP_ENABLED=false ESTUARY_RTSP_ENABLED=false ESTUARY_HLS_ENABLED=false ESTUARY_SRT_ENABLED=false \
    ESTUARY_RTC_INTERFACES=127.0.0.1 ESTUARY_RTC_PORT_MIN=$rtc_min ESTUARY_RTC_PORT_MAX=$((rtc_min + 999)) \
    ESTUARY_RTC_ENGINE=$engine ESTUARY_RTC_PORT=$((rtc_min - 1)) \
    ESTUARY_RTC_GSO=$([ "$1" = on ] && echo true || echo false) \
    ESTUARY_RTC_TCP_PORT=$([ "$transport" = tcp ] && echo $((rtc_min - 1)) || echo 0) \
    "$server" >> "$tmp/server.log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$api_port/api/v1/versions" >/dev/null && break; sleep 0.2; done
  kill -0 "$server_pid" 2>/dev/null || die "the server did not start: $(tail -1 "$tmp/server.log")"
}
stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
}
[ "$engine" = shared ] || gso_list=off
start_server "${gso_list%% *}"

if [ "$engine" != shared ]; then
  ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "$media" -c copy -f flv \
    "rtmp://127.0.0.1:$rtmp_port/live/bench" > "$tmp/ffmpeg.log" 2>&1 &
  pids+=("$!")
  sleep 3
  # The stream must be live before the first row (a loaded machine starts the publisher slowly).
  for _ in $(seq 150); do
    curl -sf "http://127.0.0.1:$api_port/api/v1/streams" | grep -q '"name":"bench"' && break
    sleep 0.2
  done
fi

cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$server_pid/status"; }
hz=$(getconf CLK_TCK)
whep="http://127.0.0.1:$api_port/rtc/v1/whep/?app=live&stream=bench"

if [ "$engine" = shared ]; then
  echo "| GSO | WHEP viewers | server CPU (cores) | server RSS peak (MB) | connected | viewers ok | video kb/s per viewer min / mean | latency p50 / p95 (ms) | handshake p50 / p95 (ms) | client CPU (cores), threads | load avg |"
  echo "|---|---:|---:|---:|---:|---:|---|---|---|---|---|"
else
  echo "| WHEP viewers | server CPU (cores) | server RSS peak (MB) | connected | receiving | video kb/s per viewer min / mean |"
  echo "|---:|---:|---:|---:|---:|---|"
fi
first_gso=1
for gso in $gso_list; do
[ "$first_gso" = 1 ] || { stop_server; sleep 2; start_server "$gso"; }
first_gso=0
for n in $viewers_list; do
  out="$tmp/viewers-$gso-$n.txt"
  if [ "$engine" = shared ]; then
    "$tool" load --whep "http://127.0.0.1:$api_port/rtc/v1/whep/?app=live&stream=bench$n" --count "$n" \
      --seconds "$seconds" --transport "$transport" --decrypt sampled --max-pending "$max_pending" \
      --rtmp "rtmp://127.0.0.1:$rtmp_port/live/bench$n" --file "$media" > "$out" 2>"$tmp/viewers-$gso-$n.err" &
  else
    "$tool" viewers --whep "$whep" --count "$n" --seconds "$seconds" --ramp-ms 30 > "$out" 2>"$tmp/viewers-$gso-$n.err" &
  fi
  tool_pid=$!
  start_pat='^ready'; end_pat='^viewers=\|^sessions='
  [ "$engine" = shared ] && start_pat='^window-start' && end_pat='^window-end'
  for _ in $(seq 1200); do grep -q "$start_pat" "$out" && break; kill -0 "$tool_pid" 2>/dev/null || break; sleep 0.1; done
  c0=$(cpu_ticks); t0=$(date +%s.%N); peak=0; load=$(cut -d' ' -f1 /proc/loadavg)
  while kill -0 "$tool_pid" 2>/dev/null && ! grep -q "$end_pat" "$out"; do
    r=$(rss_kb); [ "$r" -gt "$peak" ] && peak=$r
    sleep 0.5
  done
  c1=$(cpu_ticks); t1=$(date +%s.%N)
  load="$load→$(cut -d' ' -f1 /proc/loadavg)"
  wait "$tool_pid" || true
  line=$(grep '^viewers=\|^sessions=' "$out" || echo "viewers=$n connected=? receiving=? video_kbps_min=? video_kbps_mean=?")
  get() { echo "$line" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }
  cpu=$(echo "$c0 $c1 $t0 $t1 $hz" | awk '{printf "%.2f", ($2 - $1) / $5 / ($4 - $3)}')
  if [ "$engine" = shared ]; then
    ok=$(echo "$line" | tr ' ' '\n' | awk -F= '$1 == "gap_free" {print $2}')
    echo "| $gso | $n | $cpu | $((peak / 1024)) | $(get connected) | $ok | $(get video_kbps_min) / $(get video_kbps_mean) |" \
      "$(get latency_ms_p50) / $(get latency_ms_p95) ($(get latency_samples) AUs) |" \
      "$(get handshake_ms_p50) / $(get handshake_ms_p95) | $(get client_cores), $(get threads) | $load |"
  else
    echo "| $n | $cpu | $((peak / 1024)) | $(get connected) | $(get receiving) | $(get video_kbps_min) / $(get video_kbps_mean) |"
  fi
  sleep 4  # sessions and the shared feed wind down
done
done

[ "$engine" = shared ] && exit 0  # estuary-rtc latency uses webrtcbin (its receiver needs the webrtcbin engine)
lat=$("$tool" latency --rtmp "rtmp://127.0.0.1:$rtmp_port/live/latency" \
  --whep "http://127.0.0.1:$api_port/rtc/v1/whep/?app=live&stream=latency" --seconds "$seconds" --kbps 2000 \
  2>"$tmp/latency.err" | tail -1)
echo
echo "RTMP in → WHEP out latency (720p30, 2 Mb/s, receiver jitterbuffer 0 ms): $lat"
