#!/usr/bin/env bash
# Owns: the cluster benchmark (issue #14): a redis-server, two origins and two edges on 127.0.0.1,
# one ffmpeg publisher (360p H.264 + AAC, 1 s GOP) on origin A and N HTTP-FLV viewers spread over
# the edges. Prints one Markdown table: upstream pulls and bytes per edge (one stream each, however
# many viewers), viewer start-up time to the first video frame p50/p95 for a cold stream (the edge
# must pull) and a warm one (already pulled), the same warm start on a standalone server, and the
# failover gap (republish to the other origin, and the new publish being live there, -> first frame
# at a viewer that stayed connected; last frame before the kill -> first after) p50/p95 over K kills.
#
# usage: tools/bench-cluster.sh [options]
#   --server PATH   server binary (default build/src/server/estuary)
#   --viewers N     HTTP-FLV viewers spread over the two edges (default 100)
#   --cold N        cold start-ups measured (default 10)
#   --kills K       origin kills for the failover gap (default 10)
#   --keep          keep the temporary directory (logs)
# Environment: BENCH_BASE_PORT (23000): each node takes 10 ports from it, Redis BASE+90.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
server="$root/build/src/server/estuary"
viewers=100
cold=10
kills=10
keep=0
base="${BENCH_BASE_PORT:-23000}"

die() { echo "bench-cluster: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --server) server="$2"; shift 2 ;;
    --viewers) viewers="$2"; shift 2 ;;
    --cold) cold="$2"; shift 2 ;;
    --kills) kills="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) die "unknown option $1" ;;
  esac
done
[ -x "$server" ] || die "no server binary at $server (build first)"
for tool in redis-server redis-cli ffmpeg python3; do
  command -v "$tool" >/dev/null || die "$tool is needed"
done

work="$(mktemp -d /tmp/bench-cluster.XXXXXX)"
[ "$keep" = 1 ] && echo "bench-cluster: keeping $work" >&2
exec python3 - "$server" "$work" "$base" "$viewers" "$cold" "$kills" "$keep" <<'PY'
import json, os, shutil, signal, socket, statistics, subprocess, sys, threading, time, urllib.request

server, work, base, n_viewers, n_cold, n_kills, keep = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7] == "1"
procs = []
redis_port = base + 90

def spawn(argv, log, env=None):
    p = subprocess.Popen(argv, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env, start_new_session=True)
    procs.append(p)
    return p

def node(name, mode, index, extra=None):
    b = base + index * 10
    env = dict(os.environ)
    ports = dict(RTMP_PORT=b, HTTP_PORT=b + 1, API_PORT=b + 2, RTSP_PORT=b + 3, HTTP_HTTPS_PORT=b + 4,
                 API_HTTPS_PORT=b + 5, RTMP_RTMPS_PORT=b + 6, SRT_PORT=b + 7)
    for k, v in ports.items():
        env["ESTUARY_" + k] = str(v)
    for k in ("RTMP", "HTTP", "API", "RTSP", "SRT"):
        env["ESTUARY_%s_ADDRESS" % k] = "127.0.0.1"
    env.update(ESTUARY_RTC_INTERFACES="127.0.0.1", ESTUARY_SERVER_LOG_LEVEL="info")
    if mode != "standalone":
        env.update(ESTUARY_CLUSTER_MODE=mode, ESTUARY_CLUSTER_NODE_ID=name,
                   ESTUARY_CLUSTER_REGISTRY="redis://127.0.0.1:%d/0" % redis_port,
                   ESTUARY_CLUSTER_HEARTBEAT_MS="200", ESTUARY_CLUSTER_TTL_MS="1000",
                   ESTUARY_CLUSTER_LINGER_MS="300", ESTUARY_CLUSTER_LOOKUP_TIMEOUT_MS="500")
    env.update(extra or {})
    p = spawn([server], os.path.join(work, name + ".log"), env)
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/api/v1/versions" % (b + 2), timeout=1).read()
            return dict(name=name, proc=p, rtmp=b, http=b + 1, api=b + 2)
        except Exception:
            time.sleep(0.1)
    sys.exit("bench-cluster: %s did not start (see %s)" % (name, work))

def publish(n, stream="live/b"):
    return spawn(["ffmpeg", "-hide_banner", "-nostats", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
                  "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
                  "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-b:v", "800k",
                  "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "flv",
                  "rtmp://127.0.0.1:%d/%s" % (n["rtmp"], stream)], os.path.join(work, "ffmpeg.log"))

def api(n, path):
    return urllib.request.urlopen("http://127.0.0.1:%d%s" % (n["api"], path), timeout=5).read().decode()

def metric(n, name):
    for line in api(n, "/metrics").splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return -1

class Viewer(threading.Thread):
    """HTTP-FLV reader: time to the first video tag, arrival time of every video tag, closed or not."""
    def __init__(self, port, stream="live/b"):
        super().__init__(daemon=True)
        self.port, self.stream = port, stream
        self.t0 = time.monotonic()
        self.first = None
        self.frames = []
        self.closed = False
        self.stop = False
        self.start()
    def run(self):
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=15)
            s.sendall(("GET /%s.flv HTTP/1.1\r\nHost: x\r\n\r\n" % self.stream).encode())
            buf, head = b"", False
            while not self.stop:
                d = s.recv(65536)
                if not d:
                    break
                buf += d
                if not head:
                    i = buf.find(b"\r\n\r\n")
                    if i < 0 or len(buf) < i + 4 + 13:
                        continue
                    buf, head = buf[i + 4 + 13:], True
                while len(buf) >= 11:
                    size = int.from_bytes(buf[1:4], "big")
                    if len(buf) < 15 + size:
                        break
                    if buf[0] & 0x1f == 9:
                        now = time.monotonic()
                        if self.first is None:
                            self.first = now - self.t0
                        self.frames.append(now)
                    buf = buf[15 + size:]
            s.close()
        except Exception:
            pass
        self.closed = True

def wait(pred, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False

def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]

try:
    spawn(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
           "--dir", work], os.path.join(work, "redis.log"))
    time.sleep(0.5)
    origin_a = node("origin-a", "origin", 0)
    origin_b = node("origin-b", "origin", 1)
    edges = [node("edge-1", "edge", 2), node("edge-2", "edge", 3)]
    pub = publish(origin_a)
    if not wait(lambda: '"b"' in api(origin_a, "/api/v1/streams"), 15):
        sys.exit("bench-cluster: the publisher did not go live")
    time.sleep(2)

    # Warm start on a standalone server, under the same load as on the edges below (one viewer holding).
    alone = node("standalone", "standalone", 4)
    pub_alone = publish(alone)
    wait(lambda: '"b"' in api(alone, "/api/v1/streams"), 15)
    hold = Viewer(alone["http"])
    wait(lambda: hold.first is not None, 10)
    alone_views = [Viewer(alone["http"]) for i in range(20)]
    wait(lambda: all(v.first is not None for v in alone_views), 10)
    alone_warm = [v.first * 1000 for v in alone_views if v.first is not None]
    for v in alone_views + [hold]:
        v.stop = True
    alone["proc"].kill()
    pub_alone.kill()
    # Cold: no viewer at the edge, the pull stopped (linger 300 ms) before each try.
    cold = []
    for i in range(n_cold):
        e = edges[i % 2]
        wait(lambda: metric(e, "estuary_cluster_edge_upstreams") == 0, 10)
        v = Viewer(e["http"])
        wait(lambda: v.first is not None, 10)
        v.stop = True
        if v.first is not None:
            cold.append(v.first * 1000)
        v.join(2)
    # Warm: one viewer on each edge holds its pull, then 20 start.
    holds = [Viewer(e["http"]) for e in edges]
    wait(lambda: all(v.first is not None for v in holds), 10)
    warm_views = [Viewer(edges[i % 2]["http"]) for i in range(20)]
    wait(lambda: all(v.first is not None for v in warm_views), 10)
    warm = [v.first * 1000 for v in warm_views if v.first is not None]
    for v in warm_views + holds:
        v.stop = True
    # Many viewers, spread over both edges.
    views = [Viewer(edges[i % 2]["http"]) for i in range(n_viewers)]
    wait(lambda: all(v.first is not None for v in views), 20)
    def pulled_bytes(e):
        return sum(c.get("recv_bytes", 0) for c in json.loads(api(e, "/api/v1/clients?count=1000")).get("clients", [])
                   if c.get("type") == "edge-pull")
    def pulls(e):
        return sum(1 for c in json.loads(api(e, "/api/v1/clients?count=1000")).get("clients", []) if c.get("type") == "edge-pull")
    before = [pulled_bytes(e) for e in edges]
    t_bytes = time.monotonic()
    time.sleep(5)
    seconds = time.monotonic() - t_bytes
    upstream = []
    for i, e in enumerate(edges):
        kbps = (pulled_bytes(e) - before[i]) * 8 / 1000 / seconds
        upstream.append((e["name"], pulls(e), metric(e, "estuary_cluster_edge_upstreams"), kbps))
    plays_on_origin = sum(1 for c in json.loads(api(origin_a, "/api/v1/clients?count=1000")).get("clients", [])
                          if c.get("type") == "rtmp-play")

    # Failover: kill the origin that has the stream, republish to the other one.
    gaps_republish, gaps_total, gaps_live, closed = [], [], [], 0
    origins = [origin_a, origin_b]
    live = 0
    for k in range(n_kills):
        watcher = views[k % len(views)]
        dead = origins[live]
        last = watcher.frames[-1] if watcher.frames else time.monotonic()
        dead["proc"].send_signal(signal.SIGKILL)
        dead["proc"].wait()
        pub.kill()
        pub.wait()
        t_kill_frames = len(watcher.frames)
        live = 1 - live
        time.sleep(0.2)
        t_republish = time.monotonic()
        pub = publish(origins[live])
        t_live = [None]
        def back():
            if t_live[0] is None and '"b"' in api(origins[live], "/api/v1/streams"):
                t_live[0] = time.monotonic()
            return len(watcher.frames) > t_kill_frames and watcher.frames[-1] > t_republish
        if wait(back, 15):
            first_after = next(f for f in watcher.frames[t_kill_frames:] if f > t_republish)
            gaps_republish.append((first_after - t_republish) * 1000)
            gaps_total.append((first_after - last) * 1000)
            if t_live[0] is not None:
                gaps_live.append((first_after - t_live[0]) * 1000)
        # The killed origin comes back (for the next kill in the other direction).
        idx = 0 if dead is origin_a else 1
        origins[idx] = node(dead["name"], "origin", idx)
        if dead is origin_a:
            origin_a = origins[idx]
        time.sleep(1.5)
    closed = sum(1 for v in views if v.closed)
    for v in views:
        v.stop = True

    print("| figure | value |")
    print("|---|---|")
    for name, n_pulls, ups, kbps in upstream:
        print("| %s: edge-pull clients / upstreams / upstream kb/s, %d viewers over 2 edges | %d / %d / %.0f |"
              % (name, n_viewers, n_pulls, ups, kbps))
    print("| origin A: players (one per edge) | %d |" % plays_on_origin)
    print("| cold start (edge pulls), first video frame, p50 / p95 over %d | %.0f / %.0f ms |" % (len(cold), pct(cold, 50), pct(cold, 95)))
    print("| warm start (already pulled), p50 / p95 over %d | %.0f / %.0f ms |" % (len(warm), pct(warm, 50), pct(warm, 95)))
    print("| warm start on a standalone server, p50 / p95 over %d | %.0f / %.0f ms |"
          % (len(alone_warm), pct(alone_warm, 50), pct(alone_warm, 95)))
    print("| failover: republish -> first frame at a kept viewer, p50 / p95 over %d kills | %.0f / %.0f ms |" % (len(gaps_republish), pct(gaps_republish, 50), pct(gaps_republish, 95)))
    print("| failover: new publish live on the other origin -> first frame at the kept viewer, p50 / p95 | %.0f / %.0f ms |"
          % (pct(gaps_live, 50), pct(gaps_live, 95)))
    print("| failover: last frame before the kill -> first after, p50 / p95 | %.0f / %.0f ms |" % (pct(gaps_total, 50), pct(gaps_total, 95)))
    print("| viewers disconnected by %d failovers | %d of %d |" % (n_kills, closed, n_viewers))
finally:
    for p in reversed(procs):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except Exception:
            pass
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
PY
