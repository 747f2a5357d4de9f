// Owns: chunk reader/writer tests: every header format, chunk-size changes, extended timestamps
// (repeated and omitted on type-3 chunks), interleaving, abort, arbitrary input splits, csid forms,
// writer/reader round trips, and hostile input (huge lengths, too many streams, bad chunk sizes,
// random bytes).
#include <gtest/gtest.h>

#include <random>

#include "rtmp_test_util.h"
#include "server/protocols/rtmp/chunk.h"

namespace estuary::rtmp {
namespace {

using test::Bytes;
using test::ChunkBuilder;
using test::pattern;

struct Parsed {
  Status status = ok_status();
  std::vector<Message> messages;
};

Parsed parse_all(const Bytes& b, ChunkReaderLimits limits = {}) {
  ChunkReader r(limits);
  Parsed p;
  p.status = r.feed(b.data(), b.size(), p.messages);
  return p;
}

Parsed parse_bytewise(const Bytes& b, ChunkReaderLimits limits = {}) {
  ChunkReader r(limits);
  Parsed p;
  for (uint8_t x : b) {
    p.status = r.feed(&x, 1, p.messages);
    if (!p.status.ok()) break;
  }
  return p;
}

Parsed parse_split(const Bytes& b, std::mt19937& rng) {
  ChunkReader r;
  Parsed p;
  size_t pos = 0;
  while (pos < b.size()) {
    size_t n = std::min<size_t>(b.size() - pos, 1 + rng() % 40);
    p.status = r.feed(b.data() + pos, n, p.messages);
    if (!p.status.ok()) break;
    pos += n;
  }
  return p;
}

void expect_same(const std::vector<Message>& a, const std::vector<Message>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); i++) {
    EXPECT_EQ(a[i].csid, b[i].csid) << i;
    EXPECT_EQ(a[i].type, b[i].type) << i;
    EXPECT_EQ(a[i].timestamp, b[i].timestamp) << i;
    EXPECT_EQ(a[i].stream_id, b[i].stream_id) << i;
    EXPECT_EQ(a[i].payload, b[i].payload) << i;
  }
}

TEST(ChunkReader, Type0SingleChunk) {
  Bytes payload = pattern(50);
  ChunkBuilder c;
  c.fmt0(4, 1000, 50, msg::video, 1).data(payload);
  Parsed p = parse_all(c.bytes);
  ASSERT_TRUE(p.status.ok()) << p.status.error().message;
  ASSERT_EQ(p.messages.size(), 1u);
  EXPECT_EQ(p.messages[0].csid, 4u);
  EXPECT_EQ(p.messages[0].type, msg::video);
  EXPECT_EQ(p.messages[0].timestamp, 1000u);
  EXPECT_EQ(p.messages[0].stream_id, 1u);
  EXPECT_EQ(p.messages[0].payload, payload);
}

TEST(ChunkReader, AllHeaderFormatsAndDeltas) {
  Bytes a = pattern(10, 1), b = pattern(5, 2), c = pattern(5, 3), d = pattern(5, 4);
  ChunkBuilder cb;
  cb.fmt0(4, 1000, 10, msg::audio, 1).data(a);
  cb.fmt1(4, 20, 5, msg::video).data(b);  // new length and type, delta 20
  cb.fmt2(4, 30).data(c);                 // same length/type, delta 30
  cb.fmt3(4).data(d);                     // everything repeated, delta 30 again
  Parsed p = parse_all(cb.bytes);
  ASSERT_TRUE(p.status.ok()) << p.status.error().message;
  ASSERT_EQ(p.messages.size(), 4u);
  EXPECT_EQ(p.messages[0].timestamp, 1000u);
  EXPECT_EQ(p.messages[1].timestamp, 1020u);
  EXPECT_EQ(p.messages[1].type, msg::video);
  EXPECT_EQ(p.messages[1].stream_id, 1u);
  EXPECT_EQ(p.messages[2].timestamp, 1050u);
  EXPECT_EQ(p.messages[2].payload, c);
  EXPECT_EQ(p.messages[3].timestamp, 1080u);
  EXPECT_EQ(p.messages[3].payload, d);
  EXPECT_EQ(p.messages[3].type, msg::video);
}

TEST(ChunkReader, Type3AfterType0ReusesTimestampFieldAsDelta) {
  // FFmpeg and SRS read a type-3 new message after a type-0 header as "add the last field".
  ChunkBuilder cb;
  cb.fmt0(5, 100, 2, msg::audio, 1).data({1, 2});
  cb.fmt3(5).data({3, 4});
  Parsed p = parse_all(cb.bytes);
  ASSERT_TRUE(p.status.ok());
  ASSERT_EQ(p.messages.size(), 2u);
  EXPECT_EQ(p.messages[1].timestamp, 200u);
}

TEST(ChunkReader, MultiChunkMessage) {
  Bytes payload = pattern(300);
  ChunkBuilder cb;
  cb.fmt0(6, 0, 300, msg::video, 1).data(payload, 0, 128);
  cb.fmt3(6).data(payload, 128, 128);
  cb.fmt3(6).data(payload, 256, 44);
  Parsed p = parse_all(cb.bytes);
  ASSERT_TRUE(p.status.ok());
  ASSERT_EQ(p.messages.size(), 1u);
  EXPECT_EQ(p.messages[0].payload, payload);
}

TEST(ChunkReader, SetChunkSizeMidStream) {
  Bytes first = pattern(200, 9), second = pattern(3000, 11);
  ChunkBuilder cb;
  cb.fmt0(6, 0, 200, msg::video, 1).data(first, 0, 128).fmt3(6).data(first, 128, 72);
  cb.raw(test::control_message(msg::set_chunk_size, 4096));
  cb.fmt0(6, 40, 3000, msg::video, 1).data(second);  // one chunk at the new size
  ChunkReader r;
  std::vector<Message> out;
  ASSERT_TRUE(r.feed(cb.bytes.data(), cb.bytes.size(), out).ok());
  EXPECT_EQ(r.chunk_size(), 4096u);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].payload, first);
  EXPECT_EQ(out[1].type, msg::set_chunk_size);
  EXPECT_EQ(out[2].payload, second);
  EXPECT_EQ(out[2].timestamp, 40u);
}

TEST(ChunkReader, ExtendedTimestampRepeatedOnContinuations) {
  const uint32_t ts = 0x01000000;
  Bytes payload = pattern(300);
  ChunkBuilder cb;
  cb.fmt0(6, ts, 300, msg::video, 1).data(payload, 0, 128);
  cb.fmt3(6, ts).data(payload, 128, 128);
  cb.fmt3(6, ts).data(payload, 256, 44);
  for (auto parsed : {parse_all(cb.bytes), parse_bytewise(cb.bytes)}) {
    ASSERT_TRUE(parsed.status.ok()) << parsed.status.error().message;
    ASSERT_EQ(parsed.messages.size(), 1u);
    EXPECT_EQ(parsed.messages[0].timestamp, ts);
    EXPECT_EQ(parsed.messages[0].payload, payload);
  }
}

TEST(ChunkReader, ExtendedTimestampNotRepeatedOnContinuations) {
  const uint32_t ts = 0x01234567;
  Bytes payload = pattern(300);
  ChunkBuilder cb;
  cb.fmt0(6, ts, 300, msg::video, 1).data(payload, 0, 128);
  cb.fmt3(6).data(payload, 128, 128);
  cb.fmt3(6).data(payload, 256, 44);
  for (auto parsed : {parse_all(cb.bytes), parse_bytewise(cb.bytes)}) {
    ASSERT_TRUE(parsed.status.ok()) << parsed.status.error().message;
    ASSERT_EQ(parsed.messages.size(), 1u);
    EXPECT_EQ(parsed.messages[0].timestamp, ts);
    EXPECT_EQ(parsed.messages[0].payload, payload);
  }
}

TEST(ChunkReader, ExtendedTimestampOmittedWithShortLastChunk) {
  // The last continuation carries 2 bytes: the reader must peek past them and still get it right.
  const uint32_t ts = 0x02000000;
  Bytes payload = pattern(130);
  Bytes next = pattern(4, 50);
  ChunkBuilder cb;
  cb.fmt0(6, ts, 130, msg::video, 1).data(payload, 0, 128);
  cb.fmt3(6).data(payload, 128, 2);
  cb.fmt0(7, 5, 4, msg::audio, 1).data(next);
  for (auto parsed : {parse_all(cb.bytes), parse_bytewise(cb.bytes)}) {
    ASSERT_TRUE(parsed.status.ok()) << parsed.status.error().message;
    ASSERT_EQ(parsed.messages.size(), 2u);
    EXPECT_EQ(parsed.messages[0].payload, payload);
    EXPECT_EQ(parsed.messages[1].payload, next);
  }
}

TEST(ChunkReader, ExtendedDeltaOnType1AndType3NewMessage) {
  ChunkBuilder cb;
  cb.fmt0(4, 10, 1, msg::audio, 1).data({1});
  cb.fmt1(4, 0x01000000, 1, msg::audio).data({2});  // extended delta
  cb.fmt3(4, 0x01000000).data({3});                 // new message, delta repeated in the extended field
  Parsed p = parse_all(cb.bytes);
  ASSERT_TRUE(p.status.ok()) << p.status.error().message;
  ASSERT_EQ(p.messages.size(), 3u);
  EXPECT_EQ(p.messages[1].timestamp, 10u + 0x01000000u);
  EXPECT_EQ(p.messages[2].timestamp, 10u + 2u * 0x01000000u);
}

TEST(ChunkReader, TimestampWraps) {
  ChunkBuilder cb;
  cb.fmt0(4, 0xFFFFFFF0u, 1, msg::audio, 1).data({1});
  cb.fmt2(4, 0x20).data({2});
  Parsed p = parse_all(cb.bytes);
  ASSERT_TRUE(p.status.ok());
  EXPECT_EQ(p.messages[1].timestamp, 0x10u);
}

TEST(ChunkReader, InterleavedChunkStreams) {
  Bytes v = pattern(300, 1), a = pattern(200, 2);
  ChunkBuilder cb;
  cb.fmt0(6, 100, 300, msg::video, 1).data(v, 0, 128);
  cb.fmt0(4, 90, 200, msg::audio, 1).data(a, 0, 128);
  cb.fmt3(6).data(v, 128, 128);
  cb.fmt3(4).data(a, 128, 72);
  cb.fmt3(6).data(v, 256, 44);
  Parsed p = parse_all(cb.bytes);
  ASSERT_TRUE(p.status.ok());
  ASSERT_EQ(p.messages.size(), 2u);
  EXPECT_EQ(p.messages[0].csid, 4u);
  EXPECT_EQ(p.messages[0].payload, a);
  EXPECT_EQ(p.messages[0].timestamp, 90u);
  EXPECT_EQ(p.messages[1].csid, 6u);
  EXPECT_EQ(p.messages[1].payload, v);
}

TEST(ChunkReader, AbortDiscardsPartialMessage) {
  Bytes v = pattern(300), w = pattern(20, 5);
  ChunkBuilder cb;
  cb.fmt0(6, 0, 300, msg::video, 1).data(v, 0, 128);
  cb.raw(test::control_message(msg::abort, 6));
  cb.fmt0(6, 40, 20, msg::video, 1).data(w);
  ChunkReader r;
  std::vector<Message> out;
  ASSERT_TRUE(r.feed(cb.bytes.data(), cb.bytes.size(), out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].type, msg::abort);
  EXPECT_EQ(out[1].payload, w);
  EXPECT_EQ(r.partial_streams(), 0u);
  EXPECT_EQ(r.buffered_bytes(), 0u);
}

TEST(ChunkReader, ZeroLengthMessage) {
  ChunkBuilder cb;
  cb.fmt0(3, 0, 0, msg::amf0_command, 0);
  cb.fmt0(3, 0, 2, msg::amf0_command, 0).data({5, 0});
  Parsed p = parse_all(cb.bytes);
  ASSERT_TRUE(p.status.ok());
  ASSERT_EQ(p.messages.size(), 2u);
  EXPECT_TRUE(p.messages[0].payload.empty());
}

TEST(ChunkReader, FreshStreamMayStartWithType1ButNotType2Or3) {
  ChunkBuilder ok;
  ok.fmt1(8, 33, 3, msg::audio).data({1, 2, 3});
  Parsed p = parse_all(ok.bytes);
  ASSERT_TRUE(p.status.ok());
  EXPECT_EQ(p.messages[0].timestamp, 33u);
  ChunkBuilder t2;
  t2.fmt2(8, 33).data({1});
  EXPECT_FALSE(parse_all(t2.bytes).status.ok());
  ChunkBuilder t3;
  t3.fmt3(8).data({1});
  EXPECT_FALSE(parse_all(t3.bytes).status.ok());
}

TEST(ChunkReader, CsidBasicHeaderForms) {
  for (uint32_t id : {2u, 63u, 64u, 65u, 319u, 320u, 1000u, 65599u}) {
    Bytes payload = pattern(500, uint8_t(id));
    Bytes b = encode_message(id, msg::video, 77, 1, payload.data(), payload.size(), 128);
    size_t expect_basic = id < 64 ? 1 : (id < 320 ? 2 : 3);
    EXPECT_EQ(b.size(), encoded_message_size(id, 77, payload.size(), 128));
    EXPECT_EQ(b.size(), expect_basic + 11 + 3 * expect_basic + 500) << id;
    Parsed p = parse_bytewise(b);
    ASSERT_TRUE(p.status.ok()) << id;
    ASSERT_EQ(p.messages.size(), 1u);
    EXPECT_EQ(p.messages[0].csid, id);
    EXPECT_EQ(p.messages[0].payload, payload);
  }
  EXPECT_TRUE(encode_message(1, msg::video, 0, 1, nullptr, 0, 128).empty());
  EXPECT_TRUE(encode_message(65600, msg::video, 0, 1, nullptr, 0, 128).empty());
}

TEST(ChunkReader, ByteByByteEqualsBulkAndRandomSplits) {
  // A stream mixing formats, chunk sizes, interleaving and extended timestamps.
  Bytes v = pattern(1000, 1), a = pattern(150, 2), big = pattern(5000, 3);
  ChunkBuilder cb;
  cb.fmt0(6, 0x00FFFFFF, 1000, msg::video, 1);
  for (size_t off = 0; off < 1000; off += 128) {
    if (off > 0) cb.fmt3(6, 0x00FFFFFF);
    cb.data(v, off, 128);
    if (off == 256) cb.fmt0(4, 5, 150, msg::audio, 1).data(a, 0, 128);
    if (off == 384) cb.fmt3(4).data(a, 128, 22);
  }
  cb.raw(test::control_message(msg::set_chunk_size, 1000));
  cb.fmt1(4, 23, 5000, msg::video);
  for (size_t off = 0; off < 5000; off += 1000) {
    if (off > 0) cb.fmt3(4);
    cb.data(big, off, 1000);
  }
  cb.fmt2(4, 0x01000000);
  for (size_t off = 0; off < 5000; off += 1000) {
    if (off > 0) cb.fmt3(4);  // extended delta not repeated
    cb.data(big, off, 1000);
  }
  Parsed bulk = parse_all(cb.bytes);
  ASSERT_TRUE(bulk.status.ok()) << bulk.status.error().message;
  ASSERT_EQ(bulk.messages.size(), 5u);
  EXPECT_EQ(bulk.messages[0].csid, 4u);
  EXPECT_EQ(bulk.messages[0].payload, a);
  EXPECT_EQ(bulk.messages[1].payload, v);
  EXPECT_EQ(bulk.messages[1].timestamp, 0x00FFFFFFu);
  EXPECT_EQ(bulk.messages[3].payload, big);
  EXPECT_EQ(bulk.messages[3].timestamp, 28u);
  EXPECT_EQ(bulk.messages[4].payload, big);
  EXPECT_EQ(bulk.messages[4].timestamp, 28u + 0x01000000u);

  Parsed bytewise = parse_bytewise(cb.bytes);
  ASSERT_TRUE(bytewise.status.ok()) << bytewise.status.error().message;
  expect_same(bulk.messages, bytewise.messages);
  std::mt19937 rng(4242);
  for (int i = 0; i < 50; i++) {
    Parsed split = parse_split(cb.bytes, rng);
    ASSERT_TRUE(split.status.ok());
    expect_same(bulk.messages, split.messages);
  }
}

TEST(ChunkWriter, GoldenBytes) {
  Bytes payload = {0xAA, 0xBB, 0xCC};
  Bytes b = encode_message(3, msg::amf0_command, 0x010203, 0x01020304, payload.data(), payload.size(), 128);
  Bytes want = {0x03, 0x01, 0x02, 0x03, 0x00, 0x00, 0x03, 20, 0x04, 0x03, 0x02, 0x01, 0xAA, 0xBB, 0xCC};
  EXPECT_EQ(b, want);
  // Extended timestamp: field 0xFFFFFF, then the 4-byte value, repeated on the continuation.
  Bytes two = encode_message(4, msg::audio, 0x12345678, 1, payload.data(), payload.size(), 2);
  Bytes want2 = {0x04, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x03, 8,    1,    0,    0,    0,
                 0x12, 0x34, 0x56, 0x78, 0xAA, 0xBB, 0xC4, 0x12, 0x34, 0x56, 0x78, 0xCC};
  EXPECT_EQ(two, want2);
}

TEST(ChunkWriter, RoundTripAtSeveralChunkSizes) {
  const uint32_t sizes[] = {1, 128, 4096, 60000, 65536};
  const size_t lengths[] = {0, 1, 127, 128, 129, 65536, 100000, 300000};
  const uint32_t stamps[] = {0, 1000, 0xFFFFFE, 0xFFFFFF, 0x01000000, 0xFFFFFFFF};
  for (uint32_t cs : sizes) {
    ChunkReader reader;
    std::vector<Message> out;
    if (cs != 128) {
      Bytes set = test::control_message(msg::set_chunk_size, cs);
      ASSERT_TRUE(reader.feed(set.data(), set.size(), out).ok());
      out.clear();
    }
    size_t i = 0;
    for (size_t len : lengths) {
      if (cs == 1 && len > 1000) continue;
      uint32_t ts = stamps[i++ % 6];
      Bytes payload = pattern(len, uint8_t(len));
      Bytes wire = encode_message(6, msg::video, ts, 1, payload.data(), payload.size(), cs);
      ASSERT_EQ(wire.size(), encoded_message_size(6, ts, len, cs));
      ASSERT_TRUE(reader.feed(wire.data(), wire.size(), out).ok()) << cs << " " << len;
      ASSERT_EQ(out.size(), 1u) << cs << " " << len;
      EXPECT_EQ(out[0].timestamp, ts);
      EXPECT_EQ(out[0].stream_id, 1u);
      EXPECT_EQ(out[0].payload, payload);
      out.clear();
    }
  }
}

TEST(ChunkWriter, ConcatenatedMessagesNeedNoSharedState) {
  // Each message is self-describing (type 0), so a player may join at any message boundary
  // of the shared stream, right after its own connection's Set Chunk Size.
  Bytes b = pattern(700, 2);
  Bytes stream = test::control_message(msg::set_chunk_size, 256);
  Bytes m2 = encode_message(6, msg::video, 0x01000040, 1, b.data(), b.size(), 256);
  Bytes late = stream;
  late.insert(late.end(), m2.begin(), m2.end());
  Parsed p;
  ChunkReader r;
  ASSERT_TRUE(r.feed(late.data(), late.size(), p.messages).ok());
  ASSERT_EQ(p.messages.size(), 2u);
  EXPECT_EQ(p.messages[1].timestamp, 0x01000040u);
  EXPECT_EQ(p.messages[1].payload, b);
}

TEST(ChunkReaderHostile, HugeMessageLength) {
  ChunkBuilder cb;
  cb.fmt0(6, 0, 0xFFFFFF, msg::video, 1).data(pattern(128));
  ChunkReaderLimits l;
  l.max_message_size = 1 << 20;
  Parsed p = parse_all(cb.bytes, l);
  EXPECT_FALSE(p.status.ok());
  // Within the bound, memory follows the bytes that arrived, not the declared length.
  ChunkReader r;
  std::vector<Message> out;
  ChunkBuilder ok;
  ok.fmt0(6, 0, 8u << 20, msg::video, 1).data(pattern(10));
  ASSERT_TRUE(r.feed(ok.bytes.data(), ok.bytes.size(), out).ok());
  EXPECT_EQ(r.buffered_bytes(), 10u);
}

TEST(ChunkReaderHostile, FailedReaderStaysFailed) {
  ChunkBuilder cb;
  cb.fmt3(6);
  ChunkReader r;
  std::vector<Message> out;
  EXPECT_FALSE(r.feed(cb.bytes.data(), cb.bytes.size(), out).ok());
  Bytes good = encode_message(3, 20, 0, 0, nullptr, 0, 128);
  EXPECT_FALSE(r.feed(good.data(), good.size(), out).ok());
  EXPECT_TRUE(r.failed());
}

TEST(ChunkReaderHostile, TooManyPartialStreams) {
  ChunkBuilder cb;
  // Each sends one full 128-byte chunk of a 1000-byte message and moves on.
  for (uint32_t id = 3; id < 3 + 65; id++) cb.fmt0(id, 0, 1000, msg::video, 1).data(pattern(128));
  Parsed p = parse_all(cb.bytes);
  ASSERT_FALSE(p.status.ok());
  EXPECT_NE(p.status.error().message.find("partial"), std::string::npos) << p.status.error().message;
}

TEST(ChunkReaderHostile, TooManyChunkStreams) {
  ChunkBuilder cb;
  for (uint32_t id = 3; id < 3 + 300; id++) cb.fmt0(id, 0, 1, msg::audio, 1).data({1});
  Parsed p = parse_all(cb.bytes);
  EXPECT_FALSE(p.status.ok());
  EXPECT_EQ(p.messages.size(), 256u);
}

TEST(ChunkReaderHostile, BufferedBytesBound) {
  ChunkReaderLimits l;
  l.max_buffered_bytes = 1000;
  ChunkBuilder cb;
  cb.raw(test::control_message(msg::set_chunk_size, 600));
  cb.fmt0(4, 0, 5000, msg::video, 1).data(pattern(600));
  cb.fmt0(5, 0, 5000, msg::video, 1).data(pattern(600));
  EXPECT_FALSE(parse_all(cb.bytes, l).status.ok());
}

TEST(ChunkReaderHostile, BadChunkSizes) {
  for (uint32_t v : {0u, 0x80000000u, 0xFFFFFFFFu, 65537u, 0x7FFFFFFFu}) {
    Parsed p = parse_all(test::control_message(msg::set_chunk_size, v));
    EXPECT_FALSE(p.status.ok()) << v;
  }
  ChunkReaderLimits l;
  l.max_chunk_size = 0x7FFFFFFF;
  EXPECT_TRUE(parse_all(test::control_message(msg::set_chunk_size, 0x7FFFFFFF), l).status.ok());
  EXPECT_TRUE(parse_all(test::control_message(msg::set_chunk_size, 65536)).status.ok());
  EXPECT_TRUE(parse_all(test::control_message(msg::set_chunk_size, 1)).status.ok());
  // Short payload.
  ChunkBuilder cb;
  cb.fmt0(2, 0, 2, msg::set_chunk_size, 0).data({0, 1});
  EXPECT_FALSE(parse_all(cb.bytes).status.ok());
}

TEST(ChunkReaderHostile, RandomBytesNeverCrash) {
  std::mt19937 rng(20240601);
  int errors = 0;
  for (int i = 0; i < 4000; i++) {
    Bytes b(1 + rng() % 600);
    for (auto& x : b) x = uint8_t(rng());
    ChunkReaderLimits l;
    l.max_message_size = 1 << 16;
    ChunkReader r(l);
    std::vector<Message> out;
    size_t pos = 0;
    while (pos < b.size()) {
      size_t n = std::min<size_t>(b.size() - pos, 1 + rng() % 64);
      if (!r.feed(b.data() + pos, n, out).ok()) {
        errors++;
        break;
      }
      pos += n;
    }
    EXPECT_LE(r.buffered_bytes(), b.size());
  }
  EXPECT_GT(errors, 0);
}

TEST(ChunkReaderHostile, MutatedValidStreamsNeverCrash) {
  Bytes base;
  for (int i = 0; i < 5; i++) {
    Bytes p = pattern(400 + i * 50, uint8_t(i));
    Bytes m = encode_message(4 + i % 2, msg::video, 1000u * i, 1, p.data(), p.size(), 128);
    base.insert(base.end(), m.begin(), m.end());
  }
  std::mt19937 rng(99);
  for (int i = 0; i < 3000; i++) {
    Bytes b = base;
    int flips = 1 + rng() % 6;
    for (int f = 0; f < flips; f++) b[rng() % b.size()] = uint8_t(rng());
    ChunkReader r;
    std::vector<Message> out;
    (void)r.feed(b.data(), b.size(), out);
  }
}

}  // namespace
}  // namespace estuary::rtmp
