// Owns: unit tests of HLS VOD over fragmented MP4 recordings: the top-level box scanner
// (common/mp4_box_scan.h: truncated, largesize, zero size, huge size, order), the pread reader over
// a file (mp4_layout_read.h), the fMP4 playlist and the choice of one container per playlist
// (vod_playlist.h).
#include <glib.h>
#include <glib/gstdio.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/mp4_box_scan.h"
#include "server/outputs/dvr/mp4_layout_read.h"
#include "server/outputs/dvr/vod_playlist.h"

namespace estuary::server {
namespace {

// A box of `size` bytes (a 32-bit size, or size 1 and a largesize; size 0 written as is).
std::string box(const char* type, uint64_t size, bool large = false, bool zero = false) {
  std::string b;
  auto put = [&](uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) b.push_back(char((v >> (8 * i)) & 0xff));
  };
  put(large ? 1 : zero ? 0 : size, 4);
  b.append(type, 4);
  if (large) put(size, 8);
  b.resize(size, '\0');
  return b;
}

// The mp4mux shape: ftyp, moov, fragments, mfra.
std::string fmp4(int fragments, bool large_mdat = false) {
  std::string f = box("ftyp", 24) + box("moov", 700);
  for (int i = 0; i < fragments; ++i) f += box("moof", 100) + box("mdat", 1000 + i, large_mdat);
  return f + box("mfra", 60);
}

Mp4BoxScan scan_of(const std::string& file, size_t max_boxes = kMaxMp4Boxes) {
  Mp4BoxScan s(file.size(), max_boxes);
  for (int guard = 0; guard < 100000 && !s.done(); ++guard) {
    const uint64_t at = s.want_offset();
    const size_t n = std::min<size_t>(s.want_bytes(), file.size() - at);
    s.feed(reinterpret_cast<const uint8_t*>(file.data() + at), n);
  }
  EXPECT_TRUE(s.done());
  return s;
}

TEST(Mp4BoxScan, FindsTheInitSectionAndTheFragments) {
  const std::string f = fmp4(3);
  Mp4BoxScan s = scan_of(f);
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s.layout().init_end, 724u);
  EXPECT_EQ(s.layout().media_first, 724u);
  EXPECT_EQ(s.layout().fragments, 3u);
  EXPECT_EQ(s.layout().media_end, f.size() - 60);
  EXPECT_EQ(s.layout().media_bytes(), 3u * 100 + 1000 + 1001 + 1002);
  EXPECT_FALSE(s.layout().tail_dropped);
  EXPECT_EQ(s.boxes(), 9u);
}

TEST(Mp4BoxScan, ReadsLargesizeAndSizeZero) {
  const std::string f = fmp4(2, true);
  Mp4BoxScan s = scan_of(f);
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s.layout().media_end, f.size() - 60);
  // Size 0: the last mdat runs to the end of the file.
  const std::string z = box("ftyp", 24) + box("moov", 100) + box("moof", 50) + box("mdat", 500, false, true);
  Mp4BoxScan sz = scan_of(z);
  ASSERT_TRUE(sz.ok()) << sz.error();
  EXPECT_EQ(sz.layout().media_end, z.size());
  EXPECT_EQ(sz.layout().fragments, 1u);
}

TEST(Mp4BoxScan, RefusesTruncatedAndAbsurdBoxes) {
  const std::string f = fmp4(2);
  // Cut inside the moov: nothing plays.
  Mp4BoxScan cut = scan_of(f.substr(0, 300));
  EXPECT_FALSE(cut.ok());
  EXPECT_NE(cut.error().find("truncated moov"), std::string::npos) << cut.error();
  // A size under its own header, a largesize under 16, a huge size, garbage, a cut header.
  for (const std::string& bad : {box("ftyp", 24) + std::string("\0\0\0\4moov", 8) + std::string(100, '\0'),
                                 box("ftyp", 24) + std::string("\0\0\0\1moov\0\0\0\0\0\0\0\x08", 16),
                                 box("ftyp", 24) + std::string("\xff\xff\xff\xffmoov", 8) + std::string(100, '\0'),
                                 box("ftyp", 24) + std::string("\0\0\0\1moov\x7f\xff\xff\xff\xff\xff\xff\xff", 16),
                                 box("ftyp", 24) + std::string("\0\0\0\x10\x01\x02\x03\x04", 8) + std::string(8, '\0'),
                                 std::string("\0\0\0", 3), box("moov", 100), std::string()}) {
    Mp4BoxScan s = scan_of(bad);
    EXPECT_FALSE(s.ok()) << bad.size();
    EXPECT_FALSE(s.error().empty());
  }
  // Order: moof before moov, two moofs in a row, no fragment, a second moov.
  for (const std::string& bad :
       {box("ftyp", 24) + box("moof", 50) + box("mdat", 50) + box("moov", 100),
        box("ftyp", 24) + box("moov", 100) + box("moof", 50) + box("moof", 50) + box("mdat", 9),
        box("ftyp", 24) + box("mdat", 500) + box("moov", 100),
        box("ftyp", 24) + box("moov", 100) + box("moov", 100) + box("moof", 9) + box("mdat", 9)}) {
    EXPECT_FALSE(scan_of(bad).ok());
  }
  // Bounded: no more top-level boxes than asked.
  Mp4BoxScan many = scan_of(fmp4(50), 20);
  EXPECT_FALSE(many.ok());
  EXPECT_NE(many.error().find("top-level boxes"), std::string::npos);
}

// A file that was not closed (the recorder killed): the complete fragments play, the cut one not.
TEST(Mp4BoxScan, AFileCutInAFragmentKeepsTheCompleteOnes) {
  const std::string f = fmp4(3);
  Mp4BoxScan s = scan_of(f.substr(0, f.size() - 60 - 500));
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s.layout().fragments, 2u);
  EXPECT_TRUE(s.layout().tail_dropped);
  EXPECT_EQ(s.layout().media_end, 724u + 100 + 1000 + 100 + 1001);
}

TEST(Mp4LayoutRead, ReadsAFileByItsHeaders) {
  gchar* tmp = g_dir_make_tmp("estuary-mp4-XXXXXX", nullptr);
  ASSERT_NE(tmp, nullptr);
  const std::string dir = tmp, path = dir + "/a.mp4", junk = dir + "/b.mp4";
  g_free(tmp);
  const std::string f = fmp4(4);
  ASSERT_TRUE(g_file_set_contents(path.c_str(), f.data(), gssize(f.size()), nullptr));
  ASSERT_TRUE(g_file_set_contents(junk.c_str(), "not an mp4 at all", -1, nullptr));
  auto l = read_mp4_layout(path);
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l.value().fragments, 4u);
  EXPECT_EQ(l.value().media_end, f.size() - 60);
  auto bad = read_mp4_layout(junk);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().reason, ErrorReason::invalid);
  auto none = read_mp4_layout(dir + "/none.mp4");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().reason, ErrorReason::not_found);
  g_unlink(path.c_str());
  g_unlink(junk.c_str());
  g_rmdir(dir.c_str());
}

Recording mp4(int64_t start_s, int64_t end_s, const std::string& format = "mp4") {
  Recording r;
  r.stream = "live/a";
  r.path = "live/a-" + std::to_string(start_s) + "." + format;
  r.start_ms = start_s * 1000;
  r.end_ms = end_s * 1000;
  r.format = format;
  return r;
}

TEST(VodPlaylist, Fmp4PlaylistMapsEachFilesInitAndFragments) {
  std::vector<Recording> files = {mp4(100, 104),        mp4(104, 108), mp4(120, 123),
                                  mp4(123, 125, "flv"), mp4(125, 127), mp4(127, 130)};
  files.back().open = true;
  Mp4Layout l;
  l.init_end = 724;
  l.media_first = 724;
  l.media_end = 5000;
  l.fragments = 4;
  std::map<std::string, Mp4Layout> layouts = {
      {"live/a-100.mp4", l}, {"live/a-104.mp4", l}, {"live/a-120.mp4", l}, {"live/a-130.mp4", l}};
  VodPlaylist pl = vod_playlist_fmp4(files, layouts, "files/", {{"live/a-125.mp4", "truncated moov at 24"}});
  const std::string& t = pl.text;
  EXPECT_EQ(pl.segments, 3u) << t;
  EXPECT_EQ(pl.skipped, 2u) << t;
  EXPECT_EQ(pl.gaps, 1u) << t;  // 108 -> 120; after 123 nothing plays any more
  EXPECT_NE(t.find("#EXT-X-VERSION:7\n"), std::string::npos);
  EXPECT_NE(t.find("#EXT-X-MAP:URI=\"files/live/a-100.mp4\",BYTERANGE=\"724@0\"\n"
                   "#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:01:40.000Z\n#EXTINF:4.000,\n"
                   "#EXT-X-BYTERANGE:4276@724\nfiles/live/a-100.mp4\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"files/live/a-104.mp4\""), std::string::npos) << t;
  EXPECT_NE(t.find("# nothing recorded for 12000 ms\n#EXT-X-DISCONTINUITY\n"), std::string::npos) << t;
  EXPECT_NE(t.find("# not playable here: live/a-123.flv (flv)\n"), std::string::npos) << t;
  EXPECT_NE(t.find("# not playable here: live/a-125.mp4 (mp4: truncated moov at 24)\n"), std::string::npos) << t;
  EXPECT_EQ(t.find("a-127"), std::string::npos) << "an open file is never listed";
  EXPECT_NE(t.find("#EXT-X-ENDLIST\n"), std::string::npos);
}

TEST(VodPlaylist, OneContainerPerPlaylistByRecordedTime) {
  EXPECT_EQ(vod_container({mp4(0, 10), mp4(10, 14, "flv")}), "mp4");
  EXPECT_EQ(vod_container({mp4(0, 4), mp4(4, 14, "flv")}), "ts");
  EXPECT_EQ(vod_container({mp4(0, 4), mp4(4, 6, "ts"), mp4(6, 9, "flv")}), "ts");
  EXPECT_EQ(vod_container({mp4(0, 4, "ts")}), "ts");
  std::vector<Recording> open_only = {mp4(0, 100)};
  open_only[0].open = true;
  EXPECT_EQ(vod_container(open_only), "ts");
  EXPECT_EQ(vod_container({}), "ts");
}

}  // namespace
}  // namespace estuary::server
