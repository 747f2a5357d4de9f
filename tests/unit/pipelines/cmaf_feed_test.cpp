// Owns: tests of the CMAF feed with real encoders: test sources encoded (x264/x265/aom, AAC/Opus) into
// the feed's appsinks, the init segment and parts written to a file that ffprobe reads back with
// the right codecs, size and frame count; caps the packager cannot take are refused.
#include <glib/gstdio.h>
#include <gtest/gtest.h>

#include <fstream>
#include <mutex>

#include "pipelines/cmaf_feed.h"

using namespace estuary::pipelines;

namespace {

struct Collect : CmafPartSink {
  std::mutex mu;
  std::vector<uint8_t> init;
  std::vector<cmaf::TrackConfig> tracks;
  std::vector<cmaf::Part> parts;
  std::string error;
  void on_init(std::vector<uint8_t> i, std::vector<cmaf::TrackConfig> t) override {
    std::lock_guard<std::mutex> l(mu);
    init = std::move(i);
    tracks = std::move(t);
  }
  void on_part(cmaf::Part p) override {
    std::lock_guard<std::mutex> l(mu);
    parts.push_back(std::move(p));
  }
  void on_error(const std::string& m) override {
    std::lock_guard<std::mutex> l(mu);
    error = m;
  }
};

// Runs the launch line to EOS (bounded) and returns what the feed produced.
std::shared_ptr<Collect> run_feed(const std::string& launch) {
  auto sink = std::make_shared<Collect>();
  auto feed = CmafFeed::create("test/cmaf", launch, {}, sink);
  EXPECT_TRUE(bool(feed)) << (feed ? "" : feed.error().message);
  if (!feed) return sink;
  bool done = false;
  PipelineEvents ev;
  ev.on_eos = [&] { done = true; };
  ev.on_error = [&](const std::string& e, const std::string& m) {
    ADD_FAILURE() << e << ": " << m;
    done = true;
  };
  feed.value()->pipeline().set_events(ev);
  EXPECT_TRUE(bool(feed.value()->pipeline().start()));
  const gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
  while (!done && g_get_monotonic_time() < deadline) g_main_context_iteration(nullptr, FALSE), g_usleep(2000);
  EXPECT_TRUE(done) << "pipeline did not finish";
  return sink;
}

std::string ffprobe(const std::string& path) {
  gchar* out = nullptr;
  gint status = 0;
  std::string cmd =
      "ffprobe -v error -count_frames -show_entries stream=codec_name,width,height,nb_read_frames "
      "-of compact=p=0:nk=1 " +
      path;
  EXPECT_TRUE(g_spawn_command_line_sync(cmd.c_str(), &out, nullptr, &status, nullptr));
  std::string s = out ? out : "";
  g_free(out);
  return s;
}

std::string write_file(const Collect& c) {
  gchar* dir = g_dir_make_tmp("cmaf-XXXXXX", nullptr);
  std::string path = std::string(dir) + "/out.mp4";
  g_free(dir);
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(c.init.data()), std::streamsize(c.init.size()));
  for (const auto& p : c.parts) f.write(reinterpret_cast<const char*>(p.bytes.data()), std::streamsize(p.bytes.size()));
  return path;
}

}  // namespace

TEST(CmafFeed, H264AacPlaysBackInFfprobe) {
  auto c = run_feed(
      "videotestsrc num-buffers=120 ! video/x-raw,width=320,height=240,framerate=30/1 ! "
      "x264enc speed-preset=ultrafast key-int-max=30 bframes=2 ! h264parse ! appsink name=video "
      "audiotestsrc num-buffers=180 ! audio/x-raw,rate=48000,channels=2 ! avenc_aac ! aacparse ! appsink name=audio");
  ASSERT_EQ(c->error, "");
  ASSERT_EQ(c->tracks.size(), 2u);
  EXPECT_EQ(c->tracks[0].codec_string().rfind("avc1.", 0), 0u);
  EXPECT_EQ(c->tracks[1].codec_string(), "mp4a.40.2");
  ASSERT_GT(c->parts.size(), 10u);
  // Keyframe every second, segments of 2 s: segments 0 and 1 are complete and begin independent.
  int segment_starts = 0;
  for (const auto& p : c->parts) {
    EXPECT_LE(p.duration_ns, 201'000'000);
    if (p.index == 0) {
      EXPECT_TRUE(p.independent);
      ++segment_starts;
    }
  }
  EXPECT_GE(segment_starts, 2);
  const std::string probe = ffprobe(write_file(*c));
  EXPECT_NE(probe.find("h264|320|240|"), std::string::npos) << probe;
  EXPECT_NE(probe.find("aac|"), std::string::npos) << probe;
  // All 120 frames but the ones still held in the open part at EOS.
  const auto h264 = probe.find("h264|320|240|");
  ASSERT_NE(h264, std::string::npos);
  const int frames = std::atoi(probe.c_str() + h264 + 13);
  EXPECT_GE(frames, 110) << probe;
  EXPECT_LE(frames, 120) << probe;
}

TEST(CmafFeed, H265OpusPlaysBackInFfprobe) {
  auto c = run_feed(
      "videotestsrc num-buffers=60 ! video/x-raw,format=I420,width=320,height=240,framerate=30/1 ! "
      "x265enc speed-preset=ultrafast key-int-max=30 ! h265parse ! appsink name=video "
      "audiotestsrc num-buffers=100 ! audio/x-raw,rate=48000,channels=2 ! opusenc ! opusparse ! appsink name=audio");
  ASSERT_EQ(c->error, "");
  ASSERT_EQ(c->tracks.size(), 2u);
  EXPECT_EQ(c->tracks[0].codec_string().rfind("hvc1.1.", 0), 0u) << c->tracks[0].codec_string();
  EXPECT_EQ(c->tracks[1].codec_string(), "opus");
  const std::string probe = ffprobe(write_file(*c));
  EXPECT_NE(probe.find("hevc|320|240|"), std::string::npos) << probe;
  EXPECT_NE(probe.find("opus|"), std::string::npos) << probe;
}

TEST(CmafFeed, RefusesCapsItCannotPackage) {
  GstCaps* caps = gst_caps_from_string("video/x-vp8,width=320,height=240");
  auto r = cmaf_track_from_caps(caps);
  gst_caps_unref(caps);
  ASSERT_FALSE(bool(r));
  EXPECT_NE(r.error().message.find("video/x-vp8"), std::string::npos);
  caps = gst_caps_from_string("video/x-h264,stream-format=avc,width=320,height=240");
  r = cmaf_track_from_caps(caps);
  gst_caps_unref(caps);
  ASSERT_FALSE(bool(r)) << "no codec_data";
}

TEST(CmafFeed, LaunchWithoutAppsinkIsRefused) {
  auto feed = CmafFeed::create("test/x", "videotestsrc ! fakesink", {}, std::make_shared<Collect>());
  ASSERT_FALSE(bool(feed));
  EXPECT_NE(feed.error().message.find("appsink"), std::string::npos);
}

TEST(CmafFeed, Av1OpusPlaysBackInFfprobe) {
  // av1parse gives temporal units with their temporal delimiters and no av1C in the caps: the feed
  // builds av1C from the first sequence header and leaves the delimiters out.
  auto c = run_feed(
      "videotestsrc num-buffers=30 ! video/x-raw,format=I420,width=160,height=120,framerate=15/1 ! "
      "av1enc usage-profile=realtime cpu-used=8 keyframe-max-dist=15 ! av1parse ! appsink name=video "
      "audiotestsrc num-buffers=100 ! audio/x-raw,rate=48000,channels=2 ! opusenc ! opusparse ! appsink name=audio");
  ASSERT_EQ(c->error, "");
  ASSERT_EQ(c->tracks.size(), 2u);
  const std::string codec = c->tracks[0].codec_string();
  EXPECT_EQ(codec.rfind("av01.0.", 0), 0u) << codec;
  EXPECT_EQ(codec.substr(codec.size() - 3), ".08") << codec;
  EXPECT_EQ(c->tracks[0].width, 160);
  ASSERT_FALSE(c->parts.empty());
  EXPECT_TRUE(c->parts[0].independent);
  const std::string probe = ffprobe(write_file(*c));
  EXPECT_NE(probe.find("av1|160|120|"), std::string::npos) << probe;
  EXPECT_NE(probe.find("opus|"), std::string::npos) << probe;
}
