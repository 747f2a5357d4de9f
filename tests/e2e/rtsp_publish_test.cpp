// Owns: end-to-end tests of RTSP publish (ANNOUNCE/SETUP record/RECORD on the RTSP port): ffmpeg over
// TCP (H.264 + AAC, and H.264 + two AAC tracks: audio_0 and audio_1 on the bus) and UDP (H.264 + Opus)
// and GStreamer's rtspclientsink (H.265 + AAC; H.264 + two AAC) publish; the
// stream plays over RTMP, HTTP-FLV, HTTP-TS and HLS (ffprobe sees the codecs); the publisher is an
// "rtsp-publish" client of /api/v1/clients and the publisher of its /api/v1/streams entry; a second
// publisher of the same path is refused; an on_publish hook (a real Python server) sees the publish
// and refuses a bad token, whose stream never goes live; an ANNOUNCE's audio m-lines (up to 8) carry
// their a=lang.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "flv_read.h"
#include "harness.h"

using namespace estuary::e2e;
using namespace std::chrono_literals;

namespace {

std::string rtsp_url(const Server& s, const std::string& path) {
  return "rtsp://127.0.0.1:" + std::to_string(s.rtsp_port()) + "/" + path;
}
std::string http_url(const Server& s, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(s.http_port()) + "/" + path;
}
std::string api_url(const Server& s, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(s.api_port()) + path;
}

// Words of a command line (no quoting needed here).
std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// A publisher: the command line `line` (words) with `last` as its last argument.
Process start_publisher(const std::string& line, const std::string& last, const std::string& log) {
  std::vector<std::string> argv = words(line);
  argv.push_back(last);
  return Process(argv, log);
}

// GStreamer's rtspclientsink publishing over TCP a 320x240 test pattern of `frames` frames, encoded by
// `video_encoder` ("x264enc … ! h264parse"), and one AAC tone per entry of `audio_caps`
// ("audio/x-raw,rate=48000"), 440 Hz, 880 Hz, …
Process rtspclientsink_publisher(const Server& server, const std::string& path, const std::string& video_encoder,
                                 const std::vector<std::string>& audio_caps, int frames, const std::string& log) {
  std::string line = "gst-launch-1.0 -q videotestsrc is-live=true num-buffers=" + std::to_string(frames) +
                     " ! video/x-raw,width=320,height=240,framerate=25/1 ! " + video_encoder + " ! s.sink_0";
  for (size_t i = 0; i < audio_caps.size(); ++i)
    line += " audiotestsrc is-live=true freq=" + std::to_string(440 * (i + 1)) + " ! " + audio_caps[i] +
            " ! voaacenc ! aacparse ! s.sink_" + std::to_string(i + 1);
  return start_publisher(line + " rtspclientsink name=s protocols=tcp", "location=" + rtsp_url(server, path), log);
}

// ffmpeg publishing a 320x240 test pattern (and a tone unless acodec is empty) over RTSP for
// duration_s, keyframe every second.
Process ffmpeg_rtsp_publisher(const std::string& url, const std::string& transport, const std::string& acodec,
                              const std::string& log, int duration_s = 30) {
  std::string line = "ffmpeg -nostdin -loglevel warning -re -f lavfi -i testsrc=size=320x240:rate=25";
  if (!acodec.empty()) line += " -f lavfi -i sine=frequency=440:sample_rate=48000 -c:a " + acodec;
  line += " -t " + std::to_string(duration_s) + " -c:v libx264 -preset ultrafast -tune zerolatency -g 25";
  std::vector<std::string> argv = words(line + " -f rtsp -rtsp_transport " + transport);
  argv.push_back(url);
  return Process(argv, log);
}

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string codecs(const std::vector<ProbeStream>& streams) {
  std::string out;
  for (const auto& s : streams) out += s.codec_type + ":" + s.codec_name + " ";
  return out;
}

// The id of the one client of `type` in /api/v1/clients ("" if none or several).
std::string client_of_type(const Server& s, const std::string& type) {
  std::vector<std::pair<std::string, std::string>> clients;
  api_clients(s, &clients);
  std::string id;
  for (const auto& [cid, t] : clients) {
    if (t != type) continue;
    if (!id.empty()) return "";
    id = cid;
  }
  return id;
}

// The "cid" of the publish object of stream app/name in /api/v1/streams ("" if absent).
std::string stream_publisher(const Server& s, const std::string& app, const std::string& name) {
  std::string body;
  if (http_request("GET", api_url(s, "/api/v1/streams"), &body) != 200) return "";
  JsonNode* root = parse_json(body);
  if (!root) return "";
  std::string cid;
  JsonArray* streams = json_object_get_array_member(json_node_get_object(root), "streams");
  for (guint i = 0; streams && i < json_array_get_length(streams); i++) {
    JsonObject* o = json_array_get_object_element(streams, i);
    if (std::string(json_object_get_string_member(o, "app")) != app ||
        std::string(json_object_get_string_member(o, "name")) != name)
      continue;
    JsonObject* publish = json_object_get_object_member(o, "publish");
    if (publish && json_object_get_boolean_member(publish, "active"))
      cid = json_object_get_string_member(publish, "cid");
  }
  json_node_unref(root);
  return cid;
}

TEST(RtspPublish, FfmpegTcpPlaysOverRtmpFlvHlsAndASecondPublisherIsRefused) {
  Server server;
  ASSERT_TRUE(server.start()) << server.log();
  Process pub = ffmpeg_rtsp_publisher(rtsp_url(server, "live/t"), "tcp", "aac", server.dir() + "/pub.log");
  ASSERT_TRUE(wait_for_stream(server, "live/t", 15000)) << server.log();

  const std::string cid = client_of_type(server, "rtsp-publish");
  EXPECT_FALSE(cid.empty()) << server.log();
  EXPECT_EQ(stream_publisher(server, "live", "t"), cid);

  for (const std::string& url :
       {server.rtmp_url("live/t"), server.flv_url("live/t"), http_url(server, "live/t.m3u8")}) {
    auto streams = probe_streams(url, 20);
    EXPECT_TRUE(has_stream(streams, "video", "h264")) << url << ": " << codecs(streams);
    EXPECT_TRUE(has_stream(streams, "audio", "aac")) << url << ": " << codecs(streams);
  }

  // Same path, second publisher: refused at ANNOUNCE; the first one keeps the stream.
  Process second = ffmpeg_rtsp_publisher(rtsp_url(server, "live/t"), "tcp", "", server.dir() + "/second.log", 3);
  EXPECT_NE(second.wait(15000), 0);
  const std::string second_log = read_text(server.dir() + "/second.log");
  EXPECT_NE(second_log.find("403"), std::string::npos) << second_log;
  EXPECT_NE(server.log().find("rtsp-publish-refused stream live/t is already being published"), std::string::npos);
  EXPECT_EQ(stream_publisher(server, "live", "t"), cid);
  EXPECT_TRUE(pub.running());

  // An SDP we cannot carry (G.711 audio) is refused at ANNOUNCE with 415 and the reason in the log.
  RunResult pcmu = run(words("ffmpeg -nostdin -loglevel error -f lavfi -i sine=sample_rate=8000 -t 1 -c:a pcm_mulaw "
                             "-f rtsp -rtsp_transport tcp " +
                             rtsp_url(server, "live/pcmu")),
                       15);
  EXPECT_NE(pcmu.exit_code, 0);
  EXPECT_NE(pcmu.err.find("415"), std::string::npos) << pcmu.err;
  EXPECT_NE(server.log().find("refused: audio encoding"), std::string::npos) << server.log();

  // The publisher leaves: the stream and its client record go (the HLS viewer's session above stays
  // until it has been idle a while, as a player's does).
  pub.kill_now();
  EXPECT_TRUE(
      wait_until([&] { return api_stream_count(server) == 0 && client_of_type(server, "rtsp-publish").empty(); }, 8000))
      << server.log();
}

TEST(RtspPublish, FfmpegUdpWithOpusPlaysOverRtmpAndHttpTs) {
  Server server;
  ASSERT_TRUE(server.start()) << server.log();
  Process pub = ffmpeg_rtsp_publisher(rtsp_url(server, "live/u"), "udp", "libopus", server.dir() + "/pub.log");
  ASSERT_TRUE(wait_for_stream(server, "live/u", 15000)) << server.log();
  EXPECT_FALSE(client_of_type(server, "rtsp-publish").empty());

  auto ts = probe_streams(http_url(server, "live/u.ts"), 20);
  EXPECT_TRUE(has_stream(ts, "video", "h264")) << codecs(ts);
  EXPECT_TRUE(has_stream(ts, "audio", "opus")) << codecs(ts);
  // FLV cannot carry Opus: the RTMP output re-encodes it to AAC.
  auto rtmp = probe_streams(server.rtmp_url("live/u"), 20);
  EXPECT_TRUE(has_stream(rtmp, "video", "h264")) << codecs(rtmp);
  EXPECT_TRUE(has_stream(rtmp, "audio", "aac")) << codecs(rtmp);
  // The record went over UDP: the server saw RTP bytes.
  std::string body;
  ASSERT_EQ(http_request("GET", api_url(server, "/api/v1/clients"), &body), 200);
  EXPECT_NE(body.find("\"type\":\"rtsp-publish\""), std::string::npos);
  EXPECT_EQ(body.find("\"recv_bytes\":0,"), std::string::npos) << body;
}

TEST(RtspPublish, RtspClientSinkWithHevcAndAacPlaysOverHttpTsHlsAndEnhancedFlv) {
  Server server;
  ASSERT_TRUE(server.start()) << server.log();
  Process pub = rtspclientsink_publisher(server, "live/g",
                                         "x265enc tune=zerolatency key-int-max=25 speed-preset=ultrafast ! h265parse",
                                         {"audio/x-raw,rate=48000"}, 750, server.dir() + "/gst.log");
  ASSERT_TRUE(wait_for_stream(server, "live/g", 15000)) << server.log();
  EXPECT_FALSE(client_of_type(server, "rtsp-publish").empty());
  for (const std::string& url : {http_url(server, "live/g.ts"), http_url(server, "live/g.m3u8")}) {
    auto streams = probe_streams(url, 20);
    EXPECT_TRUE(has_stream(streams, "video", "hevc")) << url << ": " << codecs(streams);
    EXPECT_TRUE(has_stream(streams, "audio", "aac")) << url << ": " << codecs(streams);
  }
  // Late players of HTTP-FLV and RTMP get enhanced FLV (Debian's ffprobe cannot read it: our parser
  // does), the same frames in both, starting on a keyframe.
  Process rtmp({build_root() + "/tools/ertmp/estuary-ertmp-publish", "--play=3", server.dir() + "/late-rtmp.flv",
                server.rtmp_url("live/g")},
               server.dir() + "/rtmp-play.log");
  run({"curl", "-s", "--max-time", "3", "-o", server.dir() + "/late.flv", server.flv_url("live/g")}, 10);
  EXPECT_EQ(rtmp.wait(8000), 0) << read_text(server.dir() + "/rtmp-play.log");
  const FlvRead http = read_flv_file(server.dir() + "/late.flv");
  const FlvRead play = read_flv_file(server.dir() + "/late-rtmp.flv");
  for (const FlvRead* r : {&http, &play}) {
    EXPECT_EQ(r->error, "");
    EXPECT_EQ(r->video, estuary::pipelines::MediaCodec::h265);
    EXPECT_TRUE(r->video_enhanced);
    EXPECT_EQ(r->audio, estuary::pipelines::MediaCodec::aac);
    EXPECT_TRUE(r->first_frame_key);
    EXPECT_GT(r->frames.size(), 20u);
    EXPECT_GT(r->audio_frames, 20u);
  }
  ASSERT_FALSE(play.frames.empty());
  size_t start = 0;
  while (start < http.frames.size() && http.frames[start] != play.frames[0]) start++;
  ASSERT_LT(start, http.frames.size()) << "RTMP play's first frame is not in the HTTP-FLV";
  size_t same = 0;
  for (size_t i = 0; i < play.frames.size() && start + i < http.frames.size(); i++) {
    EXPECT_EQ(play.frames[i], http.frames[start + i]) << "frame " << i;
    same++;
  }
  EXPECT_GT(same, 20u);
  // A legacy RTMP player (no fourCcList: Debian's ffprobe) is refused with the reason, not fed tags
  // it cannot read.
  EXPECT_TRUE(probe_streams(server.rtmp_url("live/g"), 8).empty());
  EXPECT_NE(server.log().find("did not declare in connect's fourCcList"), std::string::npos) << server.log();
}

// The audio streams of probed streams.
std::vector<ProbeStream> audio_of(const std::vector<ProbeStream>& streams) {
  std::vector<ProbeStream> out;
  for (const ProbeStream& s : streams)
    if (s.codec_type == "audio") out.push_back(s);
  return out;
}

TEST(RtspPublish, TwoAacTracksFromFfmpegAndRtspClientSinkReachApiTsHlsAndTheFirstFlv) {
  Server server;
  ASSERT_TRUE(server.start()) << server.log();
  // Two AAC tracks told apart by rate and channels: 44.1 kHz mono, 48 kHz stereo.
  Process pub = start_publisher(
      "ffmpeg -nostdin -loglevel warning -re -f lavfi -i testsrc=size=320x240:rate=25 "
      "-f lavfi -i sine=frequency=440:sample_rate=44100 -f lavfi -i sine=frequency=880:sample_rate=48000 "
      "-map 0:v -map 1:a -map 2:a -t 40 -c:v libx264 -preset ultrafast -tune zerolatency -g 25 "
      "-c:a aac -ac:a:0 1 -ac:a:1 2 -f rtsp -rtsp_transport tcp",
      rtsp_url(server, "live/two"), server.dir() + "/pub.log");
  ASSERT_TRUE(wait_for_stream(server, "live/two", 15000)) << server.log();
  EXPECT_NE(server.log().find("video=H264 audio=MPEG4-GENERIC audio=MPEG4-GENERIC"), std::string::npos) << server.log();

  // The API lists both tracks.
  std::string body;
  ASSERT_TRUE(wait_until(
      [&] {
        return http_request("GET", api_url(server, "/api/v1/streams"), &body) == 200 &&
               body.find("\"name\":\"audio_1\"") != std::string::npos;
      },
      8000))
      << body;
  EXPECT_NE(body.find("\"name\":\"audio_0\",\"codec\":\"AAC\",\"sample_rate\":44100,\"channel\":1"), std::string::npos)
      << body;
  EXPECT_NE(body.find("\"name\":\"audio_1\",\"codec\":\"AAC\",\"sample_rate\":48000,\"channel\":2"), std::string::npos)
      << body;

  // HTTP-TS carries both, in the announced order; HTTP-FLV the first.
  const auto ts = audio_of(probe_streams(http_url(server, "live/two.ts"), 20));
  ASSERT_EQ(ts.size(), 2u) << server.log();
  EXPECT_EQ(ts[0].codec_name, "aac");
  EXPECT_EQ(ts[0].channels, 1);
  EXPECT_EQ(ts[1].codec_name, "aac");
  EXPECT_EQ(ts[1].channels, 2);
  const auto flv = audio_of(probe_streams(server.flv_url("live/two"), 20));
  ASSERT_EQ(flv.size(), 1u) << server.log();
  EXPECT_EQ(flv[0].channels, 1);

  // HLS: a master playlist with two audio renditions and the codecs of every rendition.
  std::string master;
  ASSERT_TRUE(wait_until(
      [&] {
        return http_request("GET", http_url(server, "live/two.m3u8"), &master) == 200 &&
               master.find("#EXT-X-STREAM-INF") != std::string::npos;
      },
      15000))
      << master << server.log();
  size_t renditions = 0;
  for (size_t at = master.find("#EXT-X-MEDIA:TYPE=AUDIO"); at != std::string::npos;
       at = master.find("#EXT-X-MEDIA:TYPE=AUDIO", at + 1))
    ++renditions;
  EXPECT_EQ(renditions, 2u) << master;
  EXPECT_NE(master.find("URI=\"two.m3u8?track=audio_1\""), std::string::npos) << master;
  EXPECT_TRUE(std::regex_search(master, std::regex("CODECS=\"avc1\\.[0-9a-fA-F]{6},mp4a\\.40\\.2\""))) << master;

  // GStreamer's rtspclientsink with two audio streams (it lists them before the video in its SDP).
  Process gst_pub = rtspclientsink_publisher(
      server, "live/gst2", "x264enc tune=zerolatency key-int-max=25 speed-preset=ultrafast ! h264parse",
      {"audio/x-raw,rate=48000,channels=2", "audio/x-raw,rate=44100,channels=1"}, 500, server.dir() + "/gst.log");
  ASSERT_TRUE(wait_for_stream(server, "live/gst2", 15000)) << server.log();
  const auto gst_ts = audio_of(probe_streams(http_url(server, "live/gst2.ts"), 20));
  ASSERT_EQ(gst_ts.size(), 2u) << server.log();
  EXPECT_EQ(gst_ts[0].channels + gst_ts[1].channels, 3) << "one mono and one stereo track";
}

// Sends one ANNOUNCE of an SDP with H.264 video and `audio` audio m-lines (AAC then Opus, …; the
// session says a=lang:eng, the Opus lines a=lang:fra) and prints the answer's status line.
const char* kAnnounceClient = R"PY(
import socket, sys
port, path, audio = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
sdp = ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=t', 'c=IN IP4 127.0.0.1', 't=0 0', 'a=lang:eng',
       'm=video 0 RTP/AVP 96', 'a=rtpmap:96 H264/90000', 'a=control:streamid=0']
for i in range(audio):
    pt = 97 + i
    if i % 2 == 0:
        sdp += ['m=audio 0 RTP/AVP %d' % pt, 'a=rtpmap:%d MPEG4-GENERIC/44100/1' % pt,
                'a=fmtp:%d profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=1208' % pt]
    else:
        sdp += ['m=audio 0 RTP/AVP %d' % pt, 'a=rtpmap:%d opus/48000/2' % pt, 'a=lang:fra']
    sdp += ['a=control:streamid=%d' % (i + 1)]
body = ('\r\n'.join(sdp) + '\r\n').encode()
url = 'rtsp://127.0.0.1:%d/%s' % (port, path)
s = socket.create_connection(('127.0.0.1', port), timeout=10)
s.sendall(('ANNOUNCE %s RTSP/1.0\r\nCSeq: 1\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n'
           % (url, len(body))).encode() + body)
print(s.recv(4096).decode().split('\r\n')[0])
)PY";

// The SDP's languages (a=lang of the media, else of the session) go with each audio track; a ninth
// audio m-line is refused with 415 and the reason.
TEST(RtspPublish, AnnouncedAudioTracksTakeTheSdpLanguagesAndANinthIsRefused) {
  Server server;
  ASSERT_TRUE(server.start()) << server.log();
  std::ofstream(server.dir() + "/announce.py") << kAnnounceClient;
  auto announce = [&](const std::string& path, int audio) {
    return run(
        {"python3", server.dir() + "/announce.py", std::to_string(server.rtsp_port()), path, std::to_string(audio)},
        15);
  };
  const RunResult two = announce("live/langs", 2);
  EXPECT_NE(two.out.find("RTSP/1.0 200"), std::string::npos) << two.out << two.err;
  EXPECT_TRUE(wait_until(
      [&] {
        return std::regex_search(server.log(), std::regex("rtsp-announce from 127\\.0\\.0\\.1: video=H264 "
                                                          "audio=MPEG4-GENERIC/eng audio=OPUS/fra"));
      },
      3000))
      << server.log();
  const RunResult eight = announce("live/eight", 8);
  EXPECT_NE(eight.out.find("RTSP/1.0 200"), std::string::npos) << eight.out << eight.err;
  const RunResult nine = announce("live/nine", 9);
  EXPECT_NE(nine.out.find("RTSP/1.0 415"), std::string::npos) << nine.out << nine.err;
  EXPECT_NE(server.log().find("at most one video and 8 audio tracks (announced 1 video, 9 audio)"), std::string::npos)
      << server.log();
}

// Records every POST as a line of JSON; /auth answers 0 only for a param with token=good.
const char* kHookServer = R"PY(
import json, sys
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
port, record = int(sys.argv[1]), sys.argv[2]
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get('Content-Length', '0'))).decode())
        with open(record, 'a') as f:
            f.write(json.dumps(body) + '\n')
        ok = self.path != '/auth' or 'token=good' in body.get('param', '')
        data = b'0' if ok else b'denied'
        self.send_response(200 if ok else 403)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)
ThreadingHTTPServer(('127.0.0.1', port), H).serve_forever()
)PY";

TEST(RtspPublish, OnPublishHookSeesThePublisherAndCanRefuseIt) {
  const std::string dir = make_temp_dir();
  const int hook_port = free_tcp_port();
  std::ofstream(dir + "/hooks.py") << kHookServer;
  Process hooks({"python3", dir + "/hooks.py", std::to_string(hook_port), dir + "/hooks.jsonl"}, dir + "/hooks.log");
  const std::string base = "http://127.0.0.1:" + std::to_string(hook_port);
  std::ofstream(dir + "/estuary.conf") << "[hooks]\non_publish = " << base << "/auth\non_unpublish = " << base
                                       << "/notify\n";
  Server server({}, {"--config", dir + "/estuary.conf"});
  ASSERT_TRUE(server.start()) << server.log();
  ASSERT_TRUE(wait_until(
      [&] {
        return run({"curl", "-s", "-o", "/dev/null", "-d", "{}", base + "/notify"}, 5).exit_code == 0;
      },
      5000));

  // A bad token: the hook refuses, the publisher fails, the stream never goes live.
  Process bad = ffmpeg_rtsp_publisher(rtsp_url(server, "live/h?token=bad"), "tcp", "aac", dir + "/bad.log", 5);
  EXPECT_NE(bad.wait(12000), 0) << read_text(dir + "/bad.log");
  EXPECT_FALSE(wait_for_stream(server, "live/h", 200));
  EXPECT_NE(server.log().find("rtsp-publish-refused on_publish refused"), std::string::npos) << server.log();

  // The good token: admitted once the hook answers, live, and the hook saw this very client.
  Process good = ffmpeg_rtsp_publisher(rtsp_url(server, "live/h?token=good"), "tcp", "aac", dir + "/good.log");
  ASSERT_TRUE(wait_for_stream(server, "live/h", 15000)) << server.log();
  const std::string cid = client_of_type(server, "rtsp-publish");
  ASSERT_FALSE(cid.empty());
  auto streams = probe_streams(server.flv_url("live/h"), 20);
  EXPECT_TRUE(has_stream(streams, "video", "h264")) << codecs(streams);
  good.kill_now();
  ASSERT_TRUE(
      wait_until([&] { return read_text(dir + "/hooks.jsonl").find("on_unpublish") != std::string::npos; }, 8000));
  const std::string record = read_text(dir + "/hooks.jsonl");
  EXPECT_NE(record.find("\"param\": \"?token=bad\""), std::string::npos) << record;
  EXPECT_NE(record.find("\"client_id\": \"" + cid + "\""), std::string::npos) << record;
  EXPECT_NE(record.find("\"action\": \"on_publish\""), std::string::npos) << record;
  EXPECT_NE(record.find("\"tcUrl\": \"rtsp://"), std::string::npos) << record;
}

}  // namespace
