// Tests: ts_select_track on a hand-built segment (PAT, PMT with a video and two audio streams, one
// with a language descriptor, media packets of each): the kept packets are the chosen stream's, the
// PAT and a PMT listing that stream alone with a valid CRC; a segment without PAT/PMT is refused.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pipelines/ts_guard.h"
#include "pipelines/ts_track_select.h"
#include "ts_psi.h"

using estuary::pipelines::mpeg_crc32;
using estuary::pipelines::ts_select_track;
using estuary::pipelines::TsTrackChoice;

namespace {

using Bytes = std::vector<uint8_t>;
constexpr int kPmtPid = 0x1000, kVideo = 0x100, kEnglish = 0x101, kFrench = 0x102;

using estuary::test::psi_packet;

Bytes es(uint8_t type, int pid, Bytes descriptors = {}) {
  Bytes e = {type, uint8_t(0xe0 | (pid >> 8)), uint8_t(pid & 0xff), 0xf0, uint8_t(descriptors.size())};
  e.insert(e.end(), descriptors.begin(), descriptors.end());
  return e;
}

Bytes segment() {
  Bytes out = psi_packet(0, {0x00, 0xb0, 13, 0, 1, 0xc1, 0, 0, 0, 1, uint8_t(0xe0 | (kPmtPid >> 8)), kPmtPid & 0xff});
  Bytes pmt = {0x02, 0xb0, 0, 0, 1, 0xc1, 0, 0, uint8_t(0xe0 | (kVideo >> 8)), kVideo & 0xff, 0xf0, 0};
  for (const Bytes& e : {es(0x1b, kVideo), es(0x0f, kEnglish, {0x0a, 4, 'e', 'n', 'g', 0}), es(0x0f, kFrench)})
    pmt.insert(pmt.end(), e.begin(), e.end());
  pmt[2] = uint8_t(pmt.size() - 3 + 4);
  const Bytes pmt_packet = psi_packet(kPmtPid, pmt);
  out.insert(out.end(), pmt_packet.begin(), pmt_packet.end());
  for (int round = 0; round < 3; ++round)
    for (int pid : {kVideo, kEnglish, kFrench, 0x1fff}) {
      Bytes p = {0x47, uint8_t(pid >> 8), uint8_t(pid & 0xff), uint8_t(0x10 | round)};
      p.resize(188, uint8_t(pid));
      out.insert(out.end(), p.begin(), p.end());
    }
  return out;
}

int pid_of(const uint8_t* p) { return ((p[1] & 0x1f) << 8) | p[2]; }

// The PIDs of the PMT's streams in out's PMT packet (checking its CRC), and of the media packets.
void read_back(const Bytes& out, std::vector<int>* listed, std::vector<int>* media) {
  ASSERT_EQ(out.size() % 188, 0u);
  for (size_t off = 0; off < out.size(); off += 188) {
    const uint8_t* p = out.data() + off;
    ASSERT_EQ(p[0], 0x47);
    const int pid = pid_of(p);
    if (pid == kPmtPid) {
      const uint8_t* s = p + 5 + p[4];
      const size_t len = 3 + (((s[1] & 0x0f) << 8) | s[2]);
      EXPECT_EQ(mpeg_crc32(s, len), 0u) << "PMT CRC";
      for (size_t i = 12; i + 5 <= len - 4; i += 5 + (((s[i + 3] & 0x0f) << 8) | s[i + 4]))
        listed->push_back(((s[i + 1] & 0x1f) << 8) | s[i + 2]);
    } else if (pid != 0) {
      media->push_back(pid);
    }
  }
}

TEST(TsTrackSelect, KeepsTheChosenAudioStreamAlone) {
  const Bytes in = segment();
  Bytes out;
  std::string error;
  ASSERT_TRUE(ts_select_track(in.data(), in.size(), TsTrackChoice{false, 1}, &out, &error)) << error;
  std::vector<int> listed, media;
  read_back(out, &listed, &media);
  EXPECT_EQ(listed, std::vector<int>({kFrench}));
  EXPECT_EQ(media, std::vector<int>({kFrench, kFrench, kFrench}));
  EXPECT_EQ(out.size(), 5u * 188) << "PAT, PMT, three packets";
}

TEST(TsTrackSelect, KeepsTheFirstAudioWithItsDescriptorAndTheVideoAlone) {
  const Bytes in = segment();
  Bytes english, video;
  std::string error;
  ASSERT_TRUE(ts_select_track(in.data(), in.size(), TsTrackChoice{false, 0}, &english, &error)) << error;
  std::vector<int> listed, media;
  read_back(english, &listed, &media);
  EXPECT_EQ(listed, std::vector<int>({kEnglish}));
  EXPECT_EQ(media, std::vector<int>({kEnglish, kEnglish, kEnglish}));
  EXPECT_NE(std::string(english.begin(), english.end()).find("eng"), std::string::npos) << "language descriptor kept";
  ASSERT_TRUE(ts_select_track(in.data(), in.size(), TsTrackChoice{true, -1}, &video, &error)) << error;
  listed.clear();
  media.clear();
  read_back(video, &listed, &media);
  EXPECT_EQ(listed, std::vector<int>({kVideo}));
  EXPECT_EQ(media, std::vector<int>({kVideo, kVideo, kVideo}));
}

TEST(TsTrackSelect, AbsentStreamLeavesOnlyTheTablesAndNoTablesIsRefused) {
  const Bytes in = segment();
  Bytes out;
  std::string error;
  ASSERT_TRUE(ts_select_track(in.data(), in.size(), TsTrackChoice{false, 2}, &out, &error)) << error;
  EXPECT_EQ(out.size(), 2u * 188);
  const Bytes media_only(in.begin() + 2 * 188, in.end());
  out.clear();
  EXPECT_FALSE(ts_select_track(media_only.data(), media_only.size(), TsTrackChoice{false, 0}, &out, &error));
  EXPECT_EQ(error, "no PAT and PMT in the segment");
}

}  // namespace
