// Tests the RTMP / FLV media message parser (pipelines/flv_media.h): legacy AVC/HEVC/AAC, enhanced
// RTMP video and audio FourCCs with every packet type, ModEx, and the hostile inputs that must be a
// clean error (unknown FourCC, truncated or absurd configuration records, NAL units overrunning).
#include <gtest/gtest.h>

#include <vector>

#include "pipelines/flv_media.h"

using namespace estuary::pipelines;

namespace {

using Bytes = std::vector<uint8_t>;
using Kind = FlvMediaUnit::Kind;

Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A minimal hvcC: version 1, 4-byte NAL lengths, one VPS array with one 3-byte NAL unit.
Bytes hvcc() {
  Bytes b(23, 0);
  b[0] = 1;
  b[21] = 0x03;
  b[22] = 1;                                                        // one array
  return cat(b, {0x20, 0x00, 0x01, 0x00, 0x03, 0x40, 0x01, 0x0c});  // VPS, 1 NAL of 3 bytes
}

Bytes avcc() { return {1, 0x64, 0, 0x1f, 0xff, 0xe1, 0x00, 0x02, 0x67, 0x64, 0x01, 0x00, 0x01, 0x68}; }

Bytes opus_head() {
  Bytes b = {'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0};
  return b;
}

Bytes ex_video(uint8_t frame_type, uint8_t packet_type, const char* fourcc, const Bytes& rest) {
  Bytes b = {uint8_t(0x80 | (frame_type << 4) | packet_type), uint8_t(fourcc[0]), uint8_t(fourcc[1]),
             uint8_t(fourcc[2]), uint8_t(fourcc[3])};
  return cat(b, rest);
}

Bytes ex_audio(uint8_t packet_type, const char* fourcc, const Bytes& rest) {
  Bytes b = {uint8_t(0x90 | packet_type), uint8_t(fourcc[0]), uint8_t(fourcc[1]), uint8_t(fourcc[2]),
             uint8_t(fourcc[3])};
  return cat(b, rest);
}

FlvMediaUnit parse_ok(uint8_t type, const Bytes& b) {
  auto r = parse_flv_media(type, b.data(), b.size());
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : FlvMediaUnit{};
}

std::string parse_err(uint8_t type, const Bytes& b) {
  auto r = parse_flv_media(type, b.data(), b.size());
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.error().message;
}

}  // namespace

TEST(FlvMedia, LegacyAvcConfigAndFrame) {
  const Bytes seq = cat({0x17, 0, 0, 0, 0}, avcc());  // the unit points into it
  auto cfg = parse_ok(9, seq);
  EXPECT_EQ(cfg.kind, Kind::config);
  EXPECT_EQ(cfg.codec, MediaCodec::h264);
  EXPECT_EQ(cfg.size, avcc().size());
  EXPECT_EQ(nal_length_size(MediaCodec::h264, cfg.data, cfg.size), 4u);
  const Bytes frame = {0x27, 1, 0xff, 0xff, 0xd8, 0, 0, 0, 1, 0x41};  // inter frame, cts -40
  auto f = parse_ok(9, frame);
  EXPECT_EQ(f.kind, Kind::frame);
  EXPECT_FALSE(f.keyframe);
  EXPECT_EQ(f.cts_ms, -40);
  EXPECT_EQ(f.size, 5u);
  EXPECT_TRUE(check_length_prefixed(f.data, f.size, 4).ok());
}

TEST(FlvMedia, LegacyHevcCodecId12) {
  auto cfg = parse_ok(9, cat({0x1c, 0, 0, 0, 0}, hvcc()));
  EXPECT_EQ(cfg.kind, Kind::config);
  EXPECT_EQ(cfg.codec, MediaCodec::h265);
  auto f = parse_ok(9, {0x1c, 1, 0, 0, 40, 0, 0, 0, 1, 0x26});
  EXPECT_EQ(f.kind, Kind::frame);
  EXPECT_TRUE(f.keyframe);
  EXPECT_EQ(f.cts_ms, 40);
}

TEST(FlvMedia, LegacyAacAndOthers) {
  auto cfg = parse_ok(8, {0xaf, 0, 0x12, 0x10});  // AAC LC 44.1 kHz stereo
  EXPECT_EQ(cfg.kind, Kind::config);
  EXPECT_EQ(cfg.codec, MediaCodec::aac);
  EXPECT_EQ(cfg.rate, 44100u);
  EXPECT_EQ(cfg.channels, 2u);
  auto f = parse_ok(8, {0xaf, 1, 0x21, 0x10});
  EXPECT_EQ(f.kind, Kind::frame);
  EXPECT_EQ(f.size, 2u);
  auto mp3 = parse_ok(8, {0x2f, 0xff, 0xfb});
  EXPECT_EQ(mp3.codec, MediaCodec::mp3);
  EXPECT_EQ(mp3.rate, 44100u);
  auto speex = parse_ok(8, {0xb2, 1, 2});
  EXPECT_EQ(speex.kind, Kind::skip);
  EXPECT_EQ(speex.codec, MediaCodec::none);
  auto vp6 = parse_ok(9, {0x14, 1, 2});
  EXPECT_EQ(vp6.codec, MediaCodec::none);
}

TEST(FlvMedia, EnhancedHevcPacketTypes) {
  auto cfg = parse_ok(9, ex_video(1, 0, "hvc1", hvcc()));
  EXPECT_EQ(cfg.kind, Kind::config);
  EXPECT_TRUE(cfg.enhanced);
  EXPECT_EQ(cfg.codec, MediaCodec::h265);
  auto coded = parse_ok(9, ex_video(1, 1, "hvc1", {0, 0, 80, 0, 0, 0, 1, 0x26}));
  EXPECT_EQ(coded.kind, Kind::frame);
  EXPECT_TRUE(coded.keyframe);
  EXPECT_EQ(coded.cts_ms, 80);
  EXPECT_EQ(coded.size, 5u);
  auto x = parse_ok(9, ex_video(2, 3, "hvc1", {0, 0, 0, 1, 0x02}));  // CodedFramesX: no cts
  EXPECT_EQ(x.kind, Kind::frame);
  EXPECT_FALSE(x.keyframe);
  EXPECT_EQ(x.cts_ms, 0);
  EXPECT_EQ(x.size, 5u);
  EXPECT_EQ(parse_ok(9, ex_video(1, 2, "hvc1", {})).kind, Kind::skip);         // SequenceEnd
  EXPECT_EQ(parse_ok(9, ex_video(1, 4, "hvc1", {2, 0, 0})).kind, Kind::skip);  // Metadata
  EXPECT_EQ(parse_ok(9, ex_video(1, 5, "av01", {0, 1})).kind, Kind::skip);     // MPEG2TSSequenceStart
  EXPECT_EQ(parse_ok(9, ex_video(5, 1, "hvc1", {0})).kind, Kind::skip);        // command frame
}

TEST(FlvMedia, EnhancedAv1Vp9Avc) {
  auto av1 = parse_ok(9, ex_video(1, 0, "av01", {0x81, 0x08, 0x0c, 0x00}));
  EXPECT_EQ(av1.codec, MediaCodec::av1);
  EXPECT_EQ(av1.kind, Kind::config);
  auto av1f = parse_ok(9, ex_video(1, 1, "av01", {0x12, 0x00}));  // no cts for AV1
  EXPECT_EQ(av1f.kind, Kind::frame);
  EXPECT_EQ(av1f.size, 2u);
  auto vp9 = parse_ok(9, ex_video(1, 0, "vp09", {1, 0, 0, 0, 0, 10, 0x80, 2, 2, 2, 0, 0}));
  EXPECT_EQ(vp9.codec, MediaCodec::vp9);
  auto avc = parse_ok(9, ex_video(1, 0, "avc1", avcc()));
  EXPECT_EQ(avc.codec, MediaCodec::h264);
  EXPECT_EQ(avc.kind, Kind::config);
}

TEST(FlvMedia, EnhancedAudio) {
  auto opus = parse_ok(8, ex_audio(0, "Opus", opus_head()));
  EXPECT_EQ(opus.codec, MediaCodec::opus);
  EXPECT_EQ(opus.kind, Kind::config);
  EXPECT_EQ(opus.channels, 2u);
  EXPECT_EQ(opus.rate, 48000u);
  auto of = parse_ok(8, ex_audio(1, "Opus", {0xfc, 0xff, 0xfe}));
  EXPECT_EQ(of.kind, Kind::frame);
  EXPECT_EQ(of.size, 3u);
  auto aac = parse_ok(8, ex_audio(0, "mp4a", {0x11, 0x90}));  // AAC LC 48 kHz stereo
  EXPECT_EQ(aac.codec, MediaCodec::aac);
  EXPECT_EQ(aac.rate, 48000u);
  EXPECT_EQ(parse_ok(8, ex_audio(1, ".mp3", {0xff, 0xfb})).codec, MediaCodec::mp3);
  EXPECT_EQ(parse_ok(8, ex_audio(1, "ac-3", {0x0b, 0x77})).codec, MediaCodec::ac3);
  EXPECT_EQ(parse_ok(8, ex_audio(1, "ec-3", {0x0b, 0x77})).codec, MediaCodec::eac3);
}

TEST(FlvMedia, ModExIsSkipped) {
  // ModEx (7) with a 3-byte TimestampOffsetNano, then CodedFramesX of hvc1.
  Bytes b = {0x80 | 0x10 | 7, 2, 0, 0, 5, 0x03, 'h', 'v', 'c', '1', 0, 0, 0, 1, 0x26};
  auto u = parse_ok(9, b);
  EXPECT_EQ(u.codec, MediaCodec::h265);
  EXPECT_EQ(u.kind, Kind::frame);
  EXPECT_EQ(u.size, 5u);
  Bytes a = {0x97, 0, 0x7f, 0x01, 'O', 'p', 'u', 's', 0xfc};
  auto au = parse_ok(8, a);
  EXPECT_EQ(au.codec, MediaCodec::opus);
  EXPECT_EQ(au.kind, Kind::frame);
  // Multitrack is not carried.
  EXPECT_EQ(parse_ok(9, {0x80 | 0x10 | 6, 0, 'h', 'v', 'c', '1'}).kind, Kind::skip);
}

// Enhanced RTMP v2 multitrack: one unit per track with its id (OneTrack, ManyTracks,
// ManyTracksManyCodecs); a track overrunning its message is an error.
TEST(FlvMedia, MultitrackGivesOneUnitPerTrack) {
  std::vector<FlvMediaUnit> units;
  const Bytes one = {0x90 | 5, 0x01, 'O', 'p', 'u', 's', 3, 0xfc, 0xff};  // OneTrack, CodedFrames, id 3
  ASSERT_TRUE(parse_flv_media_tracks(8, one.data(), one.size(), &units).ok());
  ASSERT_EQ(units.size(), 1u);
  EXPECT_EQ(units[0].track_id, 3);
  EXPECT_EQ(units[0].codec, MediaCodec::opus);
  EXPECT_EQ(units[0].size, 2u);
  const Bytes many = {0x90 | 5, 0x10, 'm', 'p', '4', 'a', 0, 0, 0, 2, 0x11, 0x90, 1, 0, 0, 2, 0x12, 0x08};
  ASSERT_TRUE(parse_flv_media_tracks(8, many.data(), many.size(), &units).ok());
  ASSERT_EQ(units.size(), 2u);
  EXPECT_EQ(units[0].kind, Kind::config);
  EXPECT_EQ(units[0].rate, 48000u);
  EXPECT_EQ(units[1].track_id, 1);
  EXPECT_EQ(units[1].rate, 44100u);
  const Bytes codecs = {0x90 | 5, 0x21, 'O', 'p', 'u', 's', 0, 0, 0, 1, 0xfc, '.', 'm', 'p', '3', 1, 0, 0, 1, 0xff};
  ASSERT_TRUE(parse_flv_media_tracks(8, codecs.data(), codecs.size(), &units).ok());
  ASSERT_EQ(units.size(), 2u);
  EXPECT_EQ(units[0].codec, MediaCodec::opus);
  EXPECT_EQ(units[1].codec, MediaCodec::mp3);
  const Bytes overrun = {0x90 | 5, 0x11, 'm', 'p', '4', 'a', 0, 0, 0, 9, 1};
  EXPECT_FALSE(parse_flv_media_tracks(8, overrun.data(), overrun.size(), &units).ok());
  // A plain message is its one unit.
  const Bytes plain = {0xaf, 1, 0x21};
  ASSERT_TRUE(parse_flv_media_tracks(8, plain.data(), plain.size(), &units).ok());
  ASSERT_EQ(units.size(), 1u);
  EXPECT_EQ(units[0].track_id, 0);
}

TEST(FlvMedia, HostileInputsAreErrors) {
  EXPECT_NE(parse_err(9, ex_video(1, 1, "xyz1", {1, 2, 3})).find("unknown video FourCC"), std::string::npos);
  EXPECT_NE(parse_err(8, ex_audio(0, "fLaC", {1})).find("unknown audio FourCC"), std::string::npos);
  EXPECT_FALSE(parse_err(9, {0x90, 'h', 'v'}).empty());                   // truncated FourCC
  EXPECT_FALSE(parse_err(9, ex_video(1, 0, "hvc1", {1, 2, 3})).empty());  // truncated hvcC
  Bytes absurd = hvcc();
  absurd[22] = 255;  // 255 arrays promised, one present
  EXPECT_FALSE(parse_err(9, ex_video(1, 0, "hvc1", absurd)).empty());
  Bytes counts(23, 0);
  counts[0] = 1;
  counts[22] = 1;
  counts = cat(counts, {0x20, 0xff, 0xff});  // 65535 NAL units in one array
  EXPECT_NE(parse_err(9, ex_video(1, 0, "hvc1", counts)).find("too many"), std::string::npos);
  EXPECT_FALSE(parse_err(9, {0x17, 0, 0, 0, 0, 1, 0x64}).empty());              // truncated avcC
  EXPECT_FALSE(parse_err(9, ex_video(1, 0, "av01", {0x01, 0, 0, 0})).empty());  // bad av1C marker
  EXPECT_FALSE(parse_err(8, ex_audio(0, "Opus", {'O', 'p', 'u', 's'})).empty());
  EXPECT_FALSE(parse_err(8, {0xaf, 0, 0x00}).empty());             // truncated ASC
  EXPECT_FALSE(parse_err(9, ex_video(1, 9, "hvc1", {})).empty());  // unknown packet type
  Bytes modex_loop = {0x80 | 7};
  for (int i = 0; i < 20; i++) modex_loop.insert(modex_loop.end(), {0, 0, 0x07});
  EXPECT_FALSE(parse_err(9, modex_loop).empty());
  const Bytes overrun = {0, 0, 0, 9, 1, 2};
  EXPECT_FALSE(check_length_prefixed(overrun.data(), overrun.size(), 4).ok());
}

TEST(FlvMedia, EveryPrefixOfAValidMessageIsSafe) {
  // Truncations at every length are either a clean error or a shorter unit inside the input.
  for (const Bytes& m : {ex_video(1, 0, "hvc1", hvcc()), ex_video(1, 1, "hvc1", {0, 0, 1, 0, 0, 0, 1, 0x26}),
                         ex_audio(0, "Opus", opus_head()), cat({0x17, 0, 0, 0, 0}, avcc())}) {
    for (size_t n = 0; n <= m.size(); n++) {
      Bytes cut(m.begin(), m.begin() + long(n));
      auto r = parse_flv_media(m.size() > 5 && m[0] == 0x90 ? 8 : (m[0] >> 4) == 9 ? 8 : 9, cut.data(), cut.size());
      if (r.ok() && r->size) {
        EXPECT_GE(r->data, cut.data());
        EXPECT_LE(r->data + r->size, cut.data() + cut.size());
      }
    }
  }
}
