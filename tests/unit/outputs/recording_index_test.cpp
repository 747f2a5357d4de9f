// Owns: unit tests of the DVR recording index (server/outputs/dvr/recording_index): range queries
// and pagination, replacement and removal, retention's choice (oldest first, never the open file),
// and the relative-path check that keeps the API inside the DVR root.
#include "server/outputs/dvr/recording_index.h"

#include "server/outputs/dvr/dvr_catalog.h"
#include "server/outputs/dvr/vod_playlist.h"

#include <glib.h>
#include <gtest/gtest.h>

namespace estuary::server {
namespace {

Recording rec(const std::string& stream, int64_t start_s, int64_t end_s, uint64_t size = 100, bool open = false) {
  Recording r;
  r.stream = stream;
  r.path = stream + "-" + std::to_string(start_s) + ".flv";
  r.start_ms = start_s * 1000;
  r.end_ms = end_s * 1000;
  r.size = size;
  r.format = "flv";
  r.codecs = "h264,aac";
  r.open = open;
  return r;
}

TEST(RecordingIndex, RangeQueriesOverlapAndPaginate) {
  RecordingIndex idx;
  // Three 10 s segments, a gap, one more; and another stream.
  for (int64_t s : {100, 110, 120, 200}) idx.put(rec("live/a", s, s + 10));
  idx.put(rec("live/b", 105, 300));
  EXPECT_EQ(idx.size(), 5u);
  RecordingQuery q;
  q.stream = "live/a";
  q.from_ms = 115000;
  q.to_ms = 205000;
  RecordingPage p = idx.query(q);
  ASSERT_EQ(p.total, 3u);
  EXPECT_EQ(p.items[0].start_ms, 110000) << "a file that started before `from` but overlaps it";
  EXPECT_EQ(p.items[2].start_ms, 200000);
  q.start = 1;
  q.count = 1;
  p = idx.query(q);
  EXPECT_EQ(p.total, 3u);
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_EQ(p.items[0].start_ms, 120000);
  // Every stream, by start time.
  RecordingQuery all;
  p = idx.query(all);
  ASSERT_EQ(p.total, 5u);
  EXPECT_EQ(p.items[1].stream, "live/b");
  q = {};
  q.stream = "live/none";
  EXPECT_EQ(idx.query(q).total, 0u);
}

TEST(RecordingIndex, PutReplacesByPathAndEraseRemoves) {
  RecordingIndex idx;
  Recording r = rec("live/a", 100, 100, 0, true);
  idx.put(r);
  r.end_ms = 130000;
  r.size = 5000;
  r.open = false;
  idx.put(r);
  ASSERT_EQ(idx.size(), 1u);
  ASSERT_NE(idx.find(r.path), nullptr);
  EXPECT_EQ(idx.find(r.path)->size, 5000u);
  EXPECT_FALSE(idx.find(r.path)->open);
  EXPECT_TRUE(idx.erase(r.path));
  EXPECT_FALSE(idx.erase(r.path));
  EXPECT_EQ(idx.find(r.path), nullptr);
  EXPECT_EQ(idx.query({}).total, 0u);
}

TEST(RecordingIndex, RetentionTakesOldestFirstAndNeverTheOpenFile) {
  RecordingIndex idx;
  for (int64_t s : {100, 200, 300, 400}) idx.put(rec("live/a", s, s + 50, 1000));
  idx.put(rec("live/a", 500, 500, 1000, true));  // being written
  idx.put(rec("other/x", 50, 60, 1000));         // another app
  // By size: 5000 bytes in live/, keep at most 2500 -> the three oldest go.
  auto v = retention_victims(idx, "live", 1000 * 1000, 0, 2500, 1000);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0], "live/a-100.flv");
  EXPECT_EQ(v[2], "live/a-300.flv");
  // By age at t=600 s with max_age 250 s: the files that ended before 350 s.
  v = retention_victims(idx, "live", 600 * 1000, 250 * 1000, 0, 1000);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[1], "live/a-200.flv");
  // Even a limit below the open file alone never chooses it.
  v = retention_victims(idx, "live", 600 * 1000, 0, 1, 1000);
  EXPECT_EQ(v.size(), 4u);
  for (const auto& p : v) EXPECT_NE(p, "live/a-500.flv");
  EXPECT_TRUE(retention_victims(idx, "live", 600 * 1000, 0, 0, 1000).empty());
}

TEST(RecordingIndex, OnlyPlainRelativePathsAreSafe) {
  for (const char* ok : {"live/cam-1.flv", "a/b/c.ts", "x.mp4"}) EXPECT_TRUE(safe_relative_path(ok)) << ok;
  for (const char* bad : {"", "/etc/passwd", "../x.flv", "live/../../x", "live/./x.flv", "live//x.flv", "live/x/",
                          ".hidden/x.flv", "live/x y.flv", "live/x%2e.flv", "a/b/c/d/e/f/g/h/i.flv", "live\\x.flv"})
    EXPECT_FALSE(safe_relative_path(bad)) << bad;
}

TEST(VodPlaylist, SegmentsCarryDateTimeAndGapsAreMarked) {
  std::vector<Recording> files;
  for (int64_t s : {100, 104, 108, 130}) {  // three 4 s files, nothing from 112 s to 130 s, one more
    Recording r = rec("live/a", s, s + 4);
    r.format = "ts";
    r.path = "live/a-" + std::to_string(s) + ".ts";
    files.push_back(r);
  }
  Recording flv = rec("live/a", 140, 144);  // FLV without a remux prefix: left out
  files.push_back(flv);
  VodPlaylist pl = vod_playlist(files, "files/");
  EXPECT_EQ(pl.segments, 4u);
  EXPECT_EQ(pl.gaps, 1u);
  const std::string& t = pl.text;
  EXPECT_EQ(t.rfind("#EXTM3U\n", 0), 0u);
  EXPECT_NE(t.find("#EXT-X-PLAYLIST-TYPE:VOD\n"), std::string::npos);
  EXPECT_NE(t.find("#EXT-X-TARGETDURATION:4\n"), std::string::npos);
  EXPECT_NE(t.find("#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:01:40.000Z\n#EXTINF:4.000,\nfiles/live/a-100.ts\n"),
            std::string::npos)
      << t;
  EXPECT_NE(
      t.find("# nothing recorded for 18000 ms\n#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:02:10"),
      std::string::npos)
      << t;
  EXPECT_EQ(t.find("live/a-140.flv\n"), std::string::npos);
  EXPECT_EQ(pl.skipped, 1u);
  EXPECT_NE(t.find("#EXT-X-ENDLIST\n"), std::string::npos);
}

// FLV recordings (the default format) are segments through their MPEG-TS remux URI; TS files in
// the same range are their own segments; an MP4 file is left out and its time becomes a gap.
TEST(VodPlaylist, FlvRecordingsAreRemuxedSegmentsAndMixedFormatsPlayTogether) {
  std::vector<Recording> files = {rec("live/a", 100, 104), rec("live/a", 104, 108)};
  Recording ts = rec("live/a", 108, 112);
  ts.format = "ts";
  ts.path = "live/a-108.ts";
  files.push_back(ts);
  Recording mp4 = rec("live/a", 112, 116);
  mp4.format = "mp4";
  mp4.path = "live/a-112.mp4";
  files.push_back(mp4);
  files.push_back(rec("live/a", 116, 120));
  files.push_back(rec("live/a", 130, 134, 100, true));  // being written: never listed
  VodPlaylist pl = vod_playlist(files, "files/", "segments/");
  EXPECT_EQ(pl.segments, 4u);
  EXPECT_EQ(pl.skipped, 1u);
  EXPECT_EQ(pl.gaps, 1u) << pl.text;  // where the MP4 was
  const std::string& t = pl.text;
  EXPECT_NE(t.find("#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:01:40.000Z\n#EXTINF:4.000,\nsegments/live/a-100.flv.ts\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("\nfiles/live/a-108.ts\n"), std::string::npos) << t;
  EXPECT_NE(t.find("# not playable here: live/a-112.mp4 (mp4)\n"), std::string::npos) << t;
  EXPECT_NE(
      t.find("# nothing recorded for 4000 ms\n#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:01:56"),
      std::string::npos)
      << t;
  EXPECT_EQ(t.find("a-130"), std::string::npos);
  EXPECT_EQ(t.find("mp4\n#EXTINF"), std::string::npos);
}

TEST(DvrCatalog, RootIsTheTemplatesFixedDirectory) {
  EXPECT_EQ(dvr_root_of("./dvr/[app]/[stream].[timestamp]"), "./dvr");
  EXPECT_EQ(dvr_root_of("/var/rec/[app]/[2006]/[stream]"), "/var/rec");
  EXPECT_EQ(dvr_root_of("/var/rec/cam-[timestamp]"), "/var/rec");
  EXPECT_EQ(dvr_root_of("[app]/[stream]"), ".");
}

// [dvr:APP] retention: an app with its own limits loses its old files; the others keep theirs.
TEST(DvrCatalog, RetentionUsesTheAppsOwnLimitsWhereItHasThem) {
  gchar* tmp = g_dir_make_tmp("estuary-catalog-XXXXXX", nullptr);
  ASSERT_NE(tmp, nullptr);
  const std::string root = tmp;
  g_free(tmp);
  DvrCatalog& catalog = DvrCatalog::instance();
  catalog.configure(root, RetentionLimits{}, {{"short", RetentionLimits{60 * 1000, 0}}});
  for (int i = 0; i < 200 && !catalog.ready(); ++i) g_main_context_iteration(nullptr, TRUE);
  ASSERT_TRUE(catalog.ready());
  const int64_t now_ms = g_get_real_time() / 1000;
  for (const char* app : {"short", "long"}) {
    const std::string dir = root + "/" + app;
    g_mkdir_with_parents(dir.c_str(), 0755);
    const std::string file = dir + "/old.ts";
    ASSERT_TRUE(g_file_set_contents(file.c_str(), "x", 1, nullptr));
    catalog.opened(file, std::string(app) + "/cam", "ts", "h264", now_ms - 3600 * 1000);
    catalog.closed(file, now_ms - 3590 * 1000, 10.0, 1);
  }
  EXPECT_EQ(catalog.apply_retention("short", now_ms), 1u);
  EXPECT_EQ(catalog.apply_retention("long", now_ms), 0u);
  EXPECT_FALSE(g_file_test((root + "/short/old.ts").c_str(), G_FILE_TEST_EXISTS));
  EXPECT_TRUE(g_file_test((root + "/long/old.ts").c_str(), G_FILE_TEST_EXISTS));
  EXPECT_EQ(catalog.remove("long/old.ts").ok(), true);
}

}  // namespace
}  // namespace estuary::server
