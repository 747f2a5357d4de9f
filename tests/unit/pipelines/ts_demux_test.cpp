// Tests: TsDemux, our PES demuxer for MPEG-TS ingest, with hand-built packets: PES split across
// packets, PES_packet_length, 33-bit PTS wrap, continuity gaps, continuation packets before any
// start, oversize PES, several audio tracks and the Opus control-header framing.
#include "pipelines/ts_demux.h"

#include <gtest/gtest.h>

#include <vector>

using estuary::pipelines::TsCodec;
using estuary::pipelines::TsDemux;
using estuary::pipelines::TsDemuxLimits;
using estuary::pipelines::TsUnit;

namespace {

using Bytes = std::vector<uint8_t>;
constexpr int kVideo = 0x100, kAudio = 0x101, kAudio2 = 0x102;

Bytes timestamp(uint8_t prefix, uint64_t v) {
  return {uint8_t((prefix << 4) | (((v >> 30) & 7) << 1) | 1), uint8_t(v >> 22), uint8_t((((v >> 15) & 0x7f) << 1) | 1),
          uint8_t(v >> 7), uint8_t(((v & 0x7f) << 1) | 1)};
}

// A PES: header with PTS (and DTS when dts >= 0), then payload; PES_packet_length set when sized.
Bytes pes(uint8_t stream_id, const Bytes& payload, uint64_t pts, int64_t dts = -1, bool sized = false) {
  const bool with_dts = dts >= 0;
  Bytes h = {0, 0, 1, stream_id, 0, 0, 0x80, uint8_t(with_dts ? 0xc0 : 0x80), uint8_t(with_dts ? 10 : 5)};
  Bytes t = timestamp(with_dts ? 0x3 : 0x2, pts);
  h.insert(h.end(), t.begin(), t.end());
  if (with_dts) {
    Bytes d = timestamp(0x1, uint64_t(dts));
    h.insert(h.end(), d.begin(), d.end());
  }
  if (sized) {
    const size_t len = h.size() - 6 + payload.size();
    h[4] = uint8_t(len >> 8);
    h[5] = uint8_t(len);
  }
  h.insert(h.end(), payload.begin(), payload.end());
  return h;
}

// Splits a PES into TS packets on pid (the first with payload_unit_start); the last is padded with
// an adaptation field, as muxers do.
std::vector<Bytes> packets(int pid, const Bytes& pes_bytes, uint8_t* cc) {
  std::vector<Bytes> out;
  size_t off = 0;
  bool first = true;
  while (off < pes_bytes.size()) {
    const size_t left = pes_bytes.size() - off;
    Bytes p = {0x47, uint8_t((first ? 0x40 : 0) | (pid >> 8)), uint8_t(pid & 0xff), uint8_t(0x10 | ((*cc)++ & 0xf))};
    if (left < 184) {
      p[3] |= 0x20;
      const size_t af = 184 - left - 1;  // adaptation_field_length
      p.push_back(uint8_t(af));
      if (af > 0) {
        p.push_back(0x00);
        p.resize(p.size() + af - 1, 0xff);
      }
    }
    const size_t take = std::min<size_t>(left, 188 - p.size());
    p.insert(p.end(), pes_bytes.begin() + off, pes_bytes.begin() + off + take);
    off += take;
    first = false;
    out.push_back(p);
  }
  return out;
}

Bytes filler(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = uint8_t(seed + i * 7);
  return b;
}

void feed(TsDemux& d, const std::vector<Bytes>& pkts, std::vector<TsUnit>& out) {
  for (const Bytes& p : pkts) {
    ASSERT_EQ(p.size(), 188u);
    d.packet(p.data(), out);
  }
}

TsDemux av_demux(TsDemuxLimits limits = {}) {
  return TsDemux({{kVideo, TsCodec::h264}, {kAudio, TsCodec::aac_adts}, {kAudio2, TsCodec::aac_adts}}, limits);
}

}  // namespace

TEST(TsDemux, PesSplitAcrossPacketsIsOneUnitWithItsPtsAndDts) {
  TsDemux d = av_demux();
  uint8_t cc = 0;
  const Bytes body = filler(1000, 1);
  std::vector<TsUnit> out;
  feed(d, packets(kVideo, pes(0xe0, body, 93000, 90000), &cc), out);
  EXPECT_TRUE(out.empty()) << "an unsized video PES ends at the next start";
  feed(d, packets(kVideo, pes(0xe0, filler(10, 2), 96000, 93000), &cc), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].track, 0u);
  EXPECT_EQ(out[0].data, body);
  EXPECT_EQ(out[0].pts, 93000);
  EXPECT_EQ(out[0].dts, 90000);
  EXPECT_FALSE(out[0].discont);
}

TEST(TsDemux, SizedPesIsEmittedWithoutWaitingForTheNext) {
  TsDemux d = av_demux();
  uint8_t cc = 0;
  const Bytes body = filler(400, 3);
  std::vector<TsUnit> out;
  feed(d, packets(kAudio, pes(0xc0, body, 5000, -1, true), &cc), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].track, 1u);
  EXPECT_EQ(out[0].data, body);
  EXPECT_EQ(out[0].pts, 5000);
  EXPECT_EQ(out[0].dts, 5000) << "no DTS: the PTS";
}

TEST(TsDemux, PtsWrapAt33BitsIsUnwrappedMonotonically) {
  TsDemux d = av_demux();
  uint8_t cc = 0;
  std::vector<TsUnit> out;
  const uint64_t wrap = uint64_t(1) << 33;
  for (uint64_t pts : {wrap - 6000, wrap - 3000, uint64_t(0), uint64_t(3000)})
    feed(d, packets(kAudio, pes(0xc0, filler(100, 4), pts, -1, true), &cc), out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].pts, int64_t(wrap - 6000));
  EXPECT_EQ(out[2].pts, int64_t(wrap));
  EXPECT_EQ(out[3].pts, int64_t(wrap + 3000));
  // A B-frame PTS slightly below the previous timestamp stays below it (no false wrap).
  feed(d, packets(kAudio, pes(0xc0, filler(100, 4), 1000, -1, true), &cc), out);
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[4].pts, int64_t(wrap + 1000));
}

TEST(TsDemux, ContinuityGapDropsTheBrokenPesAndMarksTheNextDiscont) {
  TsDemux d = av_demux();
  uint8_t cc = 0;
  std::vector<TsUnit> out;
  auto broken = packets(kVideo, pes(0xe0, filler(600, 5), 9000), &cc);
  ASSERT_GE(broken.size(), 3u);
  broken.erase(broken.begin() + 1);  // a lost packet
  feed(d, broken, out);
  const Bytes next = filler(300, 6);
  feed(d, packets(kVideo, pes(0xe0, next, 12000), &cc), out);
  feed(d, packets(kVideo, pes(0xe0, filler(10, 7), 15000), &cc), out);
  ASSERT_EQ(out.size(), 1u) << "the broken PES is not emitted";
  EXPECT_EQ(out[0].data, next);
  EXPECT_TRUE(out[0].discont);
  EXPECT_EQ(d.stats().cc_gaps, 1u);
  EXPECT_EQ(d.stats().pes_dropped, 1u);
}

TEST(TsDemux, RepeatedPacketIsIgnored) {
  TsDemux d = av_demux();
  uint8_t cc = 0;
  std::vector<TsUnit> out;
  auto pkts = packets(kVideo, pes(0xe0, filler(500, 8), 9000), &cc);
  pkts.insert(pkts.begin() + 1, pkts[1]);
  feed(d, pkts, out);
  feed(d, packets(kVideo, pes(0xe0, filler(10, 9), 12000), &cc), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, filler(500, 8));
  EXPECT_FALSE(out[0].discont);
  EXPECT_EQ(d.stats().cc_gaps, 0u);
}

TEST(TsDemux, ContinuationPacketsBeforeAnyStartAreDropped) {
  TsDemux d = av_demux();
  uint8_t cc = 0;
  std::vector<TsUnit> out;
  auto first = packets(kVideo, pes(0xe0, filler(700, 10), 9000), &cc);
  first.erase(first.begin());  // joined mid-PES: no payload_unit_start yet
  feed(d, first, out);
  const Bytes body = filler(200, 11);
  feed(d, packets(kVideo, pes(0xe0, body, 12000), &cc), out);
  feed(d, packets(kVideo, pes(0xe0, filler(10, 12), 15000), &cc), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, body);
  EXPECT_EQ(out[0].pts, 12000);
}

TEST(TsDemux, OversizePesIsDroppedAndMemoryStaysBounded) {
  TsDemuxLimits limits;
  limits.max_video_pes = 2000;
  TsDemux d = av_demux(limits);
  uint8_t cc = 0;
  std::vector<TsUnit> out;
  feed(d, packets(kVideo, pes(0xe0, filler(5000, 13), 9000), &cc), out);
  const Bytes body = filler(1500, 14);
  feed(d, packets(kVideo, pes(0xe0, body, 12000), &cc), out);
  feed(d, packets(kVideo, pes(0xe0, filler(10, 15), 15000), &cc), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, body);
  EXPECT_TRUE(out[0].discont);
  EXPECT_EQ(d.stats().oversize, 1u);
}

TEST(TsDemux, GarbagePesHeaderIsDroppedNotEmitted) {
  TsDemux d = av_demux();
  uint8_t cc = 0;
  std::vector<TsUnit> out;
  Bytes bad = pes(0xc0, filler(100, 16), 9000, -1, true);
  bad[7] = 0x00;  // no PTS
  feed(d, packets(kAudio, bad, &cc), out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.stats().pes_dropped, 1u);
}

TEST(TsDemux, SeveralAudioTracksKeepTheirOwnUnits) {
  TsDemux d = av_demux();
  uint8_t cc1 = 0, cc2 = 5;
  std::vector<TsUnit> out;
  feed(d, packets(kAudio, pes(0xc0, filler(300, 17), 9000, -1, true), &cc1), out);
  feed(d, packets(kAudio2, pes(0xc1, filler(310, 18), 9100, -1, true), &cc2), out);
  feed(d, packets(0x1ff, pes(0xc2, filler(50, 19), 9200, -1, true), &cc2), out);  // not a track: ignored
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].track, 1u);
  EXPECT_EQ(out[0].data, filler(300, 17));
  EXPECT_EQ(out[1].track, 2u);
  EXPECT_EQ(out[1].data, filler(310, 18));
  EXPECT_EQ(out[1].pts, 9100);
}

TEST(TsDemux, OpusControlHeadersSplitThePesIntoTimedAccessUnits) {
  TsDemux d({{kAudio, TsCodec::opus}});
  // Two 20 ms CELT packets (TOC config 31, one frame), the second with a 300-byte size (0xff, 45)
  // and a start trim.
  Bytes a = filler(120, 20), b = filler(300, 21);
  a[0] = b[0] = 0xf8;
  Bytes payload = {0x7f, 0xe0, uint8_t(a.size())};
  payload.insert(payload.end(), a.begin(), a.end());
  Bytes second = {0x7f, 0xf0, 0xff, 45, 0x00, 0x10};
  payload.insert(payload.end(), second.begin(), second.end());
  payload.insert(payload.end(), b.begin(), b.end());
  uint8_t cc = 0;
  std::vector<TsUnit> out;
  feed(d, packets(kAudio, pes(0xbd, payload, 90000, -1, true), &cc), out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].data, a);
  EXPECT_EQ(out[0].pts, 90000);
  EXPECT_EQ(out[1].data, b);
  EXPECT_EQ(out[1].pts, 90000 + 1800) << "20 ms later at 90 kHz";
  EXPECT_EQ(out[0].start_trim, 0u);
  EXPECT_EQ(out[1].start_trim, 0x10u) << "the start trim of its control header";
  EXPECT_EQ(out[1].end_trim, 0u);
  EXPECT_EQ(d.stats().opus_malformed, 0u);
  // A broken size runs past the PES: what came before it stays, the rest is dropped.
  Bytes broken = {0x7f, 0xe0, uint8_t(a.size())};
  broken.insert(broken.end(), a.begin(), a.end());
  broken.insert(broken.end(), {0x7f, 0xe0, 0xff, 0xff, 0x10, 0xf8, 1, 2});
  feed(d, packets(kAudio, pes(0xbd, broken, 93600, -1, true), &cc), out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(d.stats().opus_malformed, 1u);
}

TEST(TsDemux, OpusPacketSamplesFollowTheToc) {
  const uint8_t celt20[] = {0xf8}, silk60x2[] = {uint8_t((3 << 3) | 1)}, celt2_5x3[] = {uint8_t((16 << 3) | 3), 3};
  EXPECT_EQ(estuary::pipelines::opus_packet_samples(celt20, 1), 960u);
  EXPECT_EQ(estuary::pipelines::opus_packet_samples(silk60x2, 1), 2 * 2880u);
  EXPECT_EQ(estuary::pipelines::opus_packet_samples(celt2_5x3, 2), 3 * 120u);
  EXPECT_EQ(estuary::pipelines::opus_packet_samples(celt2_5x3, 1), 0u);
}
