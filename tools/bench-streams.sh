#!/usr/bin/env bash
# Owns: the many-streams benchmark (streams per core): N concurrent publishers of a small 360p
# ~500 kb/s H.264 + AAC stream (RTMP: all from one estuary-load process; SRT: one ffmpeg each), with
# no viewer or one HTTP-FLV viewer per stream, against one server
# on 127.0.0.1. Prints one Markdown table: streams live in the API, server cores in total and per
# stream, RSS in total and per stream above the idle server, and threads.
#
# usage: tools/bench-streams.sh [options]
#   --server PATH       server binary (default build/src/server/estuary)
#   --load PATH         estuary-load binary, the RTMP publisher (default build/tools/loadtool/estuary-load)
#   --streams "LIST"    stream counts (default "50 200 500")
#   --protocol P        rtmp (estuary-load publishers) or srt (ffmpeg publishers) (default rtmp)
#   --viewers "LIST"    viewers per stream, 0 and/or 1 (default "0 1")
#   --viewer KIND       flv: one HTTP-FLV download (curl) per stream (default); hls: one curl loop per
#                       stream fetching /bench/sN.m3u8 once a second, which starts and keeps the stream's
#                       HLS output (LL-HLS/CMAF on defaults) running (a poller, not a player)
#   --measure S         seconds measured once every stream is live (default 20)
#   --ramp N            publishers started per second (default 25)
#   --server-env "K=V ..."  extra environment for the server (e.g. "ESTUARY_HLS_ENABLED=false")
#   --keep              keep the temporary directory (media, logs)
# Environment: BENCH_RTMP_PORT (19350), BENCH_HTTP_PORT (18080), BENCH_API_PORT (19850),
# BENCH_RTSP_PORT (18554), BENCH_SRT_PORT (20080).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
server="$root/build/src/server/estuary"
load="$root/build/tools/loadtool/estuary-load"
streams_list="50 200 500"
protocol=rtmp
viewers_list="0 1"
viewer_kind=flv
measure=20
ramp=25
server_env=""
keep=0
rtmp_port="${BENCH_RTMP_PORT:-19350}"
http_port="${BENCH_HTTP_PORT:-18080}"
api_port="${BENCH_API_PORT:-19850}"
rtsp_port="${BENCH_RTSP_PORT:-18554}"
srt_port="${BENCH_SRT_PORT:-20080}"

die() { echo "bench-streams: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --server) server="$2"; shift 2 ;;
    --load) load="$2"; shift 2 ;;
    --streams) streams_list="$2"; shift 2 ;;
    --protocol) protocol="$2"; shift 2 ;;
    --viewers) viewers_list="$2"; shift 2 ;;
    --viewer) viewer_kind="$2"; shift 2
      case "$viewer_kind" in flv|hls) ;; *) die "--viewer is flv or hls" ;; esac ;;
    --measure) measure="$2"; shift 2 ;;
    --ramp) ramp="$2"; shift 2 ;;
    --server-env) server_env="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

[ -x "$server" ] || die "server binary not found: $server"
case "$protocol" in
  rtmp) [ -x "$load" ] || die "load tool not found: $load (ninja -C build tools/loadtool/estuary-load)" ;;
  srt) command -v ffmpeg >/dev/null || die "ffmpeg is needed for SRT publishers" ;;
  *) die "unknown protocol $protocol" ;;
esac
command -v curl >/dev/null || die "curl is needed (API and viewers)"
command -v python3 >/dev/null || die "python3 is needed"

max_streams=0
for n in $streams_list; do [ "$n" -gt "$max_streams" ] && max_streams=$n; done
ulimit -n "$((max_streams * 8 + 1024))" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

tmp="$(mktemp -d /tmp/estuary-streams.XXXXXX)"
server_pid=""
clients=()
stop_clients() {
  for p in "${clients[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${clients[@]}"; do wait "$p" 2>/dev/null || true; done
  clients=()
}
cleanup() {
  stop_clients
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ "$keep" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

echo "generating 30 s of 640x360 30 fps H.264 + AAC at ~500 kb/s (1 s GOP)..." >&2
ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=640x360:rate=30 \
  -f lavfi -i sine=frequency=1000:sample_rate=44100 -t 30 -c:v libx264 -preset veryfast -pix_fmt yuv420p \
  -b:v 430k -maxrate 430k -bufsize 430k -g 30 -keyint_min 30 -sc_threshold 0 -bf 0 \
  -c:a aac -b:a 64k -ar 44100 -f flv "$tmp/media.flv"
[ "$protocol" = srt ] && ffmpeg -hide_banner -loglevel error -y -i "$tmp/media.flv" -c copy -f mpegts "$tmp/media.ts"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_server() {
  local env=(ESTUARY_RTMP_PORT="$rtmp_port" ESTUARY_HTTP_PORT="$http_port" ESTUARY_API_PORT="$api_port"
             ESTUARY_RTSP_PORT="$rtsp_port" ESTUARY_SRT_PORT="$srt_port" ESTUARY_RTMP_ADDRESS=127.0.0.1
             ESTUARY_HTTP_ADDRESS=127.0.0.1 ESTUARY_API_ADDRESS=127.0.0.1 ESTUARY_RTSP_ADDRESS=127.0.0.1
             ESTUARY_SRT_ADDRESS=127.0.0.1 ESTUARY_SERVER_LOG_LEVEL=warn)
  # shellcheck disable=SC2206
  [ -n "$server_env" ] && env+=($server_env)
  env "${env[@]}" "$server" >"$1" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    port_open "$api_port" && port_open "$rtmp_port" && return 0
    kill -0 "$server_pid" 2>/dev/null || { tail -20 "$1" >&2; die "server exited during start-up"; }
    sleep 0.1
  done
  die "server did not start within 10 s (log: $1)"
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# CPU ticks (user + system), RSS in kB and threads of the server.
# 0 once the server is gone (it is then reported, and the run goes on with the next row).
proc_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat" 2>/dev/null || echo 0; }
proc_status() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$server_pid/status" 2>/dev/null || echo 0; }

live_streams() {
  local body
  # A slow or gone API counts as nothing live; it does not end the run.
  body=$(curl -s --max-time 10 "http://127.0.0.1:$api_port/api/v1/streams?count=100000" 2>/dev/null) || body=""
  printf '%s' "$body" | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except Exception:
    print(0); sys.exit()
print(sum(1 for s in d.get("streams", []) if s.get("publish", {}).get("active") and s["name"].startswith("s")))'
}

# RTMP: every publisher in one estuary-load process (s1..sN, paced each, --ramp per second): one
# process per publisher would give the server's control thread 1/N of the CPU on a small machine.
start_rtmp_publishers() {
  local n="$1"
  "$load" --publish "rtmp://127.0.0.1:$rtmp_port/bench/s" --publishers "$n" --publish-ramp "$ramp" \
    --file "$tmp/media.flv" --loop --duration 86400 >"$tmp/publishers-$n.log" 2>&1 &
  clients+=($!)
}

start_srt_publisher() {
  local i="$1"
  ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "$tmp/media.ts" -c copy -f mpegts \
    "srt://127.0.0.1:$srt_port?streamid=#!::r=bench/s$i,m=publish&latency=200000" >"$tmp/pub-$i.log" 2>&1 &
  clients+=($!)
}

hz=$(getconf CLK_TCK)
results="$tmp/results.txt"
: >"$results"
for viewers in $viewers_list; do
  for n in $streams_list; do
    echo "== $n $protocol publishers, $viewers viewer(s) per stream" >&2
    start_server "$tmp/server-$n-$viewers.log"
    sleep 2
    idle_rss=$(proc_status VmRSS)
    idle_threads=$(proc_status Threads)
    if [ "$protocol" = rtmp ]; then
      start_rtmp_publishers "$n"
    else
      for i in $(seq 1 "$n"); do
        start_srt_publisher "$i"
        [ $((i % ramp)) -eq 0 ] && sleep 1
      done
    fi
    live=0
    for _ in $(seq 1 120); do
      live=$(live_streams)
      [ "${live:-0}" -ge "$n" ] && break
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 1
    done
    if [ "$viewers" -gt 0 ]; then
      for i in $(seq 1 "$n"); do
        if [ "$viewer_kind" = hls ]; then
          (end=$((SECONDS + measure + 30))
           while [ "$SECONDS" -lt "$end" ]; do
             curl -s -o /dev/null --max-time 20 "http://127.0.0.1:$http_port/bench/s$i.m3u8"
             sleep 1
           done) &
        else
          curl -s -o /dev/null --max-time "$((measure + 30))" "http://127.0.0.1:$http_port/bench/s$i.flv" &
        fi
        clients+=($!)
      done
    fi
    sleep 5  # settle: outputs started, viewers attached
    t0=$(proc_ticks)
    sleep "$measure"
    t1=$(proc_ticks)
    rss=$(proc_status VmRSS)
    threads=$(proc_status Threads)
    live_end=$(live_streams)
    kill -0 "$server_pid" 2>/dev/null || echo "bench-streams: the server exited during this run" \
      "(log: $tmp/server-$n-$viewers.log)" >&2
    echo "$n $viewers ${live_end:-0} $((t1 - t0)) $rss $idle_rss $threads $idle_threads" | tee -a "$results" >&2
    stop_clients
    stop_server
    sleep 1
  done
done

echo
echo "server: $server; protocol: $protocol; viewer: $viewer_kind; ${server_env:-default config}; $(nproc) CPUs; $(uname -r); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$results" "$hz" "$measure" <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
hz, measure = float(sys.argv[2]), float(sys.argv[3])
print("| streams | viewers/stream | live | cores | mcore/stream | RSS (MB) | MB/stream above idle | threads | threads/stream above idle |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for n, v, live, ticks, rss, idle_rss, th, idle_th in rows:
    n, live = int(n), int(live)
    cores = int(ticks) / hz / measure
    print("| %d | %s | %d | %.3f | %.1f | %.0f | %.2f | %s | %.2f |" % (
        n, v, live, cores, cores * 1000 / n, int(rss) / 1024, (int(rss) - int(idle_rss)) / 1024 / n, th,
        (int(th) - int(idle_th)) / n))
EOF
