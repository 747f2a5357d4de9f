// Owns: tests of TsTrackProbe, which reads an MPEG-TS program's tracks from its PAT and PMT before
// the SRT ingest pipeline starts (H.264/H.265 video, AAC/MP3/Opus audio; others ignored).
#include <gtest/gtest.h>

#include <vector>

#include "pipelines/ts_ingest.h"

namespace estuary::pipelines {
namespace {

// One TS packet carrying a PSI section (pointer field 0), padded with 0xff.
std::vector<uint8_t> psi_packet(int pid, const std::vector<uint8_t>& section) {
  std::vector<uint8_t> p(188, 0xff);
  p[0] = 0x47;
  p[1] = uint8_t(0x40 | ((pid >> 8) & 0x1f));
  p[2] = uint8_t(pid);
  p[3] = 0x10;
  p[4] = 0x00;
  std::copy(section.begin(), section.end(), p.begin() + 5);
  return p;
}

// Section with a correct length field and a dummy CRC (the probe does not check CRCs).
std::vector<uint8_t> section(uint8_t table, const std::vector<uint8_t>& body) {
  const size_t len = 5 + body.size() + 4;  // after the length field: ext id(2) ver(1) sec(1) last(1) + body + crc
  std::vector<uint8_t> s = {table, uint8_t(0xb0 | ((len >> 8) & 0x0f)), uint8_t(len), 0x00, 0x01, 0xc1, 0x00, 0x00};
  s.insert(s.end(), body.begin(), body.end());
  s.insert(s.end(), {0, 0, 0, 0});
  return s;
}

std::vector<uint8_t> pat() {
  return psi_packet(0, section(0x00, {0x00, 0x01, 0xf0, 0x00}));
}  // program 1 -> PMT 0x1000

struct Es {
  uint8_t type;
  int pid;
  std::vector<uint8_t> descriptors;
};
std::vector<uint8_t> pmt(const std::vector<Es>& streams) {
  std::vector<uint8_t> body = {0xe1, 0x00, 0xf0, 0x00};  // PCR PID 0x100, no program info
  for (const auto& es : streams) {
    body.push_back(es.type);
    body.push_back(uint8_t(0xe0 | (es.pid >> 8)));
    body.push_back(uint8_t(es.pid));
    body.push_back(uint8_t(0xf0 | (es.descriptors.size() >> 8)));
    body.push_back(uint8_t(es.descriptors.size()));
    body.insert(body.end(), es.descriptors.begin(), es.descriptors.end());
  }
  return psi_packet(0x1000, section(0x02, body));
}

std::vector<uint8_t> concat(std::vector<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(TsTrackProbe, H264AndAac) {
  TsTrackProbe probe;
  auto ts = concat({pat(), pmt({{0x1b, 0x100, {}}, {0x0f, 0x101, {}}})});
  EXPECT_TRUE(probe.feed(ts.data(), ts.size()));
  EXPECT_EQ(probe.video(), "h264");
  EXPECT_EQ(probe.audio(), "aac");
  EXPECT_TRUE(probe.ignored().empty());
}

TEST(TsTrackProbe, HevcOpusAndIgnoredTracks) {
  TsTrackProbe probe;
  const std::vector<uint8_t> opus_reg = {0x05, 0x04, 'O', 'p', 'u', 's'};
  auto ts = concat({pat(), pmt({{0x24, 0x100, {}}, {0x06, 0x101, opus_reg}, {0x02, 0x102, {}}})});
  EXPECT_TRUE(probe.feed(ts.data(), ts.size()));
  EXPECT_EQ(probe.video(), "h265");
  EXPECT_EQ(probe.audio(), "opus");
  ASSERT_EQ(probe.ignored().size(), 1u);
  EXPECT_EQ(probe.ignored()[0], 0x02);
}

TEST(TsTrackProbe, PacketsSplitAcrossFeedsAndGarbageFirst) {
  TsTrackProbe probe;
  auto ts = concat({{0x00, 0x12, 0x34}, pat(), pmt({{0x1b, 0x100, {}}})});  // 3 stray bytes first
  EXPECT_FALSE(probe.feed(ts.data(), 100));
  EXPECT_FALSE(probe.feed(ts.data() + 100, 200));
  EXPECT_TRUE(probe.feed(ts.data() + 300, ts.size() - 300));
  EXPECT_EQ(probe.video(), "h264");
  EXPECT_EQ(probe.audio(), "");
}

TEST(TsTrackProbe, NoPmtNoAnswer) {
  TsTrackProbe probe;
  auto ts = concat({pmt({{0x1b, 0x100, {}}}), pat()});  // the PMT before its PAT is not recognised yet
  EXPECT_FALSE(probe.feed(ts.data(), ts.size()));
  EXPECT_FALSE(probe.done());
  auto again = pmt({{0x1b, 0x100, {}}});
  EXPECT_TRUE(probe.feed(again.data(), again.size()));
}

}  // namespace
}  // namespace estuary::pipelines
