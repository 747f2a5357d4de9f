// Tests: TsGuard (what reaches a demuxer) with hand-built MPEG-TS, and the real MPEG-TS ingest
// pipeline (TsGuard + our TsDemux pushing through parsers into estuarysink, as SRT publishers use it)
// fed streams that made GStreamer 1.22's tsdemux abort the process before the guard: garbage PES
// headers after a valid PAT/PMT, valid headers over garbage payload, and the committed fuzz corpora
// of ts_demux and ts_guard. The process surviving is the assertion.
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "pipelines/ts_guard.h"
#include "pipelines/ts_ingest.h"
#include "ts_psi.h"

using estuary::pipelines::pes_header_is_valid;
using estuary::pipelines::TsGuard;
using estuary::pipelines::TsIngest;
using estuary::pipelines::TsIngestSettings;

namespace {

constexpr int kVideoPid = 0x100, kAudioPid = 0x101, kPmtPid = 0x1000;
using Bytes = std::vector<uint8_t>;

using estuary::test::psi_packet;

Bytes pat() {
  // table 0, length 13, ts id 1, version 0 current, section 0/0, program 1 -> PMT PID
  return psi_packet(0, {0x00, 0xb0, 13, 0, 1, 0xc1, 0, 0, 0, 1, uint8_t(0xe0 | (kPmtPid >> 8)), kPmtPid & 0xff});
}

Bytes pmt(uint8_t version = 0) {
  Bytes s = {
      0x02, 0xb0, 23, 0, 1, uint8_t(0xc1 | (version << 1)), 0, 0, uint8_t(0xe0 | (kVideoPid >> 8)), kVideoPid & 0xff,
      0xf0, 0};
  const Bytes video = {0x1b, uint8_t(0xe0 | (kVideoPid >> 8)), kVideoPid & 0xff, 0xf0, 0};
  const Bytes audio = {0x0f, uint8_t(0xe0 | (kAudioPid >> 8)), kAudioPid & 0xff, 0xf0, 0};
  s.insert(s.end(), video.begin(), video.end());
  s.insert(s.end(), audio.begin(), audio.end());
  return psi_packet(kPmtPid, s);
}

Bytes timestamp(uint8_t prefix, uint64_t v) {
  return {uint8_t((prefix << 4) | (((v >> 30) & 7) << 1) | 1), uint8_t(v >> 22), uint8_t((((v >> 15) & 0x7f) << 1) | 1),
          uint8_t(v >> 7), uint8_t(((v & 0x7f) << 1) | 1)};
}

Bytes pes_header(int pid, bool with_pts, uint64_t pts = 90000) {
  Bytes h = {0,
             0,
             1,
             uint8_t(pid == kVideoPid ? 0xe0 : 0xc0),
             0,
             0,
             0x80,
             uint8_t(with_pts ? 0x80 : 0x00),
             uint8_t(with_pts ? 5 : 0)};
  if (with_pts) {
    Bytes t = timestamp(0x2, pts);
    h.insert(h.end(), t.begin(), t.end());
  }
  return h;
}

// One PES over `packets` TS packets on pid (the first carries the header), payload filler.
Bytes pes_packets(int pid, const Bytes& header, int packets, uint8_t* cc) {
  Bytes out;
  for (int i = 0; i < packets; ++i) {
    Bytes p = {0x47, uint8_t((i == 0 ? 0x40 : 0) | (pid >> 8)), uint8_t(pid & 0xff), uint8_t(0x10 | (*cc)++ % 16)};
    if (i == 0) p.insert(p.end(), header.begin(), header.end());
    p.resize(188, 0xab);
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

void append(Bytes& to, const Bytes& b) { to.insert(to.end(), b.begin(), b.end()); }

Bytes run(TsGuard& g, const Bytes& in, size_t chunk = 1 << 20) {
  Bytes out;
  for (size_t off = 0; off < in.size(); off += chunk) g.feed(in.data() + off, std::min(chunk, in.size() - off), out);
  return out;
}

}  // namespace

TEST(TsGuard, WellFormedStreamPassesUnchangedWhateverTheSplit) {
  uint8_t vcc = 0, acc = 0;
  Bytes in = pat();
  append(in, pmt());
  for (int i = 0; i < 5; ++i) {
    append(in, pes_packets(kVideoPid, pes_header(kVideoPid, true, 90000 + i * 3000), 3, &vcc));
    append(in, pes_packets(kAudioPid, pes_header(kAudioPid, true, 90000 + i * 1920), 1, &acc));
  }
  for (size_t chunk : {size_t(1) << 20, size_t(1316), size_t(7), size_t(1)}) {
    TsGuard g;
    EXPECT_EQ(run(g, in, chunk), in) << "chunk " << chunk;
    EXPECT_EQ(g.stats().pes_accepted, 10u);
    EXPECT_EQ(g.stats().pes_rejected, 0u);
    EXPECT_FALSE(g.hopeless());
  }
}

TEST(TsGuard, PesWithoutPtsIsDroppedWithAllItsPacketsAndTheNextGoodOnePasses) {
  uint8_t vcc = 0;
  Bytes head = pat();
  append(head, pmt());
  const Bytes bad = pes_packets(kVideoPid, pes_header(kVideoPid, false), 3, &vcc);
  const Bytes good = pes_packets(kVideoPid, pes_header(kVideoPid, true), 2, &vcc);
  Bytes in = head;
  append(in, bad);
  append(in, good);
  TsGuard g;
  Bytes expected = head;
  append(expected, good);
  EXPECT_EQ(run(g, in), expected);
  EXPECT_EQ(g.stats().pes_rejected, 1u);
  EXPECT_EQ(g.last_rejection(), "PES without a PTS");
}

TEST(TsGuard, PesHeaderChecksCatchEachMalformation) {
  std::string why;
  Bytes ok = pes_header(kVideoPid, true);
  EXPECT_TRUE(pes_header_is_valid(ok.data(), ok.size(), &why)) << why;
  auto broken = [&](auto mutate) {
    Bytes h = ok;
    mutate(h);
    return !pes_header_is_valid(h.data(), h.size(), &why);
  };
  EXPECT_TRUE(broken([](Bytes& h) { h[2] = 2; }));               // start code
  EXPECT_TRUE(broken([](Bytes& h) { h[3] = 0xbe; }));            // padding stream id
  EXPECT_TRUE(broken([](Bytes& h) { h[6] = 0x40; }));            // marker bits
  EXPECT_TRUE(broken([](Bytes& h) { h[7] = 0x40; }));            // PTS_DTS_flags 01
  EXPECT_TRUE(broken([](Bytes& h) { h[7] = 0xc0; }));            // DTS announced, no room
  EXPECT_TRUE(broken([](Bytes& h) { h[8] = 200; }));             // header longer than packet
  EXPECT_TRUE(broken([](Bytes& h) { h[9] = 0x31; }));            // PTS prefix says PTS+DTS
  EXPECT_TRUE(broken([](Bytes& h) { h[11] &= 0xfe; }));          // PTS marker bit
  EXPECT_TRUE(broken([](Bytes& h) { h[4] = 0, h[5] = 4; }));     // length shorter than header
  EXPECT_TRUE(broken([](Bytes& h) { h[7] |= 0x20; }));           // ESCR without room
  EXPECT_TRUE(broken([](Bytes& h) { h.resize(8); }));            // truncated
  EXPECT_FALSE(broken([](Bytes& h) { h[4] = 0, h[5] = 200; }));  // a plausible length is fine
}

TEST(TsGuard, ChangedOrCorruptProgramTablesAndForeignPidsAreDropped) {
  uint8_t vcc = 0, xcc = 0;
  Bytes head = pat();
  append(head, pmt());
  Bytes corrupt = pmt();
  corrupt[20] ^= 0x01;  // inside the section: the CRC no longer matches
  Bytes in = head;
  append(in, pmt(1));  // a new version of the program mid-stream
  append(in, corrupt);
  append(in, pes_packets(0x300, pes_header(kVideoPid, true), 1, &xcc));  // not in the PMT
  const Bytes good = pes_packets(kVideoPid, pes_header(kVideoPid, true), 1, &vcc);
  append(in, good);
  TsGuard g;
  Bytes expected = head;
  append(expected, good);
  EXPECT_EQ(run(g, in), expected);
  EXPECT_EQ(g.stats().psi_rejected, 2u);
}

TEST(TsGuard, MostlyGarbageIsHopelessAFewBadHeadersAreNot) {
  uint8_t vcc = 0;
  Bytes in = pat();
  append(in, pmt());
  for (int i = 0; i < 100; ++i)
    append(in, pes_packets(kVideoPid, pes_header(kVideoPid, i % 25 != 0, 90000 + i * 3000), 1, &vcc));
  TsGuard mostly_good;
  run(mostly_good, in);
  EXPECT_EQ(mostly_good.stats().pes_rejected, 4u);
  EXPECT_FALSE(mostly_good.hopeless());

  Bytes garbage = pat();
  append(garbage, pmt());
  for (int i = 0; i < 40; ++i) append(garbage, pes_packets(kVideoPid, pes_header(kVideoPid, false), 1, &vcc));
  TsGuard g;
  run(g, garbage);
  EXPECT_TRUE(g.hopeless());
}

namespace {

// The shapes that aborted 1.22's tsdemux: a valid PAT/PMT, then packets on the program's PIDs
// with PES start codes followed by random header bytes (or valid headers over random payload).
Bytes attack_stream(unsigned seed, bool valid_headers) {
  std::mt19937 rnd(seed);
  Bytes out = pat();
  append(out, pmt());
  uint8_t cc[2] = {0, 0};
  uint64_t pts = 90000;
  for (int i = 0; i < 400; ++i) {
    const bool video = rnd() % 2;
    const int pid = video ? kVideoPid : kAudioPid;
    const bool start = rnd() % 2;
    Bytes p = {0x47, uint8_t((start ? 0x40 : 0) | (pid >> 8)), uint8_t(pid & 0xff), uint8_t(0x10 | cc[video]++ % 16)};
    for (int b = 0; b < 184; ++b) p.push_back(uint8_t(rnd()));
    if (start) {
      Bytes h = {0, 0, 1, uint8_t(video ? 0xe0 : 0xc0)};
      if (valid_headers) {
        pts += rnd() % 6000;
        h = pes_header(pid, true, pts);
      } else if (rnd() % 10 < 7) {
        p[4 + 6] = uint8_t(0x80 | (p[4 + 6] & 0x3f));  // keep the marker bits right more often than not
      }
      std::copy(h.begin(), h.end(), p.begin() + 4);
    }
    append(out, p);
    if (i % 50 == 0) {
      append(out, pat());
      append(out, pmt());
    }
  }
  return out;
}

// Feeds bytes through the real ingest pipeline in SRT-sized chunks and lets it run briefly.
void ingest(const Bytes& bytes, const std::string& name) {
  TsIngest ingest(name, TsIngestSettings{});
  for (size_t off = 0; off < bytes.size(); off += 1316) {
    auto st = ingest.push(bytes.data() + off, std::min<size_t>(1316, bytes.size() - off));
    if (!st) break;  // refused: as good as surviving
  }
  GMainContext* ctx = g_main_context_default();
  const gint64 until = g_get_monotonic_time() + 30 * 1000;
  while (g_get_monotonic_time() < until) g_main_context_iteration(ctx, FALSE);
  ingest.stop();
}

}  // namespace

TEST(TsIngestUnderAttack, GarbagePesHeadersAfterAValidProgramNeverAbortTheProcess) {
  // Before the guard, about half of these seeds aborted the process in tsdemux.
  for (unsigned seed = 1; seed <= 60; ++seed) ingest(attack_stream(seed, false), "fuzz/headers" + std::to_string(seed));
  SUCCEED() << "the process is still alive";
}

TEST(TsIngestUnderAttack, FuzzCorporaThroughTheRealIngestNeverAbortTheProcess) {
  const char* root = g_getenv("ESTUARY_SOURCE_ROOT");
  ASSERT_NE(root, nullptr) << "the tests set ESTUARY_SOURCE_ROOT";
  int replayed = 0;
  for (const char* target : {"ts_demux", "ts_guard"}) {
    const std::string dir = std::string(root) + "/tests/fuzz/corpus/" + target;
    GDir* d = g_dir_open(dir.c_str(), 0, nullptr);
    ASSERT_NE(d, nullptr) << dir;
    while (const char* name = g_dir_read_name(d)) {
      gchar* contents = nullptr;
      gsize len = 0;
      if (!g_file_get_contents((dir + "/" + name).c_str(), &contents, &len, nullptr)) continue;
      if (len > 1) ingest(Bytes(contents + 1, contents + len), std::string("corpus/") + name);  // byte 0: piece size
      g_free(contents);
      ++replayed;
    }
    g_dir_close(d);
  }
  EXPECT_GE(replayed, 4);
}

TEST(TsIngestUnderAttack, ValidHeadersOverGarbagePayloadNeverAbortTheProcess) {
  for (unsigned seed = 1; seed <= 30; ++seed) ingest(attack_stream(seed, true), "fuzz/payload" + std::to_string(seed));
  SUCCEED() << "the process is still alive";
}
