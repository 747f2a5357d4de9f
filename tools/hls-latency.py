#!/usr/bin/env python3
"""Publish-to-playlist latency of Estuary's HLS variants (ts, fmp4, lowlatency) and DASH.

Starts the estuary binary on free loopback ports once per variant, publishes a 25 fps test pattern
with ffmpeg over RTMP (-re, keyframe every second, x264 zerolatency), and follows the playlist like
a player that starts as early as it may:
  ts, fmp4    polls the media playlist every 20 ms;
  lowlatency  uses LL-HLS blocking reload (_HLS_msn/_HLS_part of the preload hint), as hls.js does.
For each segment (ts, fmp4) or part (lowlatency) it records when it first became listed and
fetchable. Its last frame left the publisher at publish_time + media_end, where publish_time is
the stream's live_ms from the API (the RTMP publish command; ffmpeg starts pacing slightly before
it, so figures are a lower bound by that connect time, a few ms on loopback) and media_end the sum
of the durations listed before it (the first segment starts at the publisher's first frame).
  latency = listed_at - (publish_time + media_end)
A player adds its own hold back on top (LL-HLS: PART-HOLD-BACK; classic HLS: typically three
target durations, hls.js liveSyncDurationCount=3). Printed: p50/p95/max of the publish-to-playlist
latency and the player latency these imply.

Usage: tools/hls-latency.py [--build build] [--seconds 30] [--target 1] [--variants ts,fmp4,lowlatency]
"""
import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(url, timeout=10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, ""
    except (urllib.error.URLError, ConnectionError, TimeoutError, socket.timeout):
        return 0, ""


def parse_playlist(text):
    """Returns (media sequence, [(msn, duration)], [(msn, part index, duration)], hint (msn, part) or None)."""
    seq = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text).group(1))
    segments, parts = [], []
    msn = seq
    for line in text.splitlines():
        m = re.match(r"#EXT-X-PART:DURATION=([0-9.]+),URI=\"[^\"]*-(\d+)\.(\d+)\.m4s\"", line)
        if m:
            parts.append((int(m.group(2)), int(m.group(3)), float(m.group(1))))
        elif line.startswith("#EXTINF:"):
            segments.append((msn, float(line[8:].split(",")[0])))
            msn += 1
    h = re.search(r"#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"[^\"]*-(\d+)\.(\d+)\.m4s\"", text)
    return seq, segments, parts, (int(h.group(1)), int(h.group(2))) if h else None


def measure(args, variant):
    ports = {k: free_port() for k in ("RTMP", "HTTP", "API", "RTSP", "HTTP_HTTPS", "API_HTTPS", "RTMP_RTMPS")}
    env = dict(os.environ)
    for k, p in ports.items():
        env["ESTUARY_%s_PORT" % k] = str(p)
    for k in ("RTMP", "HTTP", "API", "RTSP", "SRT"):
        env["ESTUARY_%s_ADDRESS" % k] = "127.0.0.1"
    env["ESTUARY_SRT_PORT"] = str(free_port(socket.SOCK_DGRAM))
    env["ESTUARY_HLS_VARIANT"] = variant
    env["ESTUARY_HLS_TARGET_DURATION_S"] = str(args.target)
    env["ESTUARY_HLS_PLAYLIST_LENGTH"] = "10"
    workdir = tempfile.mkdtemp(prefix="hls-latency-")
    server = subprocess.Popen([os.path.join(os.path.abspath(args.build), "src/server/estuary")], env=env, cwd=workdir,
                              stdout=open(os.path.join(workdir, "server.log"), "w"), stderr=subprocess.STDOUT)
    http = "http://127.0.0.1:%d" % ports["HTTP"]
    api = "http://127.0.0.1:%d" % ports["API"]
    publisher = None
    try:
        for _ in range(100):
            if get(api + "/api/v1/versions", 1)[0] == 200:
                break
            time.sleep(0.1)
        n = args.seconds + 5
        publisher = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-nostats", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
             "testsrc2=size=640x360:rate=25:duration=%d" % n, "-f", "lavfi", "-i",
             "sine=frequency=440:sample_rate=44100:duration=%d" % n, "-c:v", "libx264", "-preset", "ultrafast",
             "-tune", "zerolatency", "-g", "25", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "flv",
             "rtmp://127.0.0.1:%d/live/lat" % ports["RTMP"]],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, "ffmpeg.log"), "w"))
        live_ms = None
        deadline = time.time() + 10
        while live_ms is None and time.time() < deadline:
            st, body = get(api + "/api/v1/streams")
            if st == 200:
                for s in json.loads(body).get("streams", []):
                    if s.get("name") == "lat" and s.get("live_ms"):
                        live_ms = s["live_ms"]
            time.sleep(0.01)
        if live_ms is None:
            raise RuntimeError("the stream did not go live; see " + workdir)
        publish_s = live_ms / 1000.0
        media_end = {}   # (msn, part or -1) -> media end time
        listed_at = {}
        seen_msn_end = {}  # msn -> media time at its start
        url = http + "/live/lat.m3u8"
        stop = time.time() + args.seconds
        next_query = ""
        hold_back = None
        while time.time() < stop:
            st, text = get(url + next_query)
            now = time.time()
            if st != 200:
                time.sleep(0.02)
                continue
            seq, segments, parts, hint = parse_playlist(text)
            m = re.search(r"PART-HOLD-BACK=([0-9.]+)", text)
            td = int(re.search(r"#EXT-X-TARGETDURATION:(\d+)", text).group(1))
            hold_back = float(m.group(1)) if m else 3.0 * td
            # Media times: segment starts accumulate from msn 0 (the first keyframe the publisher sent).
            for msn, dur in segments:
                if msn == 0:
                    seen_msn_end.setdefault(0, 0.0)
                if msn in seen_msn_end:
                    seen_msn_end.setdefault(msn + 1, seen_msn_end[msn] + dur)
            if variant == "lowlatency":
                offsets = {}
                for msn, idx, dur in parts:
                    if msn == 0 and idx == 0:
                        seen_msn_end.setdefault(0, 0.0)
                    if msn not in seen_msn_end:
                        continue
                    start = offsets.get(msn, seen_msn_end[msn])
                    offsets[msn] = start + dur
                    key = (msn, idx)
                    if key not in listed_at:
                        listed_at[key] = now
                        media_end[key] = start + dur
                next_query = "?_HLS_msn=%d&_HLS_part=%d" % hint if hint else ""
            else:
                for msn, dur in segments:
                    if msn in seen_msn_end and (msn, -1) not in listed_at:
                        listed_at[(msn, -1)] = now
                        media_end[(msn, -1)] = seen_msn_end[msn] + dur
                time.sleep(0.02)
        lat = sorted(listed_at[k] - (publish_s + media_end[k]) for k in listed_at)
        if len(lat) < 3:
            raise RuntimeError("too few segments/parts seen; see " + workdir)
        p50 = statistics.median(lat)
        p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))]
        return {"variant": variant, "samples": len(lat), "p50": p50, "p95": p95, "max": lat[-1],
                "hold_back": hold_back, "player_p50": p50 + hold_back}
    finally:
        if publisher:
            publisher.kill()
            publisher.wait()
        server.terminate()
        server.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--target", type=int, default=1, help="[hls] target_duration_s")
    ap.add_argument("--variants", default="ts,fmp4,lowlatency")
    args = ap.parse_args()
    print("%-11s %7s %8s %8s %8s %10s %12s" % ("variant", "samples", "p50 s", "p95 s", "max s", "hold-back", "player p50"))
    for v in args.variants.split(","):
        r = measure(args, v)
        print("%-11s %7d %8.3f %8.3f %8.3f %10.3f %12.3f" % (r["variant"], r["samples"], r["p50"], r["p95"], r["max"],
                                                           r["hold_back"], r["player_p50"]))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
