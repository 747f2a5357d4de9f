// Owns: end-to-end tests of the CMAF outputs (issue #15): LL-HLS over fMP4 (the default), plain
// fMP4 HLS and MPEG-DASH of an RTMP H.264+AAC publish and of an SRT H.265+AAC publish, read by
// ffprobe with the right codecs and sizes; every segment starts with a keyframe; parts within the
// advertised part target; blocking playlist reload (waits for the segment or part, bounded, 400
// at once for requests far ahead, malformed directives refused); delta playlists; the
// preload-hinted part answered when made; a thousand held requests at once leave other viewers
// unaffected and are all answered within the hold time; a stopped publisher leaves no request
// hanging; a transcode ladder's master playlist and rendition reports. Real binary, real clients.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "harness.h"

using namespace estuary::e2e;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::string http_base(const Server& s) { return "http://127.0.0.1:" + std::to_string(s.http_port()); }

struct Media {
  long sequence = -1;
  double part_target = 0;
  std::vector<std::string> segments;
  std::vector<double> durations;
  std::vector<double> part_durations;
  std::string hint;  // preload-hinted part URI
  std::string map;
  std::string text;
};

Media parse(const std::string& body) {
  Media p;
  p.text = body;
  std::smatch m;
  if (std::regex_search(body, m, std::regex("#EXT-X-MEDIA-SEQUENCE:(\\d+)"))) p.sequence = std::stol(m[1]);
  if (std::regex_search(body, m, std::regex("PART-TARGET=([0-9.]+)"))) p.part_target = std::stod(m[1]);
  if (std::regex_search(body, m, std::regex("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"([^\"]+)\""))) p.hint = m[1];
  if (std::regex_search(body, m, std::regex("#EXT-X-MAP:URI=\"([^\"]+)\""))) p.map = m[1];
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("#EXTINF:", 0) == 0) p.durations.push_back(std::stod(line.substr(8)));
    if (line.rfind("#EXT-X-PART:DURATION=", 0) == 0) p.part_durations.push_back(std::stod(line.substr(21)));
    if (!line.empty() && line[0] != '#') p.segments.push_back(line);
  }
  return p;
}

Media get_media(const Server& s, const std::string& path, int* status = nullptr) {
  std::string body;
  const int st = http_request("GET", http_base(s) + path, &body);
  if (status) *status = st;
  return st == 200 ? parse(body) : Media{};
}

Media wait_for_segments(const Server& s, const std::string& path, size_t n, int timeout_ms = 20000) {
  Media p;
  for (int waited = 0; waited < timeout_ms && p.segments.size() < n; waited += 200) {
    std::this_thread::sleep_for(200ms);
    p = get_media(s, path);
  }
  return p;
}

const ProbeStream* find_type(const std::vector<ProbeStream>& streams, const std::string& type) {
  for (const auto& s : streams)
    if (s.codec_type == type) return &s;
  return nullptr;
}

void expect_av(const std::vector<ProbeStream>& streams, const std::string& video, int w, int h,
               const std::string& what) {
  const ProbeStream* v = find_type(streams, "video");
  const ProbeStream* a = find_type(streams, "audio");
  ASSERT_NE(v, nullptr) << what << ": no video";
  ASSERT_NE(a, nullptr) << what << ": no audio";
  EXPECT_EQ(v->codec_name, video) << what;
  EXPECT_EQ(v->width, w) << what;
  EXPECT_EQ(v->height, h) << what;
  EXPECT_EQ(a->codec_name, "aac") << what;
}

// Writes init + segment to a file so that ffprobe can decode the segment on its own.
std::string standalone(const Server& s, const std::string& dir, const std::string& init, const std::string& seg) {
  std::string a, b;
  EXPECT_EQ(http_request("GET", http_base(s) + "/live/" + init, &a), 200) << init;
  EXPECT_EQ(http_request("GET", http_base(s) + "/live/" + seg, &b), 200) << seg;
  const std::string path = dir + "/" + seg + ".mp4";
  std::ofstream f(path, std::ios::binary);
  f << a << b;
  return path;
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Checks what every CMAF test needs of a playing stream: playlist tags, parts within the target,
// segments that start on keyframes, ffprobe on the HLS playlist and on the DASH manifest.
void check_stream(const Server& server, const std::string& key, const std::string& codec, int w, int h) {
  const Media m = wait_for_segments(server, "/" + key + ".m3u8", 2);
  ASSERT_GE(m.segments.size(), 2u) << m.text;
  EXPECT_NE(m.text.find("#EXT-X-VERSION:9"), std::string::npos);
  EXPECT_NE(m.text.find("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK="), std::string::npos);
  EXPECT_NE(m.text.find("#EXT-X-PROGRAM-DATE-TIME:"), std::string::npos);
  EXPECT_FALSE(m.hint.empty());
  EXPECT_FALSE(m.map.empty());
  ASSERT_DOUBLE_EQ(m.part_target, 0.2);
  ASSERT_FALSE(m.part_durations.empty());
  for (double d : m.part_durations) EXPECT_LE(d, m.part_target + 1e-9) << "a part is longer than PART-TARGET";
  const std::string dir = make_temp_dir();
  for (const auto& seg : m.segments) {
    const std::string file = standalone(server, dir, m.map, seg);
    EXPECT_EQ(first_video_frame_is_key(file), 1) << seg;
  }
  for (double d : m.durations) EXPECT_NEAR(d, 1.0, 0.3);
  expect_av(probe_streams(http_base(server) + "/" + key + ".m3u8"), codec, w, h, "ll-hls");
  expect_av(probe_streams(http_base(server) + "/" + key + ".mpd"), codec, w, h, "dash");
}

class Cmaf : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && server) std::fprintf(stderr, "---- server log ----\n%s\n", server->log().c_str());
  }
  // Segments of 1 s (the publishers' GOP) keep the tests short.
  void start(std::map<std::string, std::string> env = {}) {
    env.emplace("ESTUARY_HLS_TARGET_DURATION_S", "1");
    server = std::make_unique<Server>(std::move(env));
    ASSERT_TRUE(server->start()) << server->log();
  }
  std::string pub_log(const std::string& name) { return server->dir() + "/" + name + ".log"; }
  std::unique_ptr<Server> server;
};

}  // namespace

TEST_F(Cmaf, LowLatencyHlsAndDashOfRtmpH264Aac) {
  start();
  Process pub = start_publisher(server->rtmp_url("live/c"), 320, 240, pub_log("pub"), 40, 25);
  ASSERT_TRUE(wait_for_stream(*server, "live/c", 10000));
  check_stream(*server, "live/c", "h264", 320, 240);
  // Media types and caching: playlists are refetched, segments never change.
  std::map<std::string, std::string> headers;
  std::string body;
  ASSERT_EQ(http_request("GET", http_base(*server) + "/live/c.mpd", &body, &headers), 200);
  EXPECT_EQ(headers["Content-Type"], "application/dash+xml");
  EXPECT_NE(body.find("type=\"dynamic\""), std::string::npos);
  EXPECT_NE(body.find("<SegmentTimeline>"), std::string::npos);
  headers.clear();
  ASSERT_EQ(http_request("GET", http_base(*server) + "/live/c.m3u8", &body, &headers), 200);
  EXPECT_EQ(headers["Content-Type"], "application/vnd.apple.mpegurl");
  EXPECT_EQ(headers["Cache-Control"], "no-cache");
  EXPECT_EQ(http_request("GET", http_base(*server) + "/live/c-999999.m4s", &body), 404);
  EXPECT_EQ(http_request("GET", http_base(*server) + "/live/c-7-init.mp4", &body), 404);
  EXPECT_EQ(http_request("GET", http_base(*server) + "/live/nope.mpd", &body), 404);
}

TEST_F(Cmaf, PlainFmp4VariantHasNoParts) {
  start({{"ESTUARY_HLS_VARIANT", "fmp4"}});
  Process pub = start_publisher(server->rtmp_url("live/f"), 320, 240, pub_log("pub"), 30, 25);
  ASSERT_TRUE(wait_for_stream(*server, "live/f", 10000));
  const Media m = wait_for_segments(*server, "/live/f.m3u8", 2);
  ASSERT_GE(m.segments.size(), 2u);
  EXPECT_NE(m.text.find("#EXT-X-VERSION:7"), std::string::npos);
  EXPECT_NE(m.text.find("#EXT-X-MAP:URI="), std::string::npos);
  EXPECT_EQ(m.text.find("#EXT-X-PART"), std::string::npos);
  EXPECT_EQ(m.text.find("CAN-BLOCK-RELOAD"), std::string::npos);
  expect_av(probe_streams(http_base(*server) + "/live/f.m3u8"), "h264", 320, 240, "fmp4 hls");
}

TEST_F(Cmaf, TsVariantKeepsMpegTs) {
  start({{"ESTUARY_HLS_VARIANT", "ts"}});
  Process pub = start_publisher(server->rtmp_url("live/s"), 320, 240, pub_log("pub"), 30, 25);
  ASSERT_TRUE(wait_for_stream(*server, "live/s", 10000));
  const Media m = wait_for_segments(*server, "/live/s.m3u8", 1);
  ASSERT_GE(m.segments.size(), 1u);
  EXPECT_NE(m.segments[0].find(".hls.ts"), std::string::npos) << m.text;
  EXPECT_EQ(m.text.find("#EXT-X-MAP"), std::string::npos);
  std::string body;
  EXPECT_EQ(http_request("GET", http_base(*server) + "/live/s.mpd", &body), 404) << "no DASH without CMAF";
}

TEST_F(Cmaf, BlockingReloadDeltaPlaylistsAndHostileRequests) {
  start();
  Process pub = start_publisher(server->rtmp_url("live/b"), 320, 240, pub_log("pub"), 60, 25);
  ASSERT_TRUE(wait_for_stream(*server, "live/b", 10000));
  Media m = wait_for_segments(*server, "/live/b.m3u8", 1);
  ASSERT_GE(m.segments.size(), 1u);
  const long last = m.sequence + long(m.segments.size()) - 1;

  // _HLS_msn=last+2: the segment after the open one; answered only once it is whole, within the
  // hold time (3 target durations).
  auto t0 = Clock::now();
  int status = 0;
  Media next = get_media(*server, "/live/b.m3u8?_HLS_msn=" + std::to_string(last + 2), &status);
  const double waited = seconds_since(t0);
  ASSERT_EQ(status, 200);
  EXPECT_NE(next.text.find("b-" + std::to_string(last + 2) + ".m4s"), std::string::npos) << next.text;
  EXPECT_GT(waited, 0.5) << "answered before the segment could exist";
  EXPECT_LT(waited, 3.5);

  // The preload-hinted part: the playlist request for it returns when the part exists, and the
  // part itself (asked for before it is made) comes back as a fragment.
  ASSERT_FALSE(next.hint.empty());
  std::smatch hm;
  const std::string hint = next.hint;
  ASSERT_TRUE(std::regex_match(hint, hm, std::regex("b-(\\d+)\\.(\\d+)\\.m4s")));
  std::string part_body;
  int part_status = 0;
  std::thread part_fetch([&] { part_status = http_request("GET", http_base(*server) + "/live/" + hint, &part_body); });
  t0 = Clock::now();
  Media with_part = get_media(*server, "/live/b.m3u8?_HLS_msn=" + hm[1].str() + "&_HLS_part=" + hm[2].str(), &status);
  const double part_wait = seconds_since(t0);
  part_fetch.join();
  EXPECT_EQ(status, 200);
  EXPECT_LT(part_wait, 1.0) << "a part is made every 0.2 s";
  EXPECT_TRUE(with_part.text.find("URI=\"" + hint + "\"") != std::string::npos ||
              with_part.text.find("b-" + hm[1].str() + ".m4s") != std::string::npos)
      << "the playlist lists the awaited part (or its whole segment)\n"
      << with_part.text;
  if (part_status == 200) {
    EXPECT_EQ(part_body.substr(4, 4), "moof");
  } else {
    EXPECT_EQ(part_status, 404) << "a hinted part cut short by a keyframe is 404";
  }

  // Low-latency DASH: the segment being made is answered at once and sent part by part (chunked),
  // ending when the segment is whole: the body holds one moof per part.
  {
    const Media now = get_media(*server, "/live/b.m3u8");
    std::smatch om;
    ASSERT_TRUE(std::regex_match(now.hint, om, std::regex("b-(\\d+)\\.(\\d+)\\.m4s")));
    std::map<std::string, std::string> h;
    std::string seg;
    t0 = Clock::now();
    ASSERT_EQ(http_request("GET", http_base(*server) + "/live/b-" + om[1].str() + ".m4s", &seg, &h), 200);
    EXPECT_LT(seconds_since(t0), 2.5);
    EXPECT_EQ(seg.substr(4, 4), "moof");
    int moofs = 0;
    for (size_t at = seg.find("moof"); at != std::string::npos; at = seg.find("moof", at + 1)) ++moofs;
    EXPECT_GE(moofs, 4) << "1 s segment of 0.2 s parts";
    EXPECT_EQ(h["Transfer-Encoding"], "chunked");
    // The same segment once whole is the same bytes, with a length.
    std::string again;
    ASSERT_EQ(http_request("GET", http_base(*server) + "/live/b-" + om[1].str() + ".m4s", &again), 200);
    EXPECT_EQ(again, seg);
  }

  // Far ahead, malformed: 400 at once.
  std::string body;
  const Media fresh = get_media(*server, "/live/b.m3u8");
  const long open = fresh.sequence + long(fresh.segments.size());  // the segment being made
  for (const std::string& q :
       {"_HLS_msn=" + std::to_string(last + 100), std::string("_HLS_msn=-1"), std::string("_HLS_msn=1&_HLS_part=-5"),
        std::string("_HLS_part=2"), std::string("_HLS_msn=999999999999999999999999"),
        "_HLS_msn=" + std::to_string(open + 1) + "&_HLS_part=1000000"}) {
    t0 = Clock::now();
    EXPECT_EQ(http_request("GET", http_base(*server) + "/live/b.m3u8?" + q, &body), 400) << q;
    EXPECT_LT(seconds_since(t0), 0.5) << q;
  }

  // Delta playlist: once the window is long enough, _HLS_skip=YES skips what CAN-SKIP-UNTIL
  // (6 target durations) allows and keeps the rest.
  Media full = wait_for_segments(*server, "/live/b.m3u8", 9, 30000);
  ASSERT_GE(full.segments.size(), 9u);
  Media delta = get_media(*server, "/live/b.m3u8?_HLS_skip=YES", &status);
  ASSERT_EQ(status, 200);
  std::smatch sm;
  ASSERT_TRUE(std::regex_search(delta.text, sm, std::regex("#EXT-X-SKIP:SKIPPED-SEGMENTS=(\\d+)"))) << delta.text;
  const size_t skipped = std::stoul(sm[1]);
  EXPECT_GE(skipped, 1u);
  double kept = 0;
  for (size_t i = 1; i < delta.durations.size(); ++i) kept += delta.durations[i];
  EXPECT_GE(kept + 1.0, 6.0) << "segments within CAN-SKIP-UNTIL of the end are never skipped";
  EXPECT_EQ(delta.sequence, full.sequence);

  // A thousand held requests at once (four curl processes of 250 parallel transfers, all for the
  // segment after next): the server keeps answering other viewers at once, and every held request
  // is answered within the hold time.
  m = get_media(*server, "/live/b.m3u8");
  const long target = m.sequence + long(m.segments.size()) + 1;
  std::vector<Process> bursts;
  t0 = Clock::now();
  for (int c = 0; c < 4; ++c) {
    const std::string cfg = server->dir() + "/curl" + std::to_string(c) + ".cfg";
    std::ofstream f(cfg);
    for (int i = 0; i < 250; ++i)
      f << "url = \"" << http_base(*server) << "/live/b.m3u8?_HLS_msn=" << target << "&i=" << i << "\"\n"
        << "output = \"/dev/null\"\n";
    f.close();
    bursts.emplace_back(
        std::vector<std::string>{"curl", "-s", "--no-progress-meter", "--parallel", "--parallel-immediate",
                                 "--parallel-max", "250", "-w", "%{http_code}\\n", "-K", cfg},
        server->dir() + "/curl" + std::to_string(c) + ".out");
  }
  std::this_thread::sleep_for(400ms);
  auto t1 = Clock::now();
  EXPECT_FALSE(get_media(*server, "/live/b.m3u8", &status).segments.empty());
  EXPECT_EQ(status, 200);
  // The held requests wait up to three target durations (6 s): a plain viewer answered well within
  // one (loose, so a loaded machine does not fail it) was not queued behind them.
  EXPECT_LT(seconds_since(t1), 2.0) << "a plain viewer waited behind the held requests";
  for (auto& b : bursts) EXPECT_NE(b.wait(10000), -1) << "held requests were not all answered";
  EXPECT_LT(seconds_since(t0), 8.0);
  int ok = 0, other = 0;
  for (int c = 0; c < 4; ++c) {
    std::ifstream out(server->dir() + "/curl" + std::to_string(c) + ".out");
    std::string code;
    while (out >> code)
      if (std::regex_match(code, std::regex("\\d{3}"))) (code == "200" ? ok : other)++;
  }
  EXPECT_EQ(ok + other, 1000);
  EXPECT_GE(ok, 990) << other << " held requests failed";
}

TEST_F(Cmaf, SrtH265AacInLowLatencyHlsAndDash) {
  start();
  const std::string url = "srt://127.0.0.1:" + std::to_string(server->srt_port()) + "?streamid=#!::r=live/h,m=publish";
  Process pub = start_srt_publisher(url, 320, 240, pub_log("pub-h"), 40, "libx265");
  ASSERT_TRUE(wait_for_stream(*server, "live/h", 15000));
  check_stream(*server, "live/h", "hevc", 320, 240);
  std::string body;
  ASSERT_EQ(http_request("GET", http_base(*server) + "/live/h.m3u8", &body), 200);
  const Media m = parse(body);
  std::string mpd;
  ASSERT_EQ(http_request("GET", http_base(*server) + "/live/h.mpd", &mpd), 200);
  EXPECT_NE(mpd.find("codecs=\"hvc1."), std::string::npos) << mpd;
}

// A transcode ladder (one small rendition): the ABR master playlist lists the fMP4 variants and
// each LL-HLS media playlist reports the other rendition's newest part.
TEST_F(Cmaf, LadderMasterListsFmp4VariantsWithRenditionReports) {
  const std::string dir = make_temp_dir() + "/pipelines.d";
  ASSERT_EQ(run({"mkdir", "-p", dir}, 5).exit_code, 0);
  std::ofstream(dir + "/ladder.conf")
      << "[pipeline small]\nmatch=live/y\ntrigger=publish\noutput=transcode\n"
         "launch=estuarysrc name=src stream={name} estuarysink name=r stream={name}_small\n"
         "video=src.video ! queue ! h264parse ! avdec_h264 ! videoscale ! video/x-raw,width=160,height=120 ! "
         "@h264enc bitrate=200 gop=25 tune=latency preset=fastest ! h264parse ! r.\n"
         "audio=src.audio ! queue ! aacparse ! r.\n";
  server = std::make_unique<Server>(std::map<std::string, std::string>{{"ESTUARY_HLS_TARGET_DURATION_S", "1"}},
                                    std::vector<std::string>{"--pipelines", dir});
  ASSERT_TRUE(server->start()) << server->log();
  Process pub = start_publisher(server->rtmp_url("live/y"), 320, 240, pub_log("pub"), 40, 25);
  ASSERT_TRUE(wait_for_stream(*server, "live/y", 10000));
  ASSERT_TRUE(wait_for_stream(*server, "live/y_small", 15000)) << server->log();
  ASSERT_GE(wait_for_segments(*server, "/live/y_small.m3u8", 1).segments.size(), 1u);
  ASSERT_GE(wait_for_segments(*server, "/live/y.m3u8", 1).segments.size(), 1u);
  std::string master;
  ASSERT_EQ(http_request("GET", http_base(*server) + "/live/y_abr.m3u8", &master), 200);
  EXPECT_NE(master.find("\ny.m3u8\n"), std::string::npos) << master;
  EXPECT_NE(master.find("\ny_small.m3u8\n"), std::string::npos) << master;
  const Media source = get_media(*server, "/live/y.m3u8");
  EXPECT_TRUE(std::regex_search(
      source.text, std::regex("#EXT-X-RENDITION-REPORT:URI=\"y_small.m3u8\",LAST-MSN=\\d+,LAST-PART=\\d+")))
      << source.text;
  const Media small = get_media(*server, "/live/y_small.m3u8");
  EXPECT_TRUE(
      std::regex_search(small.text, std::regex("#EXT-X-RENDITION-REPORT:URI=\"y.m3u8\",LAST-MSN=\\d+,LAST-PART=\\d+")))
      << small.text;
  expect_av(probe_streams(http_base(*server) + "/live/y_small.m3u8"), "h264", 160, 120, "rendition");
}

// The publisher stops while a player waits on the segment being made (chunked, low-latency DASH)
// and on the next part: neither request is left hanging past the hold time.
TEST_F(Cmaf, StoppedPublisherDoesNotLeaveHeldRequestsHanging) {
  start();
  Process pub = start_publisher(server->rtmp_url("live/k"), 320, 240, pub_log("pub"), 30, 25);
  ASSERT_TRUE(wait_for_stream(*server, "live/k", 10000));
  const Media m = wait_for_segments(*server, "/live/k.m3u8", 2);
  std::smatch hm;
  ASSERT_TRUE(std::regex_match(m.hint, hm, std::regex("k-(\\d+)\\.(\\d+)\\.m4s"))) << m.text;
  int seg_status = -1, part_status = -1;
  double seg_s = 0, part_s = 0;
  std::thread seg([&] {
    std::string body;
    auto t0 = Clock::now();
    seg_status = http_request("GET", http_base(*server) + "/live/k-" + hm[1].str() + ".m4s", &body);
    seg_s = seconds_since(t0);
  });
  std::thread part([&] {
    std::string body;
    auto t0 = Clock::now();
    part_status =
        http_request("GET", http_base(*server) + "/live/k-" + std::to_string(std::stol(hm[1]) + 1) + ".3.m4s", &body);
    part_s = seconds_since(t0);
  });
  std::this_thread::sleep_for(100ms);
  pub.kill_now();
  seg.join();
  part.join();
  EXPECT_NE(seg_status, 0) << "the open segment's request timed out on the client";
  EXPECT_NE(part_status, 0) << "the part request timed out on the client";
  EXPECT_LT(seg_s, 4.9);
  EXPECT_LT(part_s, 4.9);
  EXPECT_TRUE(part_status == 503 || part_status == 404 || part_status == 200) << part_status;
}
