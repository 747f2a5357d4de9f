// Owns: unit tests of the RTSP record media's bin (pipelines/rtp_record.h): which announced tracks
// are carried, the launch line gst-rtsp-server gets, and that the valves keep a not yet admitted
// publisher off the stream bus until open() and take it off again at stop(); several audio tracks
// (up to the bound) each on its own bus pad with its language.
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

// As gst-rtsp-server does: the launch line's bin for `tracks` inside a playing pipeline, taken over
// by a RecordIngest (ingest null and a test failure added when any step fails).
struct RecordMedia {
  Ref<GstElement> pipeline;
  GstElement* bin = nullptr;  // owned by the pipeline
  std::unique_ptr<RecordIngest> ingest;
  ~RecordMedia() {
    if (ingest) ingest->stop();
    if (pipeline) gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  }
};
void make_record_media(const std::string& stream, const std::vector<RecordTrack>& tracks, RecordMedia* media) {
  init_gst();
  auto launch = RecordIngest::launch(tracks);
  ASSERT_TRUE(launch);
  GError* err = nullptr;
  media->bin = gst_parse_launch_full(launch->c_str(), nullptr, GST_PARSE_FLAG_FATAL_ERRORS, &err);
  ASSERT_NE(media->bin, nullptr) << (err ? err->message : "");
  media->pipeline = Ref<GstElement>::adopt_floating(gst_pipeline_new(nullptr));
  gst_bin_add(GST_BIN(media->pipeline.get()), media->bin);
  auto ingest = RecordIngest::attach(stream, media->bin, tracks);
  ASSERT_TRUE(ingest) << ingest.error().message;
  media->ingest = std::move(*ingest);
  ASSERT_EQ(gst_element_set_state(media->pipeline.get(), GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS);
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

// Up to kMaxRecordAudioTracks audio tracks (audio_0 ... audio_7), each its own depayloader chain.
TEST(RtpRecord, SeveralAudioTracksUpToTheBound) {
  std::vector<RecordTrack> tracks = {{true, "H264", ""}};
  for (size_t i = 0; i < kMaxRecordAudioTracks; ++i)
    tracks.push_back({false, i % 2 ? "OPUS" : "MPEG4-GENERIC", i == 0 ? "eng" : ""});
  auto eight = RecordIngest::launch(tracks);
  ASSERT_TRUE(eight) << eight.error().message;
  EXPECT_NE(eight->find("rtpmp4gdepay name=depay1 ! aacparse ! valve name=gate1"), std::string::npos) << *eight;
  EXPECT_NE(eight->find("rtpopusdepay name=depay8 ! opusparse ! valve name=gate8"), std::string::npos) << *eight;
  tracks.push_back({false, "MP4A-LATM", ""});
  auto nine = RecordIngest::launch(tracks);
  ASSERT_FALSE(nine);
  EXPECT_NE(nine.error().message.find("at most one video and 8 audio tracks (announced 1 video, 9 audio)"),
            std::string::npos)
      << nine.error().message;
}

// Two audio tracks open onto the bus as two tracks, with the announced language on the first.
TEST(RtpRecord, TwoAudioTracksOpenAsTwoBusTracks) {
  RecordMedia media;
  make_record_media("unit/rec2", {{false, "MPEG4-GENERIC", "eng"}, {false, "OPUS", "fra"}}, &media);
  ASSERT_TRUE(media.ingest);
  ASSERT_TRUE(media.ingest->open(1 << 20, {}));
  // The sink's pads: sink_1 (eng) and sink_2 (fra).
  GstElement* sink = nullptr;
  GstIterator* it = gst_bin_iterate_elements(GST_BIN(media.bin));
  GValue item = G_VALUE_INIT;
  while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
    auto* e = GST_ELEMENT(g_value_get_object(&item));
    if (g_str_has_prefix(GST_OBJECT_NAME(gst_element_get_factory(e)), "estuarysink")) sink = e;
    g_value_reset(&item);
  }
  g_value_unset(&item);
  gst_iterator_free(it);
  ASSERT_NE(sink, nullptr);
  for (auto [pad, language] : {std::pair{"sink_1", "eng"}, std::pair{"sink_2", "fra"}}) {
    Ref<GstPad> p = Ref<GstPad>::adopt(gst_element_get_static_pad(sink, pad));
    ASSERT_TRUE(p) << pad;
    gchar* lang = nullptr;
    g_object_get(p.get(), "language", &lang, nullptr);
    EXPECT_STREQ(lang, language) << pad;
    g_free(lang);
  }
}

TEST(RtpRecord, NothingReachesTheBusBeforeOpenAndStopLeavesIt) {
  RecordMedia media;
  make_record_media("unit/rec", {{true, "H264"}}, &media);
  ASSERT_TRUE(media.ingest);
  BusStats stats;
  EXPECT_FALSE(bus_stats("unit/rec", &stats)) << "published before open()";

  ASSERT_TRUE(media.ingest->open(1 << 20, {}));
  EXPECT_TRUE(media.ingest->opened());
  EXPECT_TRUE(bus_stats("unit/rec", &stats));
  media.ingest->stop();
  EXPECT_FALSE(bus_stats("unit/rec", &stats)) << "still published after stop()";
}

}  // namespace
