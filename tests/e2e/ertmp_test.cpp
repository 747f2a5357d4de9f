// Owns: end-to-end tests of enhanced RTMP ingest: files made on the fly by ffmpeg (libx265, libaom,
// libopus) published with tools/ertmp (estuary-ertmp-publish) to the real binary on 127.0.0.1, then
// checked with ffprobe over HTTP-TS, SRT, HLS (TS and fMP4), DASH, RTSP and the DVR's MP4 file, and (AV1 + Opus) over
// enhanced RTMP play read back with our parser (flv_read.h); the legacy HEVC codec id 12;
// hostile E-RTMP messages that must close only their own connection while another stream flows;
// recorded E-RTMP sessions (tests/e2e/fixtures) replayed byte for byte.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <thread>

#include "flv_read.h"
#include "harness.h"

using namespace estuary::e2e;

namespace {

std::string tool() { return build_root() + "/tools/ertmp/estuary-ertmp-publish"; }

struct Seen {
  std::string video_codec, audio_codec;
  int width = 0, height = 0;
};
Seen probe(const std::string& url) {
  Seen s;
  for (const auto& st : probe_streams(url, 20)) {
    if (st.codec_type == "video" && s.video_codec.empty()) {
      s.video_codec = st.codec_name;
      s.width = st.width;
      s.height = st.height;
    }
    if (st.codec_type == "audio" && s.audio_codec.empty()) s.audio_codec = st.codec_name;
  }
  return s;
}

// Sends a recorded client side of an RTMP session (tests/e2e/fixtures/*.bin, made by
// tools/ertmp/make-fixtures.sh) to 127.0.0.1:port over `seconds`, in even slices, reading and dropping
// what the server answers. The server does not check the C2 echo, so the recorded handshake replays.
// False if the file is missing or the server closed the connection before the end.
bool replay(int port, const std::string& path, double seconds) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.empty()) return false;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd >= 0) close(fd);
    return false;
  }
  constexpr int kSlices = 60;
  const size_t slice = (bytes.size() + kSlices - 1) / kSlices;
  bool ok = true;
  char drain[4096];
  for (size_t off = 0; off < bytes.size() && ok; off += slice) {
    const size_t n = std::min(slice, bytes.size() - off);
    ok = send(fd, bytes.data() + off, n, MSG_NOSIGNAL) == ssize_t(n);
    while (recv(fd, drain, sizeof drain, MSG_DONTWAIT) > 0) {
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds / kSlices));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the deleteStream at the end is handled
  close(fd);
  return ok;
}

class Ertmp : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = make_temp_dir();
    rec = dir + "/rec";
  }
  std::unique_ptr<Server> start_server() {
    // DVR in its default format (FLV), which cannot carry HEVC/AV1: the recorder must pick MP4 itself.
    // HLS as MPEG-TS here (the CMAF packager has its own test below).
    auto s = std::make_unique<Server>(std::map<std::string, std::string>{
        {"ESTUARY_DVR_ENABLED", "true"}, {"ESTUARY_DVR_PATH", rec + "/[app]/[stream]"}, {"ESTUARY_HLS_VARIANT", "ts"}});
    EXPECT_TRUE(s->start());
    return s;
  }
  // A short file made by ffmpeg from lavfi sources.
  std::string make_file(const std::string& name, const std::vector<std::string>& codec_args, int seconds = 2,
                        const std::string& source = "testsrc2=size=320x240:rate=25") {
    const std::string path = dir + "/" + name;
    std::vector<std::string> argv = {"ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", source};
    argv.insert(argv.end(),
                {"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", std::to_string(seconds)});
    argv.insert(argv.end(), codec_args.begin(), codec_args.end());
    argv.push_back(path);
    RunResult r = run(argv, 60);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return path;
  }
  std::string hevc_aac() {
    return make_file("hevc.mp4", {"-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
                                  "keyint=25:log-level=error", "-c:a", "aac", "-b:a", "64k"});
  }
  std::string av1_opus() {
    // libaom's realtime mode at 160x120, 15 fps: about a second of CPU.
    return make_file("av1.mkv",
                     {"-c:v", "libaom-av1", "-usage", "realtime", "-cpu-used", "8", "-b:v", "200k", "-g", "15", "-c:a",
                      "libopus", "-b:a", "32k"},
                     2, "testsrc2=size=160x120:rate=15");
  }
  Process publish(const Server& s, const std::string& file, const std::string& path, std::vector<std::string> extra,
                  int loops = 40) {
    std::vector<std::string> argv = {tool(), "--loop=" + std::to_string(loops)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(file);
    argv.push_back(s.rtmp_url(path));
    return Process(argv, dir + "/pub-" + std::to_string(++publishers) + ".log");
  }
  std::string http(const Server& s, const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(s.http_port()) + "/" + path;
  }
  std::string dir, rec;
  int publishers = 0;
};

}  // namespace

TEST_F(Ertmp, HevcAacPlaysOverTsSrtHlsRtspAndRecordsMp4) {
  const std::string file = hevc_aac();
  auto server = start_server();
  Process pub = publish(*server, file, "live/h", {});
  ASSERT_TRUE(wait_for_stream(*server, "live/h", 15000)) << server->log();
  const std::string srt = "srt://127.0.0.1:" + std::to_string(server->srt_port()) + "?streamid=#!::r=live/h,m=request";
  const std::string rtsp = "rtsp://127.0.0.1:" + std::to_string(server->rtsp_port()) + "/live/h";
  for (const std::string& url : {http(*server, "live/h.ts"), srt, rtsp}) {
    Seen s = probe(url);
    EXPECT_EQ(s.video_codec, "hevc") << url;
    EXPECT_EQ(s.width, 320) << url;
    EXPECT_EQ(s.height, 240) << url;
    EXPECT_EQ(s.audio_codec, "aac") << url;
  }
  EXPECT_EQ(first_video_frame_is_key(http(*server, "live/h.ts"), 20), 1);
  ASSERT_TRUE(wait_until(
      [&] {
        std::string body;
        return http_request("GET", http(*server, "live/h.m3u8"), &body) == 200 && body.find(".ts") != body.rfind(".ts");
      },
      20000));
  EXPECT_EQ(probe(http(*server, "live/h.m3u8")).video_codec, "hevc");
  Seen dvr = probe(rec + "/live/h.mp4");
  EXPECT_EQ(dvr.video_codec, "hevc") << server->log();
  EXPECT_EQ(dvr.width, 320);
  EXPECT_EQ(dvr.audio_codec, "aac");
  EXPECT_TRUE(pub.running()) << "the publisher ended early";
  if (HasFailure()) ADD_FAILURE() << server->log();
}

TEST_F(Ertmp, LegacyHevcCodecId12PlaysOverTsAndRecordsMp4) {
  const std::string file = hevc_aac();
  auto server = start_server();
  Process pub = publish(*server, file, "live/l", {"--legacy"});
  ASSERT_TRUE(wait_for_stream(*server, "live/l", 15000)) << server->log();
  Seen ts = probe(http(*server, "live/l.ts"));
  EXPECT_EQ(ts.video_codec, "hevc");
  EXPECT_EQ(ts.width, 320);
  EXPECT_EQ(ts.audio_codec, "aac");
  Seen dvr = probe(rec + "/live/l.mp4");
  EXPECT_EQ(dvr.video_codec, "hevc") << server->log();
  EXPECT_EQ(dvr.audio_codec, "aac");
}

TEST_F(Ertmp, Av1OpusIsListedAndRecordsMp4) {
  const std::string file = av1_opus();
  auto server = start_server();
  Process pub = publish(*server, file, "live/a", {});
  ASSERT_TRUE(wait_for_stream(*server, "live/a", 15000)) << server->log();
  std::string streams;
  http_request("GET", "http://127.0.0.1:" + std::to_string(server->api_port()) + "/api/v1/streams", &streams);
  EXPECT_NE(streams.find("\"AV1\""), std::string::npos) << streams;
  EXPECT_NE(streams.find("\"Opus\""), std::string::npos) << streams;
  // RTMP play (a player declaring the FourCCs) gets enhanced av01 video and Opus audio, read back with
  // our parser, starting on a keyframe.
  Process play({tool(), "--play=2", dir + "/play-a.flv", server->rtmp_url("live/a")}, dir + "/play-a.log");
  ASSERT_EQ(play.wait(8000), 0) << server->log();
  FlvRead r = read_flv_file(dir + "/play-a.flv");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.video, estuary::pipelines::MediaCodec::av1);
  EXPECT_TRUE(r.video_enhanced);
  EXPECT_EQ(r.audio, estuary::pipelines::MediaCodec::opus);
  EXPECT_TRUE(r.audio_enhanced);
  EXPECT_TRUE(r.first_frame_key);
  EXPECT_GT(r.frames.size(), 10u);
  // The DVR writes AV1 in MP4 with the Opus as it is (mp4mux takes Opus; no flvmux is involved).
  ASSERT_TRUE(wait_until([&] { return probe(rec + "/live/a.mp4").video_codec == "av1"; }, 15000)) << server->log();
  Seen dvr = probe(rec + "/live/a.mp4");
  EXPECT_EQ(dvr.width, 160);
  EXPECT_EQ(dvr.audio_codec, "opus");
}

// Recorded E-RTMP sessions (tests/e2e/fixtures/ertmp-*.bin: handshake, connect, publish, sequence
// start, 2 s of 160x120 frames) replayed over TCP: the stream goes live with the codec of the capture,
// and the DVR's MP4 of it holds that codec at that size.
TEST_F(Ertmp, RecordedSessionsReplayed) {
  auto server = start_server();
  struct Case {
    const char* fixture;
    const char* video;
    const char* audio;
  };
  for (const Case& c : {Case{"ertmp-hevc-aac.bin", "hevc", "aac"}, Case{"ertmp-av1-opus.bin", "av1", "opus"}}) {
    SCOPED_TRACE(c.fixture);
    bool sent = false;
    std::thread t([&] { sent = replay(server->rtmp_port(), source_root() + "/tests/e2e/fixtures/" + c.fixture, 3.0); });
    EXPECT_TRUE(wait_for_stream(*server, "live/fixture", 5000)) << server->log();
    std::string streams;
    http_request("GET", "http://127.0.0.1:" + std::to_string(server->api_port()) + "/api/v1/streams", &streams);
    t.join();
    EXPECT_TRUE(sent) << "the server closed the connection early\n" << server->log();
    EXPECT_NE(streams.find(std::string("\"") + (c.video == std::string("hevc") ? "H265" : "AV1") + "\""),
              std::string::npos)
        << streams;
    ASSERT_TRUE(wait_until([&] { return !wait_for_stream(*server, "live/fixture", 1); }, 5000)) << "still live";
    Seen dvr = probe(rec + "/live/fixture.mp4");
    EXPECT_EQ(dvr.video_codec, c.video) << server->log();
    EXPECT_EQ(dvr.width, 160);
    EXPECT_EQ(dvr.height, 120);
    EXPECT_EQ(dvr.audio_codec, c.audio);
    ASSERT_EQ(run({"rm", "-f", rec + "/live/fixture.mp4"}, 5).exit_code, 0);
  }
}

// The CMAF packager (LL-HLS and DASH, the default variant): HEVC as hvc1, AV1 as av01 with its av1C,
// Opus as it is; ffprobe reads both over the fMP4 playlist and the MPD with the right size.
TEST_F(Ertmp, HevcAndAv1OpusPlayOverFmp4HlsAndDash) {
  const std::string hevc = hevc_aac();
  const std::string av1 = av1_opus();
  Server server(std::map<std::string, std::string>{{"ESTUARY_HLS_TARGET_DURATION_S", "1"}});
  ASSERT_TRUE(server.start()) << server.log();
  Process pub_h = publish(server, hevc, "live/h", {});
  Process pub_a = publish(server, av1, "live/a", {});
  ASSERT_TRUE(wait_for_stream(server, "live/h", 15000)) << server.log();
  ASSERT_TRUE(wait_for_stream(server, "live/a", 15000)) << server.log();
  struct Case {
    const char* key;
    const char* video;
    int width, height;
    const char* audio;
    const char* codecs;
  };
  for (const Case& c :
       {Case{"live/h", "hevc", 320, 240, "aac", "hvc1."}, Case{"live/a", "av1", 160, 120, "opus", "av01.0."}}) {
    std::string playlist;
    ASSERT_TRUE(wait_until(
        [&] {
          return http_request("GET", http(server, std::string(c.key) + ".m3u8"), &playlist) == 200 &&
                 playlist.find(".m4s") != std::string::npos;
        },
        20000))
        << c.key << " " << playlist << server.log();
    std::string mpd;
    ASSERT_EQ(http_request("GET", http(server, std::string(c.key) + ".mpd"), &mpd), 200);
    EXPECT_NE(mpd.find(std::string("codecs=\"") + c.codecs), std::string::npos) << mpd;
    for (const std::string& url :
         {http(server, std::string(c.key) + ".m3u8"), http(server, std::string(c.key) + ".mpd")}) {
      Seen s = probe(url);
      EXPECT_EQ(s.video_codec, c.video) << url;
      EXPECT_EQ(s.width, c.width) << url;
      EXPECT_EQ(s.height, c.height) << url;
      EXPECT_EQ(s.audio_codec, c.audio) << url;
    }
  }
  EXPECT_TRUE(pub_h.running());
  EXPECT_TRUE(pub_a.running());
  if (HasFailure()) ADD_FAILURE() << server.log();
}

TEST_F(Ertmp, HostileMessagesCloseTheirConnectionOthersFlow) {
  const std::string file = hevc_aac();
  auto server = start_server();
  Process good = publish(*server, file, "live/good", {});
  ASSERT_TRUE(wait_for_stream(*server, "live/good", 15000)) << server->log();
  for (const char* kind : {"unknown-fourcc", "truncated-seq", "absurd-hvcc"}) {
    Process bad = publish(*server, file, std::string("live/bad-") + kind, {std::string("--hostile=") + kind}, 2);
    EXPECT_EQ(bad.wait(15000), 3) << kind << ": the server should close the connection";
  }
  const std::string log = server->log();
  EXPECT_NE(log.find("unknown video FourCC"), std::string::npos) << log;
  EXPECT_NE(log.find("truncated HEVC"), std::string::npos) << log;
  EXPECT_NE(log.find("too many NAL units"), std::string::npos) << log;
  Seen s = probe(http(*server, "live/good.ts"));
  EXPECT_EQ(s.video_codec, "hevc");
  EXPECT_EQ(s.width, 320);
  EXPECT_TRUE(good.running());
  EXPECT_TRUE(server->process().running());
}
