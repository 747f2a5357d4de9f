// Owns: unit tests of the sans-IO CMAF packager: the box writer, codec strings, init segments
// (ftyp + moov per track kind) and the fragmenter's cutting (parts within the target, segments on
// keyframes, continuous tfdt, sample flags, composition offsets, data offsets into the mdat).
#include <gtest/gtest.h>

#include <numeric>

#include "cmaf_boxes.h"
#include "pipelines/cmaf_box.h"
#include "pipelines/cmaf_fragmenter.h"
#include "pipelines/cmaf_track_split.h"

using namespace estuary::pipelines::cmaf;
using estuary::test::be32;
using estuary::test::BoxRef;
using estuary::test::find_all;
using estuary::test::read_trafs;
using estuary::test::top;

namespace {

// avcC of an H.264 High 3.1 stream with one SPS and one PPS (short stand-ins).
const std::vector<uint8_t> kAvcc = {1, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x64, 0x00, 0x1f, 1, 0, 2, 0x68, 0xee};
// hvcC header of an HEVC Main, level 3.1 stream (profile space 0, tier main, compat flags 0x60000000).
std::vector<uint8_t> hvcc() {
  std::vector<uint8_t> h(23, 0);
  h[0] = 1;
  h[1] = 0x01;
  h[2] = 0x60;
  h[6] = 0x90;
  h[12] = 93;
  return h;
}
const std::vector<uint8_t> kAsc = {0x11, 0x90};  // AAC-LC 48 kHz stereo

TrackConfig video(Codec c = Codec::h264) {
  TrackConfig t;
  t.codec = c;
  t.codec_private = c == Codec::h264 ? kAvcc : hvcc();
  t.width = 640;
  t.height = 360;
  return t;
}

TrackConfig audio(Codec c = Codec::aac) {
  TrackConfig t;
  t.codec = c;
  t.sample_rate = 48000;
  t.channels = 2;
  if (c == Codec::aac) t.codec_private = kAsc;
  return t;
}

Sample sample(int64_t dts, int64_t pts, bool key, size_t size) {
  Sample s;
  s.dts_ns = dts;
  s.pts_ns = pts;
  s.keyframe = key;
  s.data = std::make_shared<const std::vector<uint8_t>>(size, uint8_t(size & 0xff));
  return s;
}

}  // namespace

TEST(CmafBox, SizesArePatchedAndFieldsBigEndian) {
  BoxWriter w;
  w.begin("moov");
  w.begin_full("mvhd", 1, 0x000203);
  w.u32(0x01020304);
  w.end();
  w.end();
  auto b = w.take();
  ASSERT_EQ(b.size(), 8u + 12u + 4u);
  EXPECT_EQ(read_u32(&b[0]), 24u);
  EXPECT_EQ(std::string(b.begin() + 4, b.begin() + 8), "moov");
  EXPECT_EQ(read_u32(&b[8]), 16u);
  EXPECT_EQ(b[16], 1);
  EXPECT_EQ(read_u32(&b[16]) & 0xffffff, 0x203u);
  EXPECT_EQ(read_u32(&b[20]), 0x01020304u);
}

TEST(CmafBox, CodecStrings) {
  EXPECT_EQ(avc_codec_string(kAvcc), "avc1.64001f");
  EXPECT_EQ(hevc_codec_string(hvcc()), "hvc1.1.6.L93.90");
  EXPECT_EQ(aac_codec_string(kAsc), "mp4a.40.2");
  EXPECT_EQ(audio(Codec::opus).codec_string(), "opus");
  EXPECT_EQ(avc_codec_string({1, 2}), "");
}

TEST(CmafInit, H264AacHasTwoTracksWithSampleEntries) {
  auto init = write_init_segment({video(), audio()});
  auto boxes = top(init);
  ASSERT_EQ(boxes.size(), 2u);
  EXPECT_EQ(boxes[0].type, "ftyp");
  EXPECT_EQ(boxes[1].type, "moov");
  auto traks = find_all(init, boxes[1], "trak");
  ASSERT_EQ(traks.size(), 2u);
  EXPECT_EQ(find_all(init, find_all(init, boxes[1], "mvex").at(0), "trex").size(), 2u);
  auto entry = [&](const BoxRef& trak) {
    BoxRef stsd =
        find_all(init, find_all(init, find_all(init, find_all(init, trak, "mdia").at(0), "minf").at(0), "stbl").at(0),
                 "stsd")
            .at(0);
    return std::string(init.begin() + stsd.body + 12, init.begin() + stsd.body + 16);
  };
  EXPECT_EQ(entry(traks[0]), "avc1");
  EXPECT_EQ(entry(traks[1]), "mp4a");
  // mdhd timescales: 90 kHz video, sample rate audio.
  auto timescale = [&](const BoxRef& trak) {
    BoxRef mdhd = find_all(init, find_all(init, trak, "mdia").at(0), "mdhd").at(0);
    return estuary::test::be32(init, mdhd.body + 12);
  };
  EXPECT_EQ(timescale(traks[0]), 90000u);
  EXPECT_EQ(timescale(traks[1]), 48000u);
}

TEST(CmafInit, H265OpusSampleEntries) {
  auto init = write_init_segment({video(Codec::h265), audio(Codec::opus)});
  std::string text(init.begin(), init.end());
  EXPECT_NE(text.find("hvc1"), std::string::npos);
  EXPECT_NE(text.find("hvcC"), std::string::npos);
  EXPECT_NE(text.find("Opus"), std::string::npos);
  EXPECT_NE(text.find("dOps"), std::string::npos);
}

TEST(CmafInit, MissingCodecRecordIsRefused) {
  TrackConfig v = video();
  v.codec_private.clear();
  EXPECT_TRUE(write_init_segment({v}).empty());
}

TEST(CmafFragmenter, PartsSegmentsAndTimesOfAVStream) {
  // 30 fps video with a keyframe every 60 frames and B-frame-like composition offsets, AAC frames
  // of 1024 samples at 48 kHz; 10 s in total.
  Fragmenter f({video(), audio()}, {});
  std::vector<Part> parts;
  const int64_t frame = 1'000'000'000 / 30, aframe = 1024LL * 1'000'000'000 / 48000;
  const int64_t t0 = 5'000'000'000;
  int64_t next_audio = t0 - 50'000'000;  // audio starts a little before the first keyframe
  for (int i = 0; i < 300; ++i) {
    const int64_t dts = t0 + i * frame;
    while (next_audio <= dts) {
      for (auto& p : f.push(1, sample(next_audio, next_audio, true, 200))) parts.push_back(std::move(p));
      next_audio += aframe;
    }
    for (auto& p : f.push(0, sample(dts, dts + (i % 2 ? frame : 2 * frame), i % 60 == 0, 1000 + i)))
      parts.push_back(std::move(p));
  }
  for (auto& p : f.flush()) parts.push_back(std::move(p));
  ASSERT_GT(parts.size(), 40u);
  uint64_t next_tfdt[2] = {0, 0};
  bool have[2] = {false, false};
  uint64_t segment = 0;
  uint32_t index = 0;
  for (const Part& p : parts) {
    EXPECT_EQ(p.segment, segment);
    EXPECT_EQ(p.index, index);
    EXPECT_LE(p.duration_ns, 200'000'000 + 1'000'000) << "segment " << p.segment << " part " << p.index;
    EXPECT_EQ(p.independent, p.index == 0) << "keyframes only at segment starts here";
    auto boxes = top(p.bytes);
    ASSERT_EQ(boxes.size(), 2u);
    EXPECT_EQ(boxes[0].type, "moof");
    EXPECT_EQ(boxes[1].type, "mdat");
    auto trafs = read_trafs(p.bytes, boxes[0]);
    ASSERT_FALSE(trafs.empty());
    size_t expected_offset = boxes[0].size + 8;
    for (const auto& t : trafs) {
      const int k = int(t.track_id) - 1;
      if (!have[k]) next_tfdt[k] = t.tfdt;
      EXPECT_EQ(t.tfdt, next_tfdt[k]) << "track " << t.track_id << " has a gap";
      have[k] = true;
      EXPECT_EQ(size_t(t.data_offset), expected_offset);
      for (size_t i = 0; i < t.samples.size(); ++i) {
        const auto& s = t.samples[i];
        next_tfdt[k] += s.duration;
        expected_offset += s.size;
        if (k == 0) {
          EXPECT_EQ(s.duration, 3000u);
          const bool first_of_segment = p.index == 0 && i == 0;
          EXPECT_EQ(s.flags, first_of_segment ? 0x02000000u : 0x01010000u);
          EXPECT_TRUE(s.cto == 3000 || s.cto == 6000) << s.cto;
        } else {
          EXPECT_EQ(s.flags, 0x02000000u);
          EXPECT_EQ(s.cto, 0);
        }
      }
    }
    EXPECT_EQ(expected_offset, p.bytes.size()) << "the samples fill the mdat exactly";
    if (p.last_in_segment) {
      ++segment;
      index = 0;
    } else {
      ++index;
    }
  }
  EXPECT_EQ(segment, 5u) << "10 s of 2 s GOPs";
  // The first video tfdt is the 10 s origin lead in 90 kHz; audio from before it is left out.
  auto first = read_trafs(parts[0].bytes, top(parts[0].bytes)[0]);
  EXPECT_EQ(first[0].tfdt, 900000u);
}

TEST(CmafFragmenter, WaitsForKeyframeAndCutsSegmentsOnlyOnKeyframes) {
  FragmenterSettings s;
  s.segment_target_ns = 1'000'000'000;
  Fragmenter f({video()}, s);
  const int64_t frame = 40'000'000;  // 25 fps, keyframe every 40 frames (1.6 s)
  std::vector<Part> parts;
  EXPECT_TRUE(f.push(0, sample(0, 0, false, 10)).empty());  // before any keyframe: dropped
  for (int i = 1; i <= 200; ++i)
    for (auto& p : f.push(0, sample(i * frame, i * frame, i % 40 == 1, 10))) parts.push_back(std::move(p));
  double segment_ns = 0;
  for (const Part& p : parts) {
    segment_ns += double(p.duration_ns);
    if (p.last_in_segment) {
      EXPECT_NEAR(segment_ns, 1.6e9, 1e6) << "a segment lasts one GOP when the GOP is longer than the target";
      segment_ns = 0;
    }
  }
  EXPECT_EQ(parts.back().segment, 4u) << "four whole segments, the fifth open";
}

TEST(CmafFragmenter, AudioOnlyCutsOnAudioFrames) {
  Fragmenter f({audio()}, {});
  const int64_t aframe = 1024LL * 1'000'000'000 / 48000;
  std::vector<Part> parts;
  for (int i = 0; i < 300; ++i)
    for (auto& p : f.push(0, sample(i * aframe, i * aframe, true, 100))) parts.push_back(std::move(p));
  ASSERT_FALSE(parts.empty());
  for (const Part& p : parts) EXPECT_LE(p.duration_ns, 201'000'000);
  EXPECT_GE(parts.back().segment, 2u);
}

namespace {
// A fragment of two tracks whose samples carry their track and index in every byte.
std::vector<uint8_t> two_track_fragment(uint32_t seq, uint64_t vt, uint64_t at) {
  TrackRun v{1, vt, {}}, a{2, at, {}};
  for (int i = 0; i < 3; ++i)
    v.samples.push_back(
        {3000, i == 1 ? 3000 : 0, i == 0, std::make_shared<const std::vector<uint8_t>>(100 + i, uint8_t(0x10 + i))});
  for (int i = 0; i < 4; ++i)
    a.samples.push_back({1024, 0, true, std::make_shared<const std::vector<uint8_t>>(20 + i, uint8_t(0x20 + i))});
  return write_fragment(seq, {v, a});
}
}  // namespace

TEST(CmafTrackSplit, EachTrackComesOutAsTrackOneWithItsOwnSamples) {
  std::vector<uint8_t> muxed = two_track_fragment(7, 90000, 48000);
  const std::vector<uint8_t> second = two_track_fragment(8, 99000, 52096);
  muxed.insert(muxed.end(), second.begin(), second.end());  // a segment of two parts
  for (uint32_t track : {1u, 2u}) {
    SCOPED_TRACE(track);
    std::vector<uint8_t> out;
    std::string error;
    ASSERT_TRUE(extract_track(muxed.data(), muxed.size(), track, &out, &error)) << error;
    auto boxes = top(out);
    ASSERT_EQ(boxes.size(), 4u);
    size_t part = 0;
    for (size_t b = 0; b < boxes.size(); b += 2, ++part) {
      ASSERT_EQ(boxes[b].type, "moof");
      ASSERT_EQ(boxes[b + 1].type, "mdat");
      EXPECT_EQ(be32(out, find_all(out, boxes[b], "mfhd").at(0).body + 4), 7 + part);
      auto trafs = read_trafs(out, boxes[b]);
      ASSERT_EQ(trafs.size(), 1u);
      EXPECT_EQ(trafs[0].track_id, 1u);
      EXPECT_EQ(trafs[0].tfdt, track == 1 ? (part ? 99000u : 90000u) : (part ? 52096u : 48000u));
      ASSERT_EQ(trafs[0].samples.size(), track == 1 ? 3u : 4u);
      // The data offset points at the first sample right after the new mdat header, and the
      // samples are this track's, in order, filling the mdat exactly.
      EXPECT_EQ(size_t(trafs[0].data_offset), boxes[b].size + 8);
      size_t o = boxes[b].offset + size_t(trafs[0].data_offset);
      for (size_t i = 0; i < trafs[0].samples.size(); ++i) {
        const auto& s = trafs[0].samples[i];
        EXPECT_EQ(s.size, (track == 1 ? 100u : 20u) + i);
        EXPECT_EQ(out[o], uint8_t((track == 1 ? 0x10 : 0x20) + i));
        EXPECT_EQ(out[o + s.size - 1], uint8_t((track == 1 ? 0x10 : 0x20) + i));
        o += s.size;
      }
      EXPECT_EQ(o, boxes[b + 1].offset + boxes[b + 1].size);
    }
  }
  std::vector<uint8_t> none;
  std::string error;
  ASSERT_TRUE(extract_track(muxed.data(), muxed.size(), 3, &none, &error)) << error;
  EXPECT_TRUE(none.empty()) << "a track the fragments do not have gives nothing";
}

TEST(CmafTrackSplit, MalformedInputIsRefusedWithoutReadingPastIt) {
  const std::vector<uint8_t> good = two_track_fragment(1, 0, 0);
  std::vector<uint8_t> out;
  std::string error;
  // Every truncation, and every single-byte corruption of the box headers and trun fields, either
  // parses (staying in bounds: ASan checks) or is refused with a reason.
  for (size_t n = 0; n < good.size(); ++n) {
    if (n == 0) continue;
    error.clear();
    EXPECT_FALSE(extract_track(good.data(), n, 2, &out, &error)) << n;
    EXPECT_FALSE(error.empty()) << n;
  }
  for (size_t i = 0; i < std::min<size_t>(good.size(), 400); ++i) {
    std::vector<uint8_t> bad = good;
    bad[i] ^= 0xff;
    extract_track(bad.data(), bad.size(), 2, &out, &error);
  }
  const uint8_t not_mp4[] = {0, 0, 0, 8, 'f', 'r', 'e', 'e'};
  EXPECT_FALSE(extract_track(not_mp4, sizeof not_mp4, 1, &out, &error));
  EXPECT_EQ(error, "expected a moof box");
}
