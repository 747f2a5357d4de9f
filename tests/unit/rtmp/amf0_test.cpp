// Owns: AMF0 encoder/decoder tests: round trips of every supported type, wire-format checks, and
// hostile input (truncation, lying lengths, nesting bombs, unknown markers, random bytes).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "common/amf0.h"
#include "rtmp_test_util.h"

namespace estuary::rtmp {
namespace {

using test::Bytes;

Amf0Value round_trip(const Amf0Value& v) {
  Bytes b;
  amf0_encode(v, b);
  Amf0Decoder dec(b.data(), b.size());
  Result<Amf0Value> out = dec.next();
  EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().message);
  EXPECT_TRUE(dec.at_end());
  return out.ok() ? *out : Amf0Value::undefined();
}

Status decode_error(const Bytes& b, Amf0Limits limits = {}) {
  auto r = amf0_decode_all(b.data(), b.size(), 1000, limits);
  if (r.ok()) return ok_status();
  return r.error();
}

TEST(Amf0, NumberRoundTrip) {
  for (double d : {0.0, 1.0, -1.5, 3.14159, 1e300, -1e-300, std::numeric_limits<double>::infinity()}) {
    EXPECT_EQ(round_trip(Amf0Value::number(d)), Amf0Value::number(d));
  }
  EXPECT_TRUE(std::isnan(round_trip(Amf0Value::number(std::nan(""))).as_number()));
}

TEST(Amf0, NumberWireFormat) {
  Bytes b;
  amf0_encode_number(1.0, b);
  EXPECT_EQ(b, (Bytes{0x00, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0}));
}

TEST(Amf0, BooleanNullUndefinedRoundTrip) {
  EXPECT_EQ(round_trip(Amf0Value::boolean(true)), Amf0Value::boolean(true));
  EXPECT_EQ(round_trip(Amf0Value::boolean(false)), Amf0Value::boolean(false));
  EXPECT_TRUE(round_trip(Amf0Value::null()).is_null());
  EXPECT_TRUE(round_trip(Amf0Value::undefined()).is_undefined());
}

TEST(Amf0, StringRoundTripAndWireFormat) {
  Bytes b;
  amf0_encode_string("connect", b);
  EXPECT_EQ(b, (Bytes{0x02, 0x00, 0x07, 'c', 'o', 'n', 'n', 'e', 'c', 't'}));
  EXPECT_EQ(round_trip(Amf0Value::string("")), Amf0Value::string(""));
  EXPECT_EQ(round_trip(Amf0Value::string("héllo")), Amf0Value::string("héllo"));
  std::string max_short(0xFFFF, 'x');
  Bytes s;
  amf0_encode_string(max_short, s);
  EXPECT_EQ(s[0], 0x02);
  EXPECT_EQ(round_trip(Amf0Value::string(max_short)).as_string(), max_short);
}

TEST(Amf0, LongStringRoundTrip) {
  std::string big(70000, 'y');
  big[12345] = 'z';
  Bytes b;
  amf0_encode(Amf0Value::string(big), b);
  ASSERT_EQ(b[0], 0x0C);
  EXPECT_EQ(b.size(), 1 + 4 + big.size());
  EXPECT_EQ(round_trip(Amf0Value::string(big)).as_string(), big);
}

TEST(Amf0, DateRoundTrip) {
  Amf0Value d = Amf0Value::date(1700000000123.0, -60);
  Amf0Value out = round_trip(d);
  EXPECT_EQ(out.type(), Amf0Type::date);
  EXPECT_EQ(out.as_number(), 1700000000123.0);
  EXPECT_EQ(out.date_timezone(), -60);
}

TEST(Amf0, NestedObjectRoundTrip) {
  Amf0Value inner = Amf0Value::object();
  inner.set("level", Amf0Value::string("status"));
  inner.set("n", Amf0Value::number(42));
  Amf0Value arr = Amf0Value::strict_array();
  arr.push(Amf0Value::number(1));
  arr.push(Amf0Value::string("two"));
  arr.push(Amf0Value::null());
  Amf0Value obj = Amf0Value::object();
  obj.set("app", Amf0Value::string("live"));
  obj.set("inner", inner);
  obj.set("arr", arr);
  obj.set("flag", Amf0Value::boolean(true));
  obj.set("when", Amf0Value::date(5, 0));
  obj.set("nothing", Amf0Value::undefined());
  Amf0Value out = round_trip(obj);
  EXPECT_EQ(out, obj);
  ASSERT_NE(out.get("inner"), nullptr);
  EXPECT_EQ(out.get("inner")->get_string("level"), "status");
  EXPECT_EQ(out.get("inner")->get_number("n"), 42);
  EXPECT_EQ(out.get("arr")->elements().size(), 3u);
  EXPECT_EQ(out.get_string("missing", "fallback"), "fallback");
  // Keys keep their order.
  EXPECT_EQ(out.properties()[0].key, "app");
  EXPECT_EQ(out.properties()[5].key, "nothing");
}

TEST(Amf0, EcmaArrayRoundTrip) {
  Amf0Value meta = Amf0Value::ecma_array();
  meta.set("width", Amf0Value::number(1920));
  meta.set("height", Amf0Value::number(1080));
  meta.set("encoder", Amf0Value::string("Lavf"));
  Bytes b;
  amf0_encode(meta, b);
  EXPECT_EQ(b[0], 0x08);
  EXPECT_EQ(b[4], 3);  // declared count
  EXPECT_EQ(round_trip(meta), meta);
}

TEST(Amf0, EcmaArrayCountIsOnlyAHint) {
  // Count 0 but two properties, as some encoders write it.
  Bytes b = {0x08, 0, 0, 0, 0, 0, 1, 'a', 0x05, 0, 1, 'b', 0x01, 1, 0, 0, 0x09};
  auto r = amf0_decode_all(b.data(), b.size(), 4);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].properties().size(), 2u);
  EXPECT_TRUE((*r)[0].get("b")->as_boolean());
}

TEST(Amf0, EmptyContainers) {
  EXPECT_EQ(round_trip(Amf0Value::object()), Amf0Value::object());
  EXPECT_EQ(round_trip(Amf0Value::ecma_array()), Amf0Value::ecma_array());
  EXPECT_EQ(round_trip(Amf0Value::strict_array()), Amf0Value::strict_array());
}

TEST(Amf0, SetReplacesExistingKey) {
  Amf0Value o = Amf0Value::object();
  o.set("k", Amf0Value::number(1));
  o.set("k", Amf0Value::number(2));
  EXPECT_EQ(o.properties().size(), 1u);
  EXPECT_EQ(o.get_number("k"), 2);
}

TEST(Amf0, DecodeAllCommand) {
  Amf0Value cmd = Amf0Value::object();
  cmd.set("app", Amf0Value::string("live"));
  Bytes b = amf0_encode_all({Amf0Value::string("connect"), Amf0Value::number(1), cmd});
  auto r = amf0_decode_all(b.data(), b.size(), 8);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].as_string(), "connect");
  EXPECT_EQ((*r)[2].get_string("app"), "live");
  EXPECT_FALSE(amf0_decode_all(b.data(), b.size(), 2).ok());  // more values than allowed
}

TEST(Amf0, EveryTruncationIsAnError) {
  Amf0Value obj = Amf0Value::object();
  obj.set("s", Amf0Value::string("abc"));
  obj.set("n", Amf0Value::number(2));
  Amf0Value arr = Amf0Value::strict_array();
  arr.push(Amf0Value::boolean(true));
  arr.push(Amf0Value::date(1, 2));
  obj.set("a", arr);
  Amf0Value e = Amf0Value::ecma_array();
  e.set("x", Amf0Value::string(std::string(300, 'q')));
  obj.set("e", e);
  Bytes b;
  amf0_encode(obj, b);
  for (size_t n = 1; n < b.size(); n++) {
    Bytes prefix(b.begin(), b.begin() + n);
    EXPECT_FALSE(decode_error(prefix).ok()) << "prefix " << n;
  }
  EXPECT_TRUE(decode_error(b).ok());
}

TEST(Amf0, HugeDeclaredStringLength) {
  Bytes short_lie = {0x02, 0xFF, 0xFF, 'a', 'b', 'c'};
  EXPECT_FALSE(decode_error(short_lie).ok());
  Bytes long_lie = {0x0C, 0xFF, 0xFF, 0xFF, 0xFF, 'a'};
  EXPECT_FALSE(decode_error(long_lie).ok());
  Bytes key_lie = {0x03, 0xFF, 0xF0, 'k'};
  EXPECT_FALSE(decode_error(key_lie).ok());
  Amf0Limits small;
  small.max_string_length = 2;
  Bytes ok3 = {0x02, 0x00, 0x03, 'a', 'b', 'c'};
  EXPECT_FALSE(decode_error(ok3, small).ok());
}

TEST(Amf0, StrictArrayCountLie) {
  Bytes b = {0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x05};
  EXPECT_FALSE(decode_error(b).ok());
}

TEST(Amf0, NestingBomb) {
  Bytes objects;
  for (int i = 0; i < 100000; i++) {
    objects.push_back(0x03);
    objects.push_back(0x00);
    objects.push_back(0x01);
    objects.push_back('k');
  }
  Status s = decode_error(objects);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("deep"), std::string::npos);

  Bytes arrays;
  for (int i = 0; i < 100000; i++) {
    arrays.insert(arrays.end(), {0x0A, 0, 0, 0, 1});
  }
  EXPECT_FALSE(decode_error(arrays).ok());

  // Exactly at the limit still works.
  Amf0Value v = Amf0Value::null();
  for (int i = 0; i < 31; i++) {
    Amf0Value o = Amf0Value::object();
    o.set("k", v);
    v = o;
  }
  Bytes ok;
  amf0_encode(v, ok);
  EXPECT_TRUE(decode_error(ok).ok());
  Amf0Value deeper = Amf0Value::object();
  deeper.set("k", v);
  Bytes too_deep;
  amf0_encode(deeper, too_deep);
  EXPECT_FALSE(decode_error(too_deep).ok());
}

TEST(Amf0, ElementCountBound) {
  Bytes b = {0x0A, 0, 0, 0, 100};
  b.insert(b.end(), 100, 0x05);
  Amf0Limits l;
  l.max_elements = 50;
  EXPECT_FALSE(decode_error(b, l).ok());
  EXPECT_TRUE(decode_error(b).ok());
}

TEST(Amf0, RejectedMarkers) {
  for (uint8_t m : {0x04, 0x07, 0x09, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x12, 0x20, 0xFF}) {
    Bytes b = {m, 0, 0, 0, 0, 0, 0, 0, 0};
    EXPECT_FALSE(decode_error(b).ok()) << "marker " << int(m);
  }
  // Reference inside an object.
  Bytes ref = {0x03, 0, 1, 'r', 0x07, 0, 0, 0, 0, 0x09};
  EXPECT_FALSE(decode_error(ref).ok());
  // Empty key without the end marker.
  Bytes bad_end = {0x03, 0, 0, 0x05};
  EXPECT_FALSE(decode_error(bad_end).ok());
}

TEST(Amf0, RandomInputNeverCrashes) {
  std::mt19937 rng(12345);
  const uint8_t interesting[] = {0x00, 0x01, 0x02, 0x03, 0x05, 0x06, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0xFF};
  size_t decoded = 0;
  for (int i = 0; i < 5000; i++) {
    Bytes b(rng() % 200);
    for (auto& x : b) x = rng() % 3 == 0 ? interesting[rng() % sizeof(interesting)] : uint8_t(rng());
    auto r = amf0_decode_all(b.data(), b.size(), 64);
    if (r.ok()) decoded++;
  }
  SUCCEED() << decoded << " random buffers decoded";
}

TEST(Amf0, MutatedValidInputNeverCrashes) {
  Amf0Value obj = Amf0Value::object();
  obj.set("app", Amf0Value::string("live"));
  obj.set("n", Amf0Value::number(3));
  Amf0Value e = Amf0Value::ecma_array();
  e.set("x", Amf0Value::strict_array());
  obj.set("e", e);
  Bytes base = amf0_encode_all({Amf0Value::string("connect"), Amf0Value::number(1), obj});
  std::mt19937 rng(777);
  for (int i = 0; i < 5000; i++) {
    Bytes b = base;
    int flips = 1 + rng() % 4;
    for (int f = 0; f < flips; f++) b[rng() % b.size()] = uint8_t(rng());
    (void)amf0_decode_all(b.data(), b.size(), 64);
  }
}

}  // namespace
}  // namespace estuary::rtmp
