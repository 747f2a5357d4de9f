#!/usr/bin/env bash
# Owns: the fan-out benchmark. Generates the test media (720p30 H.264 + AAC, ~2 Mb/s, 1 s GOP),
# starts the server on 127.0.0.1, and for each cell of the matrix (players x protocol) runs
# estuary-load (RTMP publisher + N players in one process) and prints one Markdown table:
# server CPU, delivery latency, start-up time, RSS and per-player bitrate. After each cell it runs
# estuary-sendfloor with the same write schedule (one write per player per batch: 1000 / max(batch,
# 33 ms) writes/s of the players' mean bytes per write) and prints the server's CPU over that floor.
#
# usage: tools/bench-fanout.sh [options]
#   --server PATH       server binary (default build/src/server/estuary)
#   --server-config F   passed to the server as --config F
#   --standin           benchmark the fan-out engine alone (build/tests/unit/fanout/fanout-standin)
#   --load PATH         estuary-load binary (default build/tools/loadtool/estuary-load)
#   --players "LIST"    default "100 500 1000 2000"
#   --protocols "LIST"  rtmp and/or flv (default "rtmp flv")
#   --duration S        seconds per cell, at least ramp time + 15 (default 30)
#   --ramp N            player connections per second (default 250)
#   --batch-ms N        sets ESTUARY_FANOUT_WRITE_BATCH_MS for the server
#   --media FILE        use this FLV instead of generating one
#   --rt                run server and load tool with SCHED_RR (chrt -r 10): on a machine shared with
#                       other work this keeps run-queue waits out of the latency figures
#   --keep              keep the temporary directory (media, logs, raw JSON lines)
#   --no-floor          skip the estuary-sendfloor run after each cell
# Environment: BENCH_RTMP_PORT (19350), BENCH_HTTP_PORT (18080), BENCH_API_PORT (19850),
# BENCH_RTSP_PORT (18554).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
server="$root/build/src/server/estuary"
server_config=""
standin=0
load="$root/build/tools/loadtool/estuary-load"
players_list="100 500 1000 2000"
protocols="rtmp flv"
duration=30
ramp=250
batch_ms=""
media=""
rt=0
keep=0
floor=1
sendfloor="$root/build/tools/loadtool/estuary-sendfloor"
rtmp_port="${BENCH_RTMP_PORT:-19350}"
http_port="${BENCH_HTTP_PORT:-18080}"
api_port="${BENCH_API_PORT:-19850}"
rtsp_port="${BENCH_RTSP_PORT:-18554}"

die() { echo "bench-fanout: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --server) server="$2"; shift 2 ;;
    --server-config) server_config="$2"; shift 2 ;;
    --standin) standin=1; server="$root/build/tests/unit/fanout/fanout-standin"; shift ;;
    --load) load="$2"; shift 2 ;;
    --players) players_list="$2"; shift 2 ;;
    --protocols) protocols="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --ramp) ramp="$2"; shift 2 ;;
    --batch-ms) batch_ms="$2"; shift 2 ;;
    --media) media="$2"; shift 2 ;;
    --rt) rt=1; shift ;;
    --keep) keep=1; shift ;;
    --no-floor) floor=0; shift ;;
    -h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

[ -x "$server" ] || die "server binary not found: $server (build it, or use --standin / --server PATH)"
[ -x "$load" ] || die "load tool not found: $load (ninja -C build tools/loadtool/estuary-load)"
[ "$floor" = 0 ] || [ -x "$sendfloor" ] ||
  die "estuary-sendfloor not found: $sendfloor (ninja -C build tools/loadtool/estuary-sendfloor, or --no-floor)"
command -v python3 >/dev/null || die "python3 is needed to format the results"

max_players=0
for p in $players_list; do [ "$p" -gt "$max_players" ] && max_players=$p; done
need_fds=$((max_players * 2 + 512))
ulimit -n "$need_fds" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" -ge "$need_fds" ] || echo "bench-fanout: warning: ulimit -n is $(ulimit -n), $need_fds wanted" >&2

tmp="$(mktemp -d /tmp/estuary-bench.XXXXXX)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "$keep" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

prio=()
[ "$rt" = 1 ] && prio=(chrt -r 10)

if [ -z "$media" ]; then
  command -v ffmpeg >/dev/null || die "ffmpeg is needed to generate the test media"
  media="$tmp/media.flv"
  echo "generating 60 s of 720p30 H.264 + AAC at ~2 Mb/s (1 s GOP)..." >&2
  ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=1000:sample_rate=44100 -t 60 \
    -c:v libx264 -preset veryfast -profile:v high -pix_fmt yuv420p \
    -b:v 1900k -minrate 1900k -maxrate 1900k -bufsize 1900k -x264-params nal-hrd=cbr \
    -g 30 -keyint_min 30 -sc_threshold 0 -c:a aac -b:a 96k -ar 44100 -f flv "$media"
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_server() {
  local log="$1"
  local env=(ESTUARY_RTMP_PORT="$rtmp_port" ESTUARY_HTTP_PORT="$http_port" ESTUARY_API_PORT="$api_port"
             ESTUARY_RTMP_ADDRESS=127.0.0.1 ESTUARY_HTTP_ADDRESS=127.0.0.1 ESTUARY_API_ADDRESS=127.0.0.1
             ESTUARY_RTSP_PORT="$rtsp_port" ESTUARY_RTSP_ADDRESS=127.0.0.1)
  [ -n "$batch_ms" ] && env+=(ESTUARY_FANOUT_WRITE_BATCH_MS="$batch_ms")
  local args=()
  if [ "$standin" = 1 ]; then
    args=(--quiet)
  elif [ -n "$server_config" ]; then
    args=(--config "$server_config")
  fi
  env "${env[@]}" "${prio[@]}" "$server" "${args[@]}" >"$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    if port_open "$rtmp_port" && { [ "$standin" = 1 ] || port_open "$http_port"; }; then return 0; fi
    kill -0 "$server_pid" 2>/dev/null || { tail -20 "$log" >&2; die "server exited during start-up"; }
    sleep 0.1
  done
  die "server did not open 127.0.0.1:$rtmp_port within 10 s (log: $log)"
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

results="$tmp/results.jsonl"
: >"$results"
for players in $players_list; do
  for proto in $protocols; do
    case "$proto" in
      rtmp) url="rtmp://127.0.0.1:$rtmp_port/live/bench" ;;
      flv) url="http://127.0.0.1:$http_port/live/bench.flv" ;;
      ts) url="http://127.0.0.1:$http_port/live/bench.ts" ;;
      *) die "unknown protocol $proto" ;;
    esac
    d=$(python3 -c "print(max($duration, int($players / $ramp) + 15))")
    echo "== $players players, $proto, $d s" >&2
    start_server "$tmp/server-$players-$proto.log"
    out="$tmp/load-$players-$proto.txt"
    if ! "${prio[@]}" "$load" --publish "rtmp://127.0.0.1:$rtmp_port/live/bench" --file "$media" --loop \
        --play "$url" --players "$players" --ramp "$ramp" --duration "$d" --warmup 3 \
        --server-pid "$server_pid" >"$out" 2>&1; then
      cat "$out" >&2
    fi
    stop_server
    line=$(grep '^RESULT ' "$out" | sed 's/^RESULT //' || true)
    [ -n "$line" ] || { cat "$out" >&2; line='{}'; }
    echo "$line" >>"$results"
    grep -v '^RESULT ' "$out" | sed 's/^/    /' >&2
    # The kernel's floor under the same writes, measured right after the cell (same machine state).
    fl=""
    if [ "$floor" = 1 ] && [ "$line" != '{}' ]; then
      read -r wps bytes < <(python3 -c "
import json, sys
r = json.loads(sys.argv[1]); batch = float(sys.argv[2] or 20)
wps = max(1, round(1000 / max(batch, 1000 / 30)))
print(wps, max(1, int(r['bitrate_kbps']['mean'] * 1000 / 8 / wps)))" "$line" "$batch_ms")
      fl=$("$sendfloor" --connections "$players" --rate "$wps" --bytes "$bytes" --seconds 10 \
             --port "${BENCH_FLOOR_PORT:-29931}" 2>&1 | tail -1 || true)
      echo "    floor: $fl" >&2
    fi
    echo "$fl" >>"$tmp/floor.txt"
  done
done

echo
echo "server: $server${batch_ms:+ (write_batch_ms=$batch_ms)}; media: $(basename "$media"); $(nproc) CPUs; $(uname -r)"
touch "$tmp/floor.txt"
python3 - "$results" "$tmp/floor.txt" <<'EOF'
import json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
floors = [l.strip() for l in open(sys.argv[2])]
def f(v, fmt="%.1f"):
    return "n/a" if v is None or (isinstance(v, (int, float)) and v < 0) else fmt % v
print("| players | protocol | server CPU (cores) | send floor (cores) | server / floor | video latency p50 / p95 (ms) | audio latency p50 / p95 (ms) | start-up p50 / p95 (ms) | RSS peak (MB) | player kb/s min / mean | receiving | errors |")
print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for i, r in enumerate(rows):
    if not r:
        print("| ? | ? | run failed | | | | | | | | |")
        continue
    m = re.search(r": ([0-9.]+) cores", floors[i] if i < len(floors) else "")
    floor = float(m.group(1)) if m else None
    ratio = "%.2f" % (r["server"]["cpu_cores"] / floor) if floor and r["server"]["cpu_cores"] >= 0 else "n/a"
    s, l, st, b, e = r["server"], r["latency_ms"], r["startup_ms"], r["bitrate_kbps"], r["errors"]
    al = r.get("audio_latency_ms", {})
    errs = "framing %d, bad start %d, connect %d, closed %d" % (e["framing"], e["bad_start"], e["connect"], e["closed_early"])
    if not r["publisher"]["ok"]:
        errs += ", publisher: " + r["publisher"]["error"]
    print("| %d | %s | %s | %s | %s | %s / %s | %s / %s | %s / %s | %s | %s / %s | %d | %s |" % (
        r["players"], r["protocol"], f(s["cpu_cores"], "%.3f"), f(floor, "%.3f"), ratio, f(l["p50"]), f(l["p95"]),
        f(al.get("p50")), f(al.get("p95")), f(st["p50"]), f(st["p95"]),
        f(s["rss_peak_mb"]), f(b["min"], "%.0f"), f(b["mean"], "%.0f"), r["receiving"], errs))
EOF
