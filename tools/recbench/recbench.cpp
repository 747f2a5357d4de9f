// estuary-recbench: how the recordings index behaves on a large archive. Writes N recordings
// (empty media files and their sidecars, as the recorder leaves them) over S streams under DIR,
// then times what the server does with them: the startup scan (scan_recordings), building the
// index, and range queries of one page (as GET /api/v1/recordings?stream=&from=&to= does).
//   estuary-recbench [--files N] [--streams S] [--dir DIR] [--queries Q]
// DIR is kept (pass it to estuary as [dvr] path = DIR/[app]/[stream]-[timestamp] to time the API).
#include <glib.h>
#include <glib/gstdio.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "server/outputs/dvr/dvr_catalog.h"
#include "server/outputs/dvr/recording_index.h"

using namespace estuary::server;
using Clock = std::chrono::steady_clock;

static double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

int main(int argc, char** argv) {
  long files = 100000, streams = 10, queries = 1000;
  std::string dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--files"))
      files = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--streams"))
      streams = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--dir"))
      dir = argv[i + 1];
    else if (!strcmp(argv[i], "--queries"))
      queries = atol(argv[i + 1]);
  }
  if (files <= 0 || streams <= 0) return 2;
  if (dir.empty()) {
    gchar* tmp = g_dir_make_tmp("estuary-recbench-XXXXXX", nullptr);
    dir = tmp;
    g_free(tmp);
  }
  // 10 s segments, back to back, ending now; one gap of a minute every 1000 files.
  const int64_t seg_ms = 10000;
  const int64_t per_stream = (files + streams - 1) / streams;
  const int64_t t_end = 1796083200000;  // fixed (2026-12-01), so a second run finds the same files
  const int64_t t_begin = t_end - per_stream * seg_ms - (per_stream / 1000 + 1) * 60000;
  auto t0 = Clock::now();
  long written = 0;
  for (long s = 0; s < streams && written < files; ++s) {
    const std::string stream = "live/cam" + std::to_string(s);
    g_mkdir_with_parents((dir + "/live").c_str(), 0755);
    int64_t t = t_begin;
    for (int64_t i = 0; i < per_stream && written < files; ++i, ++written) {
      if (i > 0 && i % 1000 == 0) t += 60000;
      Recording r;
      r.stream = stream;
      r.path = "live/cam" + std::to_string(s) + "-" + std::to_string(t) + ".ts";
      r.start_ms = t;
      r.end_ms = t + seg_ms;
      r.format = "ts";
      r.codecs = "h264,aac";
      const std::string media = dir + "/" + r.path;
      if (!g_file_test(media.c_str(), G_FILE_TEST_EXISTS)) {
        g_file_set_contents(media.c_str(), "", 0, nullptr);
        write_recording_sidecar(dir, r);
      }
      t += seg_ms;
    }
  }
  std::printf("dataset: %ld recordings over %ld streams in %s (written/checked in %.0f ms)\n", written, streams,
              dir.c_str(), ms_since(t0));

  t0 = Clock::now();
  std::vector<Recording> found = scan_recordings(dir);
  const double scan_ms = ms_since(t0);
  t0 = Clock::now();
  RecordingIndex index;
  for (auto& r : found) index.put(std::move(r));
  const double build_ms = ms_since(t0);
  std::printf("startup scan: %zu recordings in %.0f ms; index built in %.0f ms\n", index.size(), scan_ms, build_ms);

  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int64_t> at(t_begin, t_end);
  std::uniform_int_distribution<long> which(0, streams - 1);
  t0 = Clock::now();
  size_t hits = 0;
  for (long i = 0; i < queries; ++i) {
    RecordingQuery q;
    q.stream = "live/cam" + std::to_string(which(rng));
    q.from_ms = at(rng);
    q.to_ms = q.from_ms + 3600 * 1000;  // an hour: 360 files, one page of 100
    hits += index.query(q).items.size();
  }
  const double range_us = ms_since(t0) * 1000 / double(queries);
  t0 = Clock::now();
  RecordingQuery whole;
  whole.stream = "live/cam0";
  const size_t total = index.query(whole).total;
  const double whole_ms = ms_since(t0);
  t0 = Clock::now();
  RecordingQuery last_page;
  last_page.stream = "live/cam0";
  last_page.start = total > 100 ? total - 100 : 0;
  index.query(last_page);
  const double last_ms = ms_since(t0);
  t0 = Clock::now();
  const size_t all = index.query(RecordingQuery{}).total;
  const double all_ms = ms_since(t0);
  std::printf("one-hour range, one page (100): %.1f us per query (%ld queries, %zu rows)\n", range_us, queries, hits);
  std::printf("a whole stream, first page: %.2f ms (total %zu); its last page: %.2f ms\n", whole_ms, total, last_ms);
  std::printf("every stream, first page: %.1f ms (total %zu)\n", all_ms, all);
  return 0;
}
