// Owns: unit tests of the RTSP record media's bin (pipelines/rtp_record.h): which announced tracks
// are carried, the launch line gst-rtsp-server gets, and that the valves keep a not yet admitted
// publisher off the stream bus until open() and take it off again at stop().
#include <gtest/gtest.h>

#include "pipelines/rtp_record.h"
#include "pipelines/stream_bus.h"

using namespace estuary;
using namespace estuary::pipelines;

namespace {

void init_gst() {
  if (!gst_is_initialized()) gst_init(nullptr, nullptr);
  static bool registered = false;
  if (!registered) register_estuary_elements();
  registered = true;
}

TEST(RtpRecord, KnownEncodingsAnyCase) {
  EXPECT_STREQ(rtp_depay_chain("h264").first, "rtph264depay");
  EXPECT_STREQ(rtp_depay_chain("H265").second, "h265parse");
  EXPECT_STREQ(rtp_depay_chain("mpeg4-generic").first, "rtpmp4gdepay");
  EXPECT_STREQ(rtp_depay_chain("MP4A-LATM").first, "rtpmp4adepay");
  EXPECT_STREQ(rtp_depay_chain("opus").second, "opusparse");
  EXPECT_EQ(rtp_depay_chain("VP8").first, nullptr);
  EXPECT_EQ(rtp_depay_chain(nullptr).first, nullptr);
}

TEST(RtpRecord, LaunchNamesDepayloadersAndRefusesWhatItCannotCarry) {
  auto ok = RecordIngest::launch({{true, "H264"}, {false, "MPEG4-GENERIC"}});
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_NE(ok->find("rtph264depay name=depay0 ! h264parse ! valve name=gate0 drop=true"), std::string::npos) << *ok;
  EXPECT_NE(ok->find("rtpmp4gdepay name=depay1 ! aacparse ! valve name=gate1"), std::string::npos) << *ok;

  EXPECT_FALSE(RecordIngest::launch({}));
  auto two_videos = RecordIngest::launch({{true, "H264"}, {true, "H265"}});
  ASSERT_FALSE(two_videos);
  EXPECT_NE(two_videos.error().message.find("at most one video"), std::string::npos);
  auto pcmu = RecordIngest::launch({{false, "PCMU"}});
  ASSERT_FALSE(pcmu);
  EXPECT_NE(pcmu.error().message.find("\"PCMU\" is not carried"), std::string::npos);
}

TEST(RtpRecord, NothingReachesTheBusBeforeOpenAndStopLeavesIt) {
  init_gst();
  const std::vector<RecordTrack> tracks = {{true, "H264"}};
  auto launch = RecordIngest::launch(tracks);
  ASSERT_TRUE(launch);
  // As gst-rtsp-server does: the launch line's bin inside a pipeline.
  GError* err = nullptr;
  GstElement* bin = gst_parse_launch_full(launch->c_str(), nullptr, GST_PARSE_FLAG_FATAL_ERRORS, &err);
  ASSERT_NE(bin, nullptr) << (err ? err->message : "");
  auto pipeline = Ref<GstElement>::adopt_floating(gst_pipeline_new(nullptr));
  gst_bin_add(GST_BIN(pipeline.get()), bin);
  auto ingest = RecordIngest::attach("unit/rec", bin, tracks);
  ASSERT_TRUE(ingest) << ingest.error().message;
  ASSERT_EQ(gst_element_set_state(pipeline.get(), GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS);
  BusStats stats;
  EXPECT_FALSE(bus_stats("unit/rec", &stats)) << "published before open()";

  ASSERT_TRUE((*ingest)->open(1 << 20, {}));
  EXPECT_TRUE((*ingest)->opened());
  EXPECT_TRUE(bus_stats("unit/rec", &stats));
  (*ingest)->stop();
  EXPECT_FALSE(bus_stats("unit/rec", &stats)) << "still published after stop()";
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
}

}  // namespace
