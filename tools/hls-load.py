#!/usr/bin/env python3
"""Server cost of LL-HLS players: N clients following one stream with blocking playlist reload.

Starts the estuary binary on free loopback ports ([hls] variant = lowlatency), publishes a 25 fps
test pattern with ffmpeg over RTMP, then runs N asyncio clients on keep-alive connections. Each does
what an LL-HLS player does: GET the playlist with _HLS_msn/_HLS_part of the last preload hint
(held by the server until that part exists), then GET that part. After a warm-up it reads the
server's CPU time (/proc/PID/stat utime+stime) over the measuring window and prints cores used,
requests per second and how many requests failed.

Usage: tools/hls-load.py [--build build] [--clients 500] [--seconds 30]
"""
import argparse
import asyncio
import os
import re
import socket
import subprocess
import tempfile
import time
import urllib.request

HINT = re.compile(rb'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)-(\d+)\.(\d+)\.m4s"')


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpu_seconds(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def request(reader, writer, path):
    writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    m = re.search(rb"(?i)content-length:\s*(\d+)", head)
    if m:
        body = await reader.readexactly(int(m.group(1)))
    else:  # chunked
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    return status, body


async def player(port, stats, stop_at):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    query = ""
    try:
        while time.time() < stop_at:
            status, body = await request(reader, writer, "/live/load.m3u8" + query)
            stats["requests"] += 1
            m = HINT.search(body) if status == 200 else None
            if not m:
                stats["failed"] += 1
                await asyncio.sleep(0.2)
                continue
            msn, part = int(m.group(2)), int(m.group(3))
            query = "?_HLS_msn=%d&_HLS_part=%d" % (msn, part)
            status, _ = await request(reader, writer, "/live/load-%d.%d.m4s" % (msn, part))
            stats["requests"] += 1
            if status != 200:
                stats["failed"] += 1
    finally:
        writer.close()


async def run_players(port, n, seconds, pid):
    stats = {"requests": 0, "failed": 0}
    warm = 5
    stop_at = time.time() + warm + seconds
    tasks = [asyncio.create_task(player(port, stats, stop_at)) for _ in range(n)]
    await asyncio.sleep(warm)
    cpu0, req0, t0 = cpu_seconds(pid), stats["requests"], time.time()
    await asyncio.sleep(seconds)
    cpu1, req1, t1 = cpu_seconds(pid), stats["requests"], time.time()
    await asyncio.gather(*tasks, return_exceptions=True)
    return (cpu1 - cpu0) / (t1 - t0), (req1 - req0) / (t1 - t0), stats["failed"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--clients", type=int, default=500)
    ap.add_argument("--seconds", type=int, default=30)
    args = ap.parse_args()
    ports = {k: free_port() for k in ("RTMP", "HTTP", "API", "RTSP", "HTTP_HTTPS", "API_HTTPS", "RTMP_RTMPS")}
    env = dict(os.environ)
    for k, p in ports.items():
        env["ESTUARY_%s_PORT" % k] = str(p)
    for k in ("RTMP", "HTTP", "API", "RTSP", "SRT"):
        env["ESTUARY_%s_ADDRESS" % k] = "127.0.0.1"
    env["ESTUARY_SRT_PORT"] = str(free_port(socket.SOCK_DGRAM))
    env["ESTUARY_HLS_VARIANT"] = "lowlatency"
    workdir = tempfile.mkdtemp(prefix="hls-load-")
    server = subprocess.Popen([os.path.join(os.path.abspath(args.build), "src/server/estuary")], env=env, cwd=workdir,
                              stdout=open(os.path.join(workdir, "server.log"), "w"), stderr=subprocess.STDOUT)
    publisher = None
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/api/v1/versions" % ports["API"], timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        n = args.seconds + 30
        publisher = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-nostats", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
             "testsrc2=size=640x360:rate=25:duration=%d" % n, "-f", "lavfi", "-i",
             "sine=frequency=440:sample_rate=44100:duration=%d" % n, "-c:v", "libx264", "-preset", "ultrafast",
             "-tune", "zerolatency", "-g", "50", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "flv",
             "rtmp://127.0.0.1:%d/live/load" % ports["RTMP"]],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, "ffmpeg.log"), "w"))
        time.sleep(4)
        base = cpu_seconds(server.pid)
        t = time.time()
        time.sleep(5)
        idle = (cpu_seconds(server.pid) - base) / (time.time() - t)
        cores, rps, failed = asyncio.run(run_players(ports["HTTP"], args.clients, args.seconds, server.pid))
        print("clients=%d server cores=%.3f (publish only, no players: %.3f) requests/s=%.0f failed=%d"
              % (args.clients, cores, idle, rps, failed))
    finally:
        if publisher:
            publisher.kill()
            publisher.wait()
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
