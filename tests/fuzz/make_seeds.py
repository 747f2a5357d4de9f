#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/seed-*.

Seeds are the valid shapes the unit tests use (RTMP handshakes and command sequences, AMF0 values,
SRT stream ids, WHIP/WHEP offers, trickle fragments, API requests, hook replies, the shipped config
and pipelines.d, a short MPEG-TS and FLV file from ffmpeg when it is installed). Regression inputs
of fixed findings sit next to them as regress-* and are never rewritten here.
Usage: tests/fuzz/make_seeds.py [corpus-dir]
"""
import hashlib
import hmac
import os
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "fuzz", "corpus")


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# --- AMF0 -------------------------------------------------------------------------------------
def amf_num(v):
    return b"\x00" + struct.pack(">d", v)


def amf_str(s):
    b = s.encode()
    return b"\x02" + struct.pack(">H", len(b)) + b


def amf_key(k):
    b = k.encode()
    return struct.pack(">H", len(b)) + b


def amf_obj(props, marker=b"\x03", ecma_count=None):
    out = marker
    if marker == b"\x08":
        out += struct.pack(">I", len(props) if ecma_count is None else ecma_count)
    for k, v in props:
        out += amf_key(k) + v
    return out + b"\x00\x00\x09"


def amf_bool(v):
    return b"\x01" + (b"\x01" if v else b"\x00")


NULL = b"\x05"


def connect_cmd(app="live"):
    return (amf_str("connect") + amf_num(1) + amf_obj([
        ("app", amf_str(app)), ("flashVer", amf_str("FMLE/3.0")), ("tcUrl", amf_str("rtmp://127.0.0.1/" + app)),
        ("fpad", amf_bool(False)), ("capabilities", amf_num(15)), ("audioCodecs", amf_num(3191)),
        ("videoCodecs", amf_num(252)), ("objectEncoding", amf_num(0))]))


def metadata():
    return amf_str("@setDataFrame") + amf_str("onMetaData") + amf_obj([
        ("width", amf_num(1280)), ("height", amf_num(720)), ("videocodecid", amf_num(7)),
        ("audiocodecid", amf_num(10)), ("encoder", amf_str("Lavf60"))], marker=b"\x08")


# --- RTMP chunks ------------------------------------------------------------------------------
def chunk_msg(csid, mtype, ts, sid, payload, chunk_size=128):
    out = b""
    first = True
    ext = ts >= 0xFFFFFF
    for off in range(0, max(len(payload), 1), chunk_size):
        part = payload[off:off + chunk_size]
        if first:
            out += bytes([csid & 0x3F])
            out += (0xFFFFFF if ext else ts).to_bytes(3, "big") + len(payload).to_bytes(3, "big")
            out += bytes([mtype]) + struct.pack("<I", sid)
            first = False
        else:
            out += bytes([0xC0 | (csid & 0x3F)])
        if ext:
            out += struct.pack(">I", ts)
        out += part
    return out


def set_chunk_size(n):
    return chunk_msg(2, 1, 0, 0, struct.pack(">I", n))


def publish_sequence(chunk=128):
    s = set_chunk_size(chunk) if chunk != 128 else b""
    s += chunk_msg(3, 20, 0, 0, connect_cmd(), chunk)
    s += chunk_msg(3, 20, 0, 0, amf_str("releaseStream") + amf_num(2) + NULL + amf_str("test"), chunk)
    s += chunk_msg(3, 20, 0, 0, amf_str("FCPublish") + amf_num(3) + NULL + amf_str("test"), chunk)
    s += chunk_msg(3, 20, 0, 0, amf_str("createStream") + amf_num(4) + NULL, chunk)
    s += chunk_msg(4, 20, 0, 1, amf_str("publish") + amf_num(5) + NULL + amf_str("test?token=abc") + amf_str("live"), chunk)
    s += chunk_msg(4, 18, 0, 1, metadata(), chunk)
    s += chunk_msg(6, 9, 0, 1, bytes([0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1F, 0xFF, 0xE1, 0, 4, 0x67, 0x64, 0, 0x1F, 1, 0, 4, 0x68, 0xEE, 0x3C, 0x80]), chunk)
    s += chunk_msg(4, 8, 0, 1, bytes([0xAF, 0, 0x12, 0x10]), chunk)
    s += chunk_msg(6, 9, 40, 1, bytes([0x17, 1, 0, 0, 0]) + b"\x00\x00\x00\x05\x65\x88\x84\x00\x33" * 30, chunk)
    s += chunk_msg(4, 8, 23, 1, bytes([0xAF, 1]) + b"\x21" * 200, chunk)
    # Aggregate message: one video sub-message (11-byte header, body, back pointer).
    body = bytes([0x27, 1, 0, 0, 0, 0xAA])
    sub = bytes([9]) + len(body).to_bytes(3, "big") + (80).to_bytes(3, "big") + b"\x00" + b"\x00\x00\x00" + body
    sub += struct.pack(">I", len(sub))
    s += chunk_msg(6, 22, 80, 1, sub, chunk)
    s += chunk_msg(3, 20, 0, 0, amf_str("FCUnpublish") + amf_num(6) + NULL + amf_str("test"), chunk)
    s += chunk_msg(3, 20, 0, 0, amf_str("deleteStream") + amf_num(7) + NULL + amf_num(1), chunk)
    return s


def play_sequence():
    s = chunk_msg(3, 20, 0, 0, connect_cmd())
    s += chunk_msg(2, 5, 0, 0, struct.pack(">I", 2500000))
    s += chunk_msg(3, 20, 0, 0, amf_str("createStream") + amf_num(2) + NULL)
    s += chunk_msg(2, 4, 0, 0, struct.pack(">HII", 3, 1, 3000))  # set buffer length
    s += chunk_msg(8, 20, 0, 1, amf_str("play") + amf_num(4) + NULL + amf_str("test") + amf_num(-2000))
    s += chunk_msg(2, 4, 0, 0, struct.pack(">HI", 7, 1234))  # ping response
    s += chunk_msg(2, 3, 0, 0, struct.pack(">I", 100000))    # acknowledgement
    s += chunk_msg(8, 20, 0, 1, amf_str("closeStream") + amf_num(0) + NULL)
    return s


def header_formats():
    # type 0, type 1 (new length/type), type 2 (delta only), type 3 new message, 2- and 3-byte csids,
    # extended timestamp with and without repetition, an Abort.
    s = b"\x03" + (1000).to_bytes(3, "big") + (4).to_bytes(3, "big") + b"\x09" + b"\x01\x00\x00\x00" + b"abcd"
    s += b"\x43" + (33).to_bytes(3, "big") + (3).to_bytes(3, "big") + b"\x08" + b"xyz"
    s += b"\x83" + (33).to_bytes(3, "big") + b"xyz"
    s += b"\xC3" + b"xyz"
    s += b"\x00\x10" + (0).to_bytes(3, "big") + (2).to_bytes(3, "big") + b"\x12" + b"\x00\x00\x00\x00" + b"hi"
    s += b"\x01\x10\x01" + (0).to_bytes(3, "big") + (2).to_bytes(3, "big") + b"\x12" + b"\x00\x00\x00\x00" + b"hi"
    s += chunk_msg(5, 9, 0x1000000, 1, b"E" * 300)
    s += b"\x06" + b"\xff\xff\xff" + (200).to_bytes(3, "big") + b"\x09" + b"\x01\x00\x00\x00" + b"\x01\x00\x00\x00" + b"A" * 128
    s += b"\xC6" + b"A" * 72  # continuation without the repeated extended timestamp
    s += chunk_msg(2, 2, 0, 0, struct.pack(">I", 5))  # abort csid 5
    return s


def simple_handshake():
    return b"\x03" + b"\x00" * 1536 + b"\x00" * 1536


def complex_c1(schema):
    c1 = bytearray(os.urandom(0) or bytes(range(256)) * 6)
    c1[4:8] = b"\x80\x00\x07\x02"  # client version: complex handshake
    block = 8 + 764 if schema == 0 else 8
    pos = block + 4 + sum(c1[block:block + 4]) % 728
    key = b"Genuine Adobe Flash Player 001"
    data = bytes(c1[:pos]) + bytes(c1[pos + 32:])
    c1[pos:pos + 32] = hmac.new(key, data, hashlib.sha256).digest()
    return bytes(c1)


# --- MPEG-TS / FLV from ffmpeg ----------------------------------------------------------------
def ffmpeg_bytes(fmt, extra):
    if not shutil.which("ffmpeg"):
        return None
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out")
        cmd = ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=0.5",
               "-f", "lavfi", "-i", "sine=duration=0.5", "-c:v", "libx264", "-preset", "ultrafast", "-g", "5",
               "-c:a", "aac", "-b:a", "32k"] + extra + ["-f", fmt, out]
        if subprocess.run(cmd).returncode != 0:
            return None
        return open(out, "rb").read()


def stun_request(username, password, use_candidate=True):
    """A STUN Binding request as ICE sends it: USERNAME, USE-CANDIDATE, MESSAGE-INTEGRITY, FINGERPRINT."""
    import hmac, hashlib, zlib
    tx = bytes(range(1, 13))
    user = username.encode()
    attrs = struct.pack(">HH", 0x0006, len(user)) + user + b"\x00" * (-len(user) % 4)
    if use_candidate:
        attrs += struct.pack(">HH", 0x0025, 0)
    head = lambda n: struct.pack(">HHI", 0x0001, n, 0x2112A442) + tx
    mac = hmac.new(password.encode(), head(len(attrs) + 24) + attrs, hashlib.sha1).digest()
    attrs += struct.pack(">HH", 0x0008, 20) + mac
    crc = zlib.crc32(head(len(attrs) + 8) + attrs) ^ 0x5354554E
    attrs += struct.pack(">HHI", 0x8028, 4, crc)
    return head(len(attrs)) + attrs


def rtc_wire_seeds():
    write("rtc_wire", "stun-binding", stun_request("srv1:cli1", "0123456789abcdefghijkl"))
    write("rtc_wire", "stun-other-password", stun_request("srv1:cli1", "wrong-password-xxxxxxx", False))
    rr = bytes([0x81, 201, 0, 7, 0, 0, 0, 1, 0, 0, 0, 9, 25, 0, 0, 7]) + bytes(16)
    nack = bytes([0x81, 205, 0, 3, 0, 0, 0, 1, 0, 0, 0, 9, 0, 100, 0, 5])
    pli = bytes([0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 9])
    remb = bytes([0x8F, 206, 0, 5, 0, 0, 0, 1, 0, 0, 0, 0]) + b"REMB" + bytes([1, 12, 1, 0, 0, 0, 0, 9])
    write("rtc_wire", "rtcp-compound", rr + nack + pli + remb)
    rtp = bytes([0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1])
    write("rtc_wire", "rtp-stap-sps", rtp + bytes([0x78, 0, 5, 0x67, 0x42, 0, 0, 0]))
    write("rtc_wire", "rtp-fu-idr", rtp + bytes([0x7C, 0x85, 0, 0]))
    write("rtc_wire", "rtp-extension", bytes([0x90]) + rtp[1:] + bytes([0xBE, 0xDE, 0, 1, 1, 2, 3, 4, 0x65]))
    # A WHIP publisher's RTP as Chromium sends it: audio level (id 1) and the transport-wide sequence number (id 3).
    write("rtc_wire", "rtp-twcc", bytes([0x90]) + rtp[1:] + bytes([0xBE, 0xDE, 0, 2, 0x10, 0xFF, 0x31, 0xFF, 0xFE, 0, 0,
                                                               0, 0x65, 0x88]))
    write("rtc_wire", "offer", b"v=0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n"
          b"a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\n")
    # ICE-TCP (RFC 4571): the same packets, each after its 2-byte length, as one stream.
    stun = stun_request("srv1:cli1", "0123456789abcdefghijkl")
    framed = b"".join(struct.pack(">H", len(p)) + p for p in (stun, rr + nack, rtp + bytes([0x7C, 0x85, 0, 0])))
    write("rtc_wire", "tcp-framed", framed)


def main():
    # RTMP handshake: first byte = feed piece size selector.
    rtc_wire_seeds()
    write("rtmp_handshake", "simple", b"\x00" + simple_handshake())
    write("rtmp_handshake", "simple-pieces", b"\x01" + simple_handshake())
    write("rtmp_handshake", "complex0", b"\x10" + b"\x03" + complex_c1(0) + b"\x00" * 1536)
    write("rtmp_handshake", "complex1", b"\x20" + b"\x03" + complex_c1(1) + b"\x00" * 1536)
    write("rtmp_handshake", "rtmpe", b"\x00\x06" + b"\x00" * 1536)
    # Chunk stream: first byte = piece size selector.
    write("rtmp_chunk", "publish", b"\x20" + publish_sequence())
    write("rtmp_chunk", "publish-4096", b"\x03" + publish_sequence(4096))
    write("rtmp_chunk", "play", b"\x00" + play_sequence())
    write("rtmp_chunk", "formats", b"\x01" + header_formats())
    # AMF0 values.
    write("rtmp_amf0", "connect", connect_cmd())
    write("rtmp_amf0", "metadata", metadata())
    write("rtmp_amf0", "values", amf_num(1.5) + amf_bool(True) + NULL + b"\x06" +
          b"\x0c" + struct.pack(">I", 5) + b"hello" + b"\x0b" + struct.pack(">d", 1.7e12) + b"\x00\x3c" +
          b"\x0a" + struct.pack(">I", 2) + amf_num(1) + amf_str("x") +
          amf_obj([("a", amf_obj([("b", amf_obj([("c", amf_num(0))]))]))]))
    write("rtmp_amf0", "play", amf_str("play") + amf_num(4) + NULL + amf_str("test") + amf_num(-2000))
    # Session: control byte (piece size, bit 7 = reject), then chunks after the built-in handshake.
    write("rtmp_session", "publish", b"\x10" + publish_sequence())
    write("rtmp_session", "publish-4096", b"\x7f" + publish_sequence(4096))
    write("rtmp_session", "publish-reject", b"\x90" + publish_sequence())
    write("rtmp_session", "play", b"\x40" + play_sequence())
    write("rtmp_session", "play-reject", b"\x80" + play_sequence())
    write("rtmp_session", "formats", b"\x00" + header_formats())
    # SRT stream ids.
    for i, sid in enumerate(["#!::r=live/test,m=publish", "#!::h=example.com,r=live/test,m=request,token=abc",
                             "#!::r=live/cam?x=1,m=play", "live/test", "live/test?token=abc&x=y",
                             "#!::u=user,r=app/sub/stream,m=publish,s=session", "#!::r=live/test,m=bidirectional",
                             "/live//test", "#!:r=live/test"]):
        write("srt_stream_id", str(i), sid)
    # WHIP/WHEP offers: first byte = role (bit 0: play) and the stream's tracks (bits 1, 2).
    header = ("v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
              "a=msid-semantic: WMS\r\n")

    def transport(mid, direction):
        return ("c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:AbCd\r\n"
                "a=ice-pwd:0123456789abcdefghijklmn\r\na=ice-options:trickle\r\n"
                "a=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\na=setup:actpass\r\n"
                "a=mid:" + mid + "\r\na=" + direction + "\r\na=rtcp-mux\r\n")

    def video(direction):
        return ("m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 106 108 112\r\n" + transport("0", direction) +
                "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack pli\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"
                "a=rtpmap:102 H264/90000\r\na=rtcp-fb:102 nack pli\r\n"
                "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n"
                "a=rtpmap:103 rtx/90000\r\na=fmtp:103 apt=102\r\n"
                "a=rtpmap:106 H264/90000\r\na=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
                "a=rtpmap:108 H264/90000\r\na=fmtp:108 packetization-mode=1;profile-level-id=4d001f\r\n"
                "a=rtpmap:112 H264/90000\r\na=fmtp:112 packetization-mode=1;profile-level-id=640c1f\r\n")

    def audio(direction):
        return ("m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\n" + transport("1", direction) +
                "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:0 PCMU/8000\r\n")

    write("sdp_offer", "whip", b"\x06" + (header + video("sendonly") + audio("sendonly")).encode())
    write("sdp_offer", "whep", b"\x07" + (header + video("recvonly") + audio("recvonly")).encode())
    write("sdp_offer", "whep-video-only-stream", b"\x03" + (header + video("recvonly") + audio("recvonly")).encode())
    write("sdp_offer", "whip-audio", b"\x04" + (header.replace(" 0 1", " 1") + audio("sendonly")).encode())
    write("sdp_offer", "whep-candidates", b"\x07" + (header + video("recvonly") +
          "a=candidate:1 1 udp 2122260223 192.168.1.2 50000 typ host\r\na=end-of-candidates\r\n").encode())
    # Trickle fragments: a line of mids, then the fragment.
    frag = ("a=ice-ufrag:AbCd\r\na=ice-pwd:0123456789abcdefghijklmn\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n"
            "a=candidate:1 1 udp 2122260223 192.168.1.2 50000 typ host\r\n"
            "a=candidate:2 1 tcp 1518280447 192.168.1.2 9 typ host tcptype passive\r\n"
            "a=candidate:3 1 udp 1686052607 203.0.113.1 50001 typ srflx raddr 192.168.1.2 rport 50000\r\n")
    write("sdp_trickle", "fragment", "0 1\n" + frag)
    write("sdp_trickle", "fragment-mid1", "0 1\n" + frag.replace("a=mid:0", "a=mid:1") + "a=end-of-candidates\r\n")
    write("sdp_trickle", "no-mids", "\n" + frag)
    write("sdp_trickle", "end", "0\na=end-of-candidates\r\n")
    write("sdp_trickle", "answer", "0 1\n" + header + video("sendonly") +
          "a=candidate:1 1 UDP 2015363327 172.17.0.2 40000 typ host\r\n"
          "a=candidate:2 1 TCP 1015021823 172.17.0.2 9 typ host tcptype active\r\n")
    # API requests: method, path, query.
    for i, r in enumerate(["GET\n/api/v1/versions\n", "GET\n/api/v1/summaries\n", "GET\n/api/v1/streams/\nstart=0&count=10",
                           "GET\n/api/v1/streams/vid-aaa1\n", "GET\n/api/v1/clients/\ncount=2&callback=cb",
                           "DELETE\n/api/v1/clients/pub00001\n", "OPTIONS\n/api/v1/streams/\n",
                           "GET\n/api/v1/vhosts/\n", "HEAD\n/api/v1/clients/pub00001\n", "GET\n/live/test.flv\ntoken=a%20b",
                           "GET\n/live/test_abr.m3u8\n", "GET\n/api/v1/streams/\nstart=-1&count=99999999999999999999",
                           "GET\n/api/\n", "GET\n/api/v1/rusages\n", "GET\n/api/v1/meminfos\n",
                           "GET\n/api/v1/clients/\ncallback=a.b_c1"]):
        write("http_routes", str(i), r)
    # Hook responses: two status bytes, then the body.
    for i, (status, body) in enumerate([(200, "0"), (200, '{"code":0}'), (201, '{"code": 0, "data": {}}'),
                                        (200, '{"code":1}'), (403, "0"), (200, '{"code":"0"}'), (200, ""),
                                        (200, '{"code":0.5}'), (200, "[0]"), (200, ' 0 \n')]):
        write("hook_response", str(i), struct.pack(">H", status) + body.encode())
    # Config and pipelines.d: the shipped files.
    write("config", "shipped", open(os.path.join(ROOT, "conf", "estuary.conf"), "rb").read())
    write("config", "groups", "[server]\nhttp_port=8080\n[rtmp:live]\n[srt]\npassphrase=0123456789\n"
          "[source cam]\nurl=rtsp://127.0.0.1/x\napp=live\nstream=cam\n[forward f]\nmatch=live/*\n"
          "url=rtmp://127.0.0.1/live/{stream}\n")
    pdir = os.path.join(ROOT, "pipelines.d")
    for name in sorted(os.listdir(pdir)):
        if name.endswith(".conf"):
            write("pipelines", name[:-5], open(os.path.join(pdir, name), "rb").read())
    # MPEG-TS (first program tables and a few packets) and FLV tags.
    ts = ffmpeg_bytes("mpegts", [])
    if ts:
        write("ts_probe", "ffmpeg", b"\x10" + ts[:188 * 24])
        write("ts_probe", "ffmpeg-resync", b"\x00" + b"\x47\x00" + ts[7:188 * 12])
        write("ts_demux", "ffmpeg", b"\x10" + ts[:188 * 24])
    flv = ffmpeg_bytes("flv", [])
    if flv:
        write("flv_tags", "ffmpeg", flv[13:13 + 6000])
    rtmp_media_seeds()


def rtmp_media_seeds():
    """RTMP media messages: first byte 1 = video / 0 = audio (bits 1-2: NAL length size - 1), then the body."""
    hvcc = bytes([1] + [0] * 20 + [0x03, 1]) + bytes([0x20, 0, 1, 0, 3, 0x40, 1, 0x0c])
    avcc = bytes([1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 2, 0x67, 0x64, 1, 0, 1, 0x68])
    opus_head = b"OpusHead" + bytes([1, 2, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0])
    nal = bytes([0, 0, 0, 2, 0x26, 0x01])
    seeds = {
        "legacy-avc-seq": b"\x07" + bytes([0x17, 0, 0, 0, 0]) + avcc,
        "legacy-avc-frame": b"\x07" + bytes([0x27, 1, 0, 0, 40]) + nal,
        "legacy-hevc-seq": b"\x07" + bytes([0x1c, 0, 0, 0, 0]) + hvcc,
        "legacy-aac-seq": b"\x00" + bytes([0xaf, 0, 0x12, 0x10]),
        "legacy-aac-frame": b"\x00" + bytes([0xaf, 1, 0x21, 0x10]),
        "legacy-mp3": b"\x00" + bytes([0x2f, 0xff, 0xfb, 0x90]),
        "hvc1-seq": b"\x07" + bytes([0x90]) + b"hvc1" + hvcc,
        "hvc1-coded": b"\x07" + bytes([0x91]) + b"hvc1" + bytes([0, 0, 80]) + nal,
        "hvc1-codedx": b"\x07" + bytes([0xa3]) + b"hvc1" + nal,
        "hvc1-modex": b"\x07" + bytes([0x97, 2, 0, 0, 5, 0x03]) + b"hvc1" + nal,
        "hvc1-metadata": b"\x01" + bytes([0x94]) + b"hvc1" + bytes([2, 0, 9]) + b"colorInfo",
        "av01-seq": b"\x01" + bytes([0x90]) + b"av01" + bytes([0x81, 8, 0x0c, 0]),
        "av01-frame": b"\x01" + bytes([0x91]) + b"av01" + bytes([0x12, 0]),
        "vp09-seq": b"\x01" + bytes([0x90]) + b"vp09" + bytes([1, 0, 0, 0, 0, 10, 0x80, 2, 2, 2, 0, 0]),
        "avc1-seq": b"\x07" + bytes([0x90]) + b"avc1" + avcc,
        "opus-seq": b"\x00" + bytes([0x90]) + b"Opus" + opus_head,
        "opus-frame": b"\x00" + bytes([0x91]) + b"Opus" + bytes([0xfc, 0xff, 0xfe]),
        "mp4a-seq": b"\x00" + bytes([0x90]) + b"mp4a" + bytes([0x11, 0x90]),
        "ac3-frame": b"\x00" + bytes([0x91]) + b"ac-3" + bytes([0x0b, 0x77]),
        "multitrack": b"\x01" + bytes([0x96, 0]) + b"hvc1",
    }
    for name, data in seeds.items():
        write("rtmp_media", name, data)
    http_range_seeds()
    mp4_box_scan_seeds()


def mp4_box(kind, size, large=False, zero=False):
    head = struct.pack(">I", 1 if large else 0 if zero else size) + kind
    if large:
        head += struct.pack(">Q", size)
    return head + bytes(size - len(head))


def mp4_box_scan_seeds():
    # A recorded fragmented MP4's top level (the file itself is the input): ftyp, moov, moof+mdat, mfra.
    init = mp4_box(b"ftyp", 24) + mp4_box(b"moov", 120)
    frag = mp4_box(b"moof", 40) + mp4_box(b"mdat", 64)
    seeds = {
        "fragmented": init + frag * 3 + mp4_box(b"mfra", 24),
        "largesize": init + mp4_box(b"moof", 40) + mp4_box(b"mdat", 64, large=True),
        "size-zero": init + mp4_box(b"moof", 40) + mp4_box(b"mdat", 64, zero=True),
        "truncated-moov": init[:60],
        "cut-fragment": (init + frag * 2)[:-20],
        "huge": init + struct.pack(">I", 1) + b"moof" + struct.pack(">Q", 1 << 62),
        "under-header": init + struct.pack(">I", 3) + b"moof",
        "not-fragmented": mp4_box(b"ftyp", 24) + mp4_box(b"mdat", 64) + mp4_box(b"moov", 120),
    }
    for name, data in seeds.items():
        write("mp4_box_scan", name, data)


def http_range_seeds():
    # Range of a recording download: 8 bytes of size (big-endian), then the header value.
    size = struct.pack(">Q", 1000)
    for name, header in {"first-last": "bytes=0-99", "open-end": "bytes=100-", "suffix": "bytes=-100",
                         "past-end": "bytes=1000-", "multi": "bytes=0-1,5-6", "reversed": "bytes=9-1",
                         "blanks": " Bytes = 10-20 ", "huge": "bytes=0-99999999999999999999"}.items():
        write("http_range", name, size + header.encode())
    write("http_range", "empty-file", struct.pack(">Q", 0) + b"bytes=-5")


if __name__ == "__main__":
    main()
