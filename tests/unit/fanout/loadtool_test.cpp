// Owns: tests of the load tool (tools/loadtool): its FLV, RTMP chunk-stream and TS parsers (on
// hand-made input and on ffmpeg's muxers), and whole runs of publisher + players against the
// fan-out engine behind the stand-in server (HTTP-FLV and RTMP play), asserting the measurements.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "flv.h"
#include "loadtool.h"
#include "rtmp.h"
#include "standin.h"
#include "ts.h"

namespace estuary::load {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/estuary-loadtool-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

// A synthetic H.264/AAC-shaped FLV: keyframe every `gop` frames at 30 fps, ~kbps, random bodies
// (so every frame has a distinct fingerprint). Servers do not decode; the load tool does not
// either.
void write_synthetic_flv(const std::string& path, int seconds, int kbps, int gop = 30) {
  std::mt19937 rng(7);
  std::vector<uint8_t> out = flv_file_header();
  AmfWriter meta;
  meta.string("onMetaData").begin_object().key("width").number(1280).key("height").number(720);
  meta.key("framerate").number(30).key("videocodecid").number(7).key("audiocodecid").number(10).end_object();
  append_flv_tag(out, 18, 0, meta.bytes().data(), meta.bytes().size());
  const std::vector<uint8_t> avc = {0x17, 0, 0,    0,    0, 1,    0x64, 0, 0x1f, 0xff, 0xe1,
                                    0,    4, 0x67, 0x64, 0, 0x1f, 1,    0, 2,    0x68, 0xee};
  append_flv_tag(out, 9, 0, avc.data(), avc.size());
  const std::vector<uint8_t> aac = {0xaf, 0, 0x12, 0x10};
  append_flv_tag(out, 8, 0, aac.data(), aac.size());
  const int frames = seconds * 30;
  const size_t audio_size = 370;
  const size_t per_second = size_t(kbps) * 1000 / 8 - 43 * audio_size;
  const size_t p_size = per_second / (30 + 3);  // keyframes are 4x a P-frame
  int audio_i = 0;
  for (int f = 0; f < frames; ++f) {
    const uint32_t vts = uint32_t(f * 1000 / 30);
    while (audio_i * 1024 * 1000 / 44100 <= int(vts)) {
      std::vector<uint8_t> a(audio_size);
      a[0] = 0xaf;
      a[1] = 1;
      for (size_t i = 2; i < a.size(); ++i) a[i] = uint8_t(rng());
      append_flv_tag(out, 8, uint32_t(audio_i * 1024 * 1000 / 44100), a.data(), a.size());
      ++audio_i;
    }
    const bool key = f % gop == 0;
    std::vector<uint8_t> v(key ? 4 * p_size : p_size);
    v[0] = key ? 0x17 : 0x27;
    v[1] = 1;
    for (size_t i = 5; i < v.size(); ++i) v[i] = uint8_t(rng());
    append_flv_tag(out, 9, vts, v.data(), v.size());
  }
  FILE* fp = std::fopen(path.c_str(), "wb");
  ASSERT_TRUE(fp);
  std::fwrite(out.data(), 1, out.size(), fp);
  std::fclose(fp);
}

TEST(LoadtoolParsers, FlvParserHandlesAnySlicing) {
  TempDir dir;
  const std::string file = (dir.path / "a.flv").string();
  write_synthetic_flv(file, 2, 500);
  std::vector<FlvTag> tags;
  std::string err;
  ASSERT_TRUE(load_flv_file(file, &tags, &err)) << err;
  std::vector<uint8_t> bytes = flv_file_header();
  for (const auto& t : tags) append_flv_tag(bytes, t.type, t.ts, t.body.data(), t.body.size());
  for (size_t step : {size_t(1), size_t(7), size_t(4096), bytes.size()}) {
    FlvStreamParser p;
    size_t n = 0, keyframes = 0;
    std::vector<uint64_t> keys;
    for (size_t pos = 0; pos < bytes.size(); pos += step) {
      p.feed(bytes.data() + pos, std::min(step, bytes.size() - pos), [&](const MediaInfo& m) {
        ++n;
        if (m.is_video_keyframe()) ++keyframes;
        if (m.is_video_frame()) keys.push_back(m.key);
      });
    }
    EXPECT_FALSE(p.broken());
    EXPECT_EQ(n, tags.size());
    EXPECT_EQ(keyframes, 2u);
    ASSERT_EQ(keys.size(), 60u);
    size_t k = 0;
    for (const auto& t : tags) {
      if (t.type == 9 && t.body[1] == 1) {
        EXPECT_EQ(keys[k++], frame_key(t.body.data(), t.body.size()));
      }
    }
  }
  bytes[13 + 11 + tags[0].body.size() + 2] ^= 0xff;  // corrupt the first PreviousTagSize
  FlvStreamParser bad;
  bad.feed(bytes.data(), bytes.size(), [](const MediaInfo&) {});
  EXPECT_TRUE(bad.broken());
}

TEST(LoadtoolParsers, ChunkReaderHeaderTypesChunkSizeAndExtendedTimestamps) {
  std::vector<uint8_t> s;
  std::vector<uint8_t> big(10000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = uint8_t(i * 13);
  write_chunked(s, 6, kVideo, 1000, 1, big.data(), big.size(), 128);  // type 0 + type 3 at 128
  write_control(s, kSetChunkSize, 4096);
  write_chunked(s, 6, kVideo, 0x1000000, 1, big.data(), big.size(), 4096);  // extended timestamp
  // Type 1 (delta 40, new length/type), type 2 (delta 40), type 3 (same again) on csid 4.
  const std::vector<uint8_t> audio = {0xaf, 1, 2, 3};
  write_chunked(s, 4, kAudio, 100, 1, audio.data(), audio.size(), 4096);
  s.insert(s.end(), {0x44, 0, 0, 40, 0, 0, 4, kAudio});
  s.insert(s.end(), audio.begin(), audio.end());
  s.insert(s.end(), {0x84, 0, 0, 40});
  s.insert(s.end(), audio.begin(), audio.end());
  s.push_back(0xc4);
  s.insert(s.end(), audio.begin(), audio.end());
  // A two-byte basic header (csid 70).
  s.insert(s.end(), {0x00, 70 - 64, 0, 0, 5, 0, 0, 4, kAudio, 1, 0, 0, 0});
  s.insert(s.end(), audio.begin(), audio.end());
  for (size_t step : {size_t(1), size_t(3), size_t(1000), s.size()}) {
    ChunkReader r;
    std::vector<std::pair<uint8_t, uint32_t>> got;
    std::vector<uint64_t> keys;
    for (size_t pos = 0; pos < s.size(); pos += step) {
      ASSERT_TRUE(r.feed(s.data() + pos, std::min(step, s.size() - pos), [&](const RtmpMessage& m) {
        got.emplace_back(m.info.type, m.info.ts);
        if (m.info.type == kVideo) keys.push_back(m.info.key);
      })) << r.error();
    }
    ASSERT_EQ(got.size(), 8u);
    EXPECT_EQ(got[0], std::make_pair(uint8_t(kVideo), 1000u));
    EXPECT_EQ(got[1].first, kSetChunkSize);
    EXPECT_EQ(got[2], std::make_pair(uint8_t(kVideo), 0x1000000u));
    EXPECT_EQ(got[3], std::make_pair(uint8_t(kAudio), 100u));
    EXPECT_EQ(got[4], std::make_pair(uint8_t(kAudio), 140u));
    EXPECT_EQ(got[5], std::make_pair(uint8_t(kAudio), 180u));
    EXPECT_EQ(got[6], std::make_pair(uint8_t(kAudio), 220u));
    EXPECT_EQ(got[7], std::make_pair(uint8_t(kAudio), 5u));
    EXPECT_EQ(r.chunk_size(), 4096u);
    ASSERT_EQ(keys.size(), 2u);
    EXPECT_EQ(keys[0], frame_key(big.data(), big.size()));
    EXPECT_EQ(keys[1], keys[0]);
  }
}

TEST(LoadtoolParsers, AmfRoundTrip) {
  AmfWriter w;
  w.string("_result").number(2).null().begin_object().key("code").string("NetStream.Play.Start").end_object();
  auto v = amf_decode_all(w.bytes().data(), w.bytes().size());
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].str, "_result");
  EXPECT_EQ(v[1].num, 2);
  EXPECT_EQ(v[2].type, Amf::Type::null);
  EXPECT_EQ(v[3].get_string("code"), "NetStream.Play.Start");
}

// The parsers against ffmpeg's own FLV and TS muxers (real H.264).
TEST(LoadtoolParsers, ParsesFfmpegOutput) {
  TempDir dir;
  const std::string flv = (dir.path / "x.flv").string(), ts = (dir.path / "x.ts").string();
  const std::string cmd =
      "ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=320x240:rate=30 "
      "-f lavfi -i sine=frequency=440:sample_rate=44100 -t 2 -c:v libx264 -preset ultrafast "
      "-g 30 -pix_fmt yuv420p -c:a aac -b:a 64k ";
  ASSERT_EQ(std::system((cmd + flv).c_str()), 0) << "ffmpeg is required";
  ASSERT_EQ(std::system((cmd + ts).c_str()), 0);
  std::vector<FlvTag> tags;
  std::string err;
  ASSERT_TRUE(load_flv_file(flv, &tags, &err)) << err;
  FILE* f = std::fopen(flv.c_str(), "rb");
  std::vector<uint8_t> bytes(fs::file_size(flv));
  ASSERT_EQ(std::fread(bytes.data(), 1, bytes.size(), f), bytes.size());
  std::fclose(f);
  FlvStreamParser p;
  int frames = 0, keyframes = 0, headers = 0;
  p.feed(bytes.data(), bytes.size(), [&](const MediaInfo& m) {
    frames += m.is_video_frame();
    keyframes += m.is_video_keyframe();
    headers += m.is_sequence_header();
  });
  EXPECT_FALSE(p.broken());
  EXPECT_EQ(frames, 60);
  EXPECT_EQ(keyframes, 2);
  EXPECT_EQ(headers, 2);
  f = std::fopen(ts.c_str(), "rb");
  bytes.resize(fs::file_size(ts));
  ASSERT_EQ(std::fread(bytes.data(), 1, bytes.size(), f), bytes.size());
  std::fclose(f);
  TsStreamParser t;
  int pes = 0, idr = 0;
  for (size_t pos = 0; pos < bytes.size(); pos += 1000) {
    t.feed(bytes.data() + pos, std::min<size_t>(1000, bytes.size() - pos), [&](const TsStreamParser::Event& e) {
      pes += e.video_frame;
      idr += e.idr;
    });
  }
  EXPECT_FALSE(t.broken());
  EXPECT_EQ(pes, 60);
  EXPECT_EQ(idr, 1);  // only the first one is reported
}

class LoadRun : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = (dir_.path / "in.flv").string();
    write_synthetic_flv(file_, 8, 2000);
    fanout::standin::Config cfg;
    cfg.engine.threads = 2;
    std::string err;
    ASSERT_TRUE(server_.start(cfg, &err)) << err;
  }
  Summary run_load(const std::string& play_url, int players, double duration) {
    Options o;
    o.publish_url = "rtmp://127.0.0.1:" + std::to_string(server_.rtmp_port()) + "/live/test";
    o.file = file_;
    o.loop = true;
    o.play_url = play_url;
    o.players = players;
    o.ramp = 500;
    o.duration_s = duration;
    o.warmup_s = 1;
    o.play_delay_s = 1.2;
    o.server_pid = getpid();
    Summary s;
    std::string err;
    EXPECT_TRUE(run(o, &s, &err)) << err;
    std::printf("%sRESULT %s\n", s.human().c_str(), s.json().c_str());
    return s;
  }
  void expect_healthy(const Summary& s, int players) {
    EXPECT_TRUE(s.publisher_ok) << s.publisher_error;
    EXPECT_EQ(s.connected, players);
    EXPECT_EQ(s.receiving, players);
    EXPECT_EQ(s.failed, 0);
    EXPECT_EQ(s.framing_errors, 0u);
    EXPECT_EQ(s.bad_start, 0u);
    EXPECT_EQ(s.startup_count, players);
    EXPECT_GT(s.startup_p50_ms, 0);
    EXPECT_LT(s.startup_p95_ms, 1500);
    EXPECT_GT(s.latency_samples, uint64_t(players) * 30);
    EXPECT_GE(s.latency_p50_ms, 0);
    EXPECT_LT(s.latency_p95_ms, 250);  // loopback; generous for a loaded CI machine
    EXPECT_GT(s.publisher_kbps, 1500);
    EXPECT_GT(s.bitrate_min_kbps, 0.85 * s.publisher_kbps);
    EXPECT_GT(s.fps_min, 25);
    EXPECT_GE(s.server_cpu_cores, 0);
    EXPECT_GT(s.server_rss_peak_mb, 0);
  }
  TempDir dir_;
  std::string file_;
  fanout::standin::Server server_;
};

TEST_F(LoadRun, HttpFlvPlayersThroughEngine) {
  const std::string url = "http://127.0.0.1:" + std::to_string(server_.http_port()) + "/live/test.flv";
  Summary s = run_load(url, 40, 6);
  expect_healthy(s, 40);
  EXPECT_EQ(s.protocol, "http-flv");
  EXPECT_NE(s.json().find("\"protocol\":\"http-flv\""), std::string::npos);
}

TEST_F(LoadRun, RtmpPlayersThroughEngine) {
  const std::string url = "rtmp://127.0.0.1:" + std::to_string(server_.rtmp_port()) + "/live/test";
  Summary s = run_load(url, 20, 6);
  expect_healthy(s, 20);
  EXPECT_EQ(s.protocol, "rtmp");
}

TEST_F(LoadRun, MissingStreamCountsFailures) {
  Options o;
  o.play_url = "http://127.0.0.1:" + std::to_string(server_.http_port()) + "/live/none.flv";
  o.players = 10;
  o.duration_s = 1;
  Summary s;
  std::string err;
  ASSERT_TRUE(run(o, &s, &err)) << err;
  EXPECT_EQ(s.connected, 0);
  EXPECT_EQ(s.failed, 10);
  ASSERT_FALSE(s.sample_errors.empty());
  EXPECT_NE(s.sample_errors[0].find("404"), std::string::npos);
}

}  // namespace
}  // namespace estuary::load
