// Owns: tests of the AV1 OBU walker, sequence header parser, av1C record and codec string
// (pipelines/av1_config.h) on a real sequence header (libaom, 160x120 4:2:0 8-bit, made with
// `ffmpeg -f lavfi -i testsrc2=size=160x120:rate=15 -t 1 -c:v libaom-av1 -usage realtime -f obu a.obu`),
// the MP4 sample form of a temporal unit, and malformed OBUs.
#include <gtest/gtest.h>

#include "pipelines/av1_config.h"
#include "pipelines/cmaf_writer.h"

using namespace estuary::pipelines;

namespace {

// The first temporal unit's start: a temporal delimiter OBU, then the sequence header OBU.
const std::vector<uint8_t> kTemporalUnitStart = {0x12, 0x00, 0x0a, 0x0a, 0x00, 0x00, 0x00,
                                                 0x03, 0xb4, 0xff, 0x73, 0x6b, 0xe4, 0x01};
const std::vector<uint8_t> kSequenceHeaderObu(kTemporalUnitStart.begin() + 2, kTemporalUnitStart.end());

}  // namespace

TEST(Av1Config, SequenceHeaderOfARealStream) {
  auto obus = av1::split_obus(kTemporalUnitStart.data(), kTemporalUnitStart.size());
  ASSERT_TRUE(obus);
  ASSERT_EQ(obus->size(), 2u);
  EXPECT_EQ((*obus)[0].type, av1::temporal_delimiter);
  EXPECT_EQ((*obus)[1].type, av1::sequence_header);
  auto s = av1::parse_sequence_header((*obus)[1].payload, (*obus)[1].payload_size);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->profile, 0);
  EXPECT_EQ(s->level, 0);
  EXPECT_EQ(s->tier, 0);
  EXPECT_EQ(s->bit_depth, 8);
  EXPECT_FALSE(s->monochrome);
  EXPECT_TRUE(s->subsampling_x);
  EXPECT_TRUE(s->subsampling_y);
  EXPECT_EQ(s->max_width, 160u);
  EXPECT_EQ(s->max_height, 120u);
}

TEST(Av1Config, Av1cRecordAndCodecString) {
  auto av1c = av1::av1c_from_obus(kTemporalUnitStart.data(), kTemporalUnitStart.size());
  std::vector<uint8_t> expect = {0x81, 0x00, 0x0c, 0x00};  // version 1; profile 0 level 0; 4:2:0 8-bit
  expect.insert(expect.end(), kSequenceHeaderObu.begin(), kSequenceHeaderObu.end());
  EXPECT_EQ(av1c, expect);
  EXPECT_EQ(av1::av1_codec_string(av1c), "av01.0.00M.08");
  // A record from elsewhere (E-RTMP, Matroska) with wrong fields is rebuilt from its configOBUs.
  std::vector<uint8_t> stale = {0x81, 0x4d, 0xff, 0x00};
  stale.insert(stale.end(), kSequenceHeaderObu.begin(), kSequenceHeaderObu.end());
  EXPECT_EQ(av1::av1c_from_record(stale), expect);
  EXPECT_TRUE(av1::av1c_from_record({0x81, 0x00, 0x0c, 0x00}).empty()) << "no configOBUs";
  EXPECT_EQ(av1::av1_codec_string({0x81, 0x48, 0xc0, 0x00}), "av01.2.08H.10");
  cmaf::TrackConfig t;
  t.codec = cmaf::Codec::av1;
  t.codec_private = av1c;
  EXPECT_EQ(t.codec_string(), "av01.0.00M.08");
  EXPECT_TRUE(t.is_video());
  t.width = 160;
  t.height = 120;
  auto init = cmaf::write_init_segment({t});
  std::string text(init.begin(), init.end());
  EXPECT_NE(text.find("av01"), std::string::npos);
  EXPECT_NE(text.find("av1C"), std::string::npos);
}

TEST(Av1Config, Mp4SampleLeavesOutTemporalDelimiters) {
  auto sample = av1::mp4_sample(kTemporalUnitStart.data(), kTemporalUnitStart.size());
  ASSERT_TRUE(sample);
  EXPECT_EQ(*sample, kSequenceHeaderObu);
  EXPECT_TRUE(av1::has_sequence_header(sample->data(), sample->size()));
  EXPECT_FALSE(av1::has_sequence_header(kTemporalUnitStart.data(), 2));
}

TEST(Av1Config, MalformedObusAreRefused) {
  const std::vector<uint8_t> no_size = {0x08, 0x00};    // sequence header without obu_has_size_field
  const std::vector<uint8_t> forbidden = {0x92, 0x00};  // forbidden bit set
  const std::vector<uint8_t> truncated = {0x0a, 0x0a, 0x00, 0x00};
  const std::vector<uint8_t> long_leb = {0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  for (const auto* v : {&no_size, &forbidden, &truncated, &long_leb}) {
    EXPECT_FALSE(av1::split_obus(v->data(), v->size()));
    EXPECT_FALSE(av1::mp4_sample(v->data(), v->size()));
    EXPECT_TRUE(av1::av1c_from_obus(v->data(), v->size()).empty());
  }
  // A sequence header cut short parses to nothing.
  EXPECT_FALSE(av1::parse_sequence_header(kSequenceHeaderObu.data() + 2, 5));
  EXPECT_FALSE(av1::parse_sequence_header(nullptr, 0));
  // An OBU count bound.
  const std::vector<uint8_t> tds = {0x12, 0x00, 0x12, 0x00, 0x12, 0x00};
  EXPECT_FALSE(av1::split_obus(tds.data(), tds.size(), 2));
  EXPECT_TRUE(av1::split_obus(tds.data(), tds.size(), 3));
}
