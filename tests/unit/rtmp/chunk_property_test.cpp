// Owns: a randomized differential test of the chunk reader: a generator writes interleaved messages
// with every header format a correct peer may choose (types 0-3, extended timestamps repeated or
// omitted per chunk stream, chunk-size changes between any two chunks) and knows the messages it
// encoded; the reader must return exactly those, whatever the input split.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <random>

#include "rtmp_test_util.h"
#include "server/protocols/rtmp/chunk.h"

namespace estuary::rtmp {
namespace {

using test::Bytes;

struct Expected {
  uint32_t csid;
  uint8_t type;
  uint32_t ts;
  uint32_t stream_id;
  Bytes payload;
};

// How often each interesting form was written, summed over all seeds.
struct Coverage {
  size_t fmt[4] = {0, 0, 0, 0};
  size_t ext_repeated = 0;  // type-3 chunks that repeat an extended timestamp
  size_t ext_omitted = 0;   // type-3 chunks after an extended header that leave it off
  size_t chunk_size_changes = 0;
};

class Generator {
 public:
  Generator(uint32_t seed, Coverage& cov) : rng_(seed), cov_(cov) {}

  void run(Bytes& wire, std::vector<Expected>& expected) {
    const uint32_t ids[] = {4, 6, 63, 64, 319, 320, 5000};
    int n_streams = 1 + int(rng_() % 4);
    for (int i = 0; i < n_streams; i++) {
      State& s = streams_[ids[rng_() % 7]];
      s.repeat_ext = rng_() % 2 == 0;
      s.queue = 2 + rng_() % 12;
    }
    for (;;) {
      std::vector<uint32_t> live;
      for (auto& [id, s] : streams_) {
        if (s.queue > 0 || s.left > 0) live.push_back(id);
      }
      if (live.empty()) break;
      if (rng_() % 10 == 0) set_chunk_size(wire, expected);
      uint32_t id = live[rng_() % live.size()];
      chunk(id, streams_[id], wire, expected);
    }
  }

 private:
  struct State {
    bool has_header = false;
    bool repeat_ext = false;
    uint32_t ts = 0, delta = 0, length = 0, stream_id = 1;
    uint8_t type = 0;
    bool extended = false;  // last type 0/1/2 header carried an extended field
    uint32_t ext_value = 0;
    size_t queue = 0;  // messages still to start
    size_t left = 0;   // bytes of the current message still to send
    Bytes payload;
  };

  void set_chunk_size(Bytes& wire, std::vector<Expected>& expected) {
    const uint32_t sizes[] = {4, 50, 128, 1000, 4096, 65536};
    uint32_t cs = sizes[rng_() % 6];
    Bytes m = test::control_message(msg::set_chunk_size, cs, chunk_size_);
    wire.insert(wire.end(), m.begin(), m.end());
    Bytes p;
    test::put_u32(p, cs);
    expected.push_back({2, msg::set_chunk_size, 0, 0, p});
    chunk_size_ = cs;
    cov_.chunk_size_changes++;
  }

  uint32_t pick_delta() {
    switch (rng_() % 6) {
      case 0:
        return 0;
      case 1:
        return 0xFFFFFF;  // the smallest extended value
      case 2:
        return 0x01000000 + rng_() % 1000;
      default:
        return rng_() % 100;
    }
  }

  void write_ts_field(Bytes& wire, uint32_t v) { test::put_u24(wire, v >= 0xFFFFFF ? 0xFFFFFF : v); }

  void chunk(uint32_t id, State& s, Bytes& wire, std::vector<Expected>& expected) {
    if (s.left == 0) {
      start(id, s, wire);
    } else {
      test::put_basic(wire, 3, id);
      count_type3(s);
      if (s.extended && s.repeat_ext) test::put_u32(wire, s.ext_value);
    }
    size_t n = std::min<size_t>(s.left, chunk_size_);
    size_t from = s.payload.size() - s.left;
    wire.insert(wire.end(), s.payload.begin() + from, s.payload.begin() + from + n);
    s.left -= n;
    if (s.left == 0) expected.push_back({id, s.type, s.ts, s.stream_id, s.payload});
  }

  void start(uint32_t id, State& s, Bytes& wire) {
    s.queue--;
    bool keep_shape = s.has_header && rng_() % 2 == 0;
    uint32_t length = keep_shape ? s.length : 1 + rng_() % 3000;
    uint8_t type = keep_shape ? s.type : (rng_() % 2 ? msg::audio : msg::video);
    bool keep_delta = s.has_header && rng_() % 2 == 0;
    uint32_t delta = keep_delta ? s.delta : pick_delta();
    s.payload = test::pattern(length, uint8_t(rng_()));
    for (auto& b : s.payload) b = uint8_t(b ^ rng_());
    s.left = length;

    int fmt;
    if (!s.has_header || rng_() % 5 == 0) {
      fmt = 0;
    } else if (length != s.length || type != s.type) {
      fmt = 1;
    } else if (delta != s.delta) {
      fmt = 2;
    } else {
      fmt = 3;
    }
    test::put_basic(wire, uint8_t(fmt), id);
    cov_.fmt[fmt]++;
    if (fmt == 0) {
      uint32_t ts = s.has_header ? s.ts + delta : (rng_() % 3 == 0 ? 0x01000000 + rng_() % 5 : rng_() % 1000);
      write_ts_field(wire, ts);
      test::put_u24(wire, length);
      wire.push_back(type);
      for (int sh = 0; sh < 32; sh += 8) wire.push_back(uint8_t(s.stream_id >> sh));
      if (ts >= 0xFFFFFF) test::put_u32(wire, ts);
      s.ts = ts;
      s.delta = ts;  // what a following type-3 message adds (FFmpeg / SRS reading)
      s.extended = ts >= 0xFFFFFF;
      s.ext_value = ts;
    } else if (fmt == 1 || fmt == 2) {
      write_ts_field(wire, delta);
      if (fmt == 1) {
        test::put_u24(wire, length);
        wire.push_back(type);
      }
      if (delta >= 0xFFFFFF) test::put_u32(wire, delta);
      s.ts += delta;
      s.delta = delta;
      s.extended = delta >= 0xFFFFFF;
      s.ext_value = delta;
    } else {
      count_type3(s);
      if (s.extended && s.repeat_ext) test::put_u32(wire, s.ext_value);
      s.ts += s.delta;
    }
    s.has_header = true;
    s.length = length;
    s.type = type;
  }

  void count_type3(const State& s) {
    if (s.extended) (s.repeat_ext ? cov_.ext_repeated : cov_.ext_omitted)++;
  }

  std::mt19937 rng_;
  Coverage& cov_;
  std::map<uint32_t, State> streams_;
  uint32_t chunk_size_ = 128;
};

void expect_messages(const std::vector<Message>& got, const std::vector<Expected>& want, uint32_t seed) {
  ASSERT_EQ(got.size(), want.size()) << "seed " << seed;
  for (size_t i = 0; i < got.size(); i++) {
    ASSERT_EQ(got[i].csid, want[i].csid) << "seed " << seed << " #" << i;
    ASSERT_EQ(got[i].type, want[i].type) << "seed " << seed << " #" << i;
    ASSERT_EQ(got[i].timestamp, want[i].ts) << "seed " << seed << " #" << i;
    ASSERT_EQ(got[i].stream_id, want[i].stream_id) << "seed " << seed << " #" << i;
    ASSERT_EQ(got[i].payload, want[i].payload) << "seed " << seed << " #" << i;
  }
}

TEST(ChunkReaderProperty, RandomConformingStreams) {
  Coverage cov;
  for (uint32_t seed = 1; seed <= 400; seed++) {
    Generator g(seed, cov);
    Bytes wire;
    std::vector<Expected> want;
    g.run(wire, want);

    ChunkReader bulk;
    std::vector<Message> got;
    Status st = bulk.feed(wire.data(), wire.size(), got);
    ASSERT_TRUE(st.ok()) << "seed " << seed << ": " << st.error().message;
    expect_messages(got, want, seed);
    EXPECT_EQ(bulk.partial_streams(), 0u);
    EXPECT_EQ(bulk.buffered_bytes(), 0u);

    std::mt19937 rng(seed * 7919);
    ChunkReader split;
    std::vector<Message> got_split;
    size_t pos = 0;
    size_t max_piece = seed % 3 == 0 ? 1 : (seed % 3 == 1 ? 7 : 300);
    while (pos < wire.size()) {
      size_t n = std::min<size_t>(wire.size() - pos, 1 + rng() % max_piece);
      ASSERT_TRUE(split.feed(wire.data() + pos, n, got_split).ok()) << "seed " << seed;
      pos += n;
    }
    expect_messages(got_split, want, seed);
  }
  for (int f = 0; f < 4; f++) EXPECT_GT(cov.fmt[f], 100u) << "type " << f;
  EXPECT_GT(cov.ext_repeated, 100u);
  EXPECT_GT(cov.ext_omitted, 100u);
  EXPECT_GT(cov.chunk_size_changes, 100u);
  std::printf("coverage: fmt0=%zu fmt1=%zu fmt2=%zu fmt3=%zu ext_repeated=%zu ext_omitted=%zu chunk_size_changes=%zu\n",
              cov.fmt[0], cov.fmt[1], cov.fmt[2], cov.fmt[3], cov.ext_repeated, cov.ext_omitted,
              cov.chunk_size_changes);
}

}  // namespace
}  // namespace estuary::rtmp
