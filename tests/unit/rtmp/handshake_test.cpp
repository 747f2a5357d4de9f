// Owns: server handshake tests: simple (S2 echoes C1), complex with a client digest in schema 0 and
// schema 1 (S1 digest and S2 signature verified the way a Flash player / FFmpeg would), split input,
// bytes after C2 left for the chunk stream, and bad versions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "rtmp_test_util.h"
#include "server/protocols/rtmp/handshake.h"

namespace estuary::rtmp {
namespace {

using test::Bytes;
namespace hs = handshake;

Bytes random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = uint8_t(rng());
  return b;
}

// A C1 carrying a valid client digest, as a Flash player builds it.
Bytes digest_c1(int schema, uint32_t seed) {
  Bytes c1 = random_bytes(kHandshakePacketSize, seed);
  const uint8_t version[4] = {0x80, 0x00, 0x07, 0x02};  // a Flash player version
  std::memcpy(c1.data() + 4, version, 4);
  size_t pos = hs::digest_position(c1.data(), schema);
  hs::Digest d = hs::packet_digest(c1.data(), pos, hs::genuine_fp_key(), hs::kFpKeyShortSize);
  std::memcpy(c1.data() + pos, d.data(), d.size());
  return c1;
}

Bytes with_c0(const Bytes& c1) {
  Bytes b(1 + c1.size());
  b[0] = 3;
  std::copy(c1.begin(), c1.end(), b.begin() + 1);
  return b;
}

TEST(Handshake, DigestPositions) {
  Bytes p(kHandshakePacketSize, 0);
  EXPECT_EQ(hs::digest_position(p.data(), 0), 776u);
  EXPECT_EQ(hs::digest_position(p.data(), 1), 12u);
  p[8] = p[9] = p[10] = p[11] = 0xFF;  // 1020 % 728 = 292
  EXPECT_EQ(hs::digest_position(p.data(), 1), 12u + 292u);
  p[772] = 200;
  EXPECT_EQ(hs::digest_position(p.data(), 0), 776u + 200u);
}

TEST(Handshake, KeysAreTheWellKnownOnes) {
  EXPECT_EQ(std::memcmp(hs::genuine_fp_key(), "Genuine Adobe Flash Player 001", 30), 0);
  EXPECT_EQ(std::memcmp(hs::genuine_fms_key(), "Genuine Adobe Flash Media Server 001", 36), 0);
  EXPECT_EQ(hs::genuine_fp_key()[30], 0xF0);
  EXPECT_EQ(hs::genuine_fms_key()[67], 0xAE);
}

TEST(Handshake, HmacSha256KnownVector) {
  // RFC 4231 test case 2.
  const char* key = "Jefe";
  const char* data = "what do ya want for nothing?";
  hs::Digest d = hs::hmac_sha256(reinterpret_cast<const uint8_t*>(key), 4, reinterpret_cast<const uint8_t*>(data),
                                 std::strlen(data));
  const uint8_t want[32] = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
                            0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
                            0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
  EXPECT_EQ(std::memcmp(d.data(), want, 32), 0);
}

TEST(Handshake, SimpleEchoesC1) {
  for (uint32_t seed : {0u, 1u}) {
    Bytes c1 = seed == 0 ? Bytes(kHandshakePacketSize, 0) : random_bytes(kHandshakePacketSize, 7);
    ServerHandshake h;
    Bytes in = with_c0(c1);
    Result<size_t> used = h.feed(in.data(), in.size());
    ASSERT_TRUE(used.ok());
    EXPECT_EQ(*used, in.size());
    EXPECT_EQ(h.kind(), HandshakeKind::simple);
    EXPECT_EQ(h.schema(), -1);
    Bytes out = h.take_output();
    ASSERT_EQ(out.size(), 1 + 2 * kHandshakePacketSize);
    EXPECT_EQ(out[0], 3);
    // S1 version zero: digest-checking clients skip the check.
    EXPECT_EQ(out[5] | out[6] | out[7] | out[8], 0);
    EXPECT_TRUE(std::equal(c1.begin(), c1.end(), out.begin() + 1 + kHandshakePacketSize));
    EXPECT_FALSE(h.done());
    Bytes c2 = random_bytes(kHandshakePacketSize, 3);
    ASSERT_TRUE(h.feed(c2.data(), c2.size()).ok());
    EXPECT_TRUE(h.done());
    EXPECT_TRUE(h.take_output().empty());
  }
}

void check_complex(int schema) {
  Bytes c1 = digest_c1(schema, 100 + schema);
  size_t client_pos = 0;
  ASSERT_EQ(hs::find_digest(c1.data(), hs::genuine_fp_key(), hs::kFpKeyShortSize, &client_pos), schema);
  ServerHandshake h;
  Bytes in = with_c0(c1);
  ASSERT_TRUE(h.feed(in.data(), in.size()).ok());
  EXPECT_EQ(h.kind(), HandshakeKind::complex);
  EXPECT_EQ(h.schema(), schema);
  Bytes out = h.take_output();
  ASSERT_EQ(out.size(), 1 + 2 * kHandshakePacketSize);
  const uint8_t* s1 = out.data() + 1;
  const uint8_t* s2 = s1 + kHandshakePacketSize;

  // S1: server digest keyed with the 36-byte FMS key, at the schema's position.
  EXPECT_NE(s1[4], 0);  // non-zero version announces the digest
  size_t server_pos = 0;
  EXPECT_EQ(hs::find_digest(s1, hs::genuine_fms_key(), hs::kFmsKeyShortSize, &server_pos), schema);
  EXPECT_EQ(server_pos, hs::digest_position(s1, schema));

  // S2: the last 32 bytes sign the rest with HMAC(full FMS key, client digest).
  hs::Digest key = hs::hmac_sha256(hs::genuine_fms_key(), hs::kFmsKeyFullSize, c1.data() + client_pos, 32);
  hs::Digest sig = hs::hmac_sha256(key.data(), key.size(), s2, kHandshakePacketSize - 32);
  EXPECT_EQ(std::memcmp(sig.data(), s2 + kHandshakePacketSize - 32, 32), 0);
  // And it is not just an echo of C1.
  EXPECT_NE(std::memcmp(s2, c1.data(), kHandshakePacketSize), 0);
}

TEST(Handshake, ComplexSchema0) { check_complex(0); }
TEST(Handshake, ComplexSchema1) { check_complex(1); }

TEST(Handshake, DigestWithWrongKeyFallsBackToSimple) {
  Bytes c1 = random_bytes(kHandshakePacketSize, 5);
  size_t pos = hs::digest_position(c1.data(), 1);
  hs::Digest d = hs::packet_digest(c1.data(), pos, hs::genuine_fms_key(), hs::kFmsKeyShortSize);
  std::memcpy(c1.data() + pos, d.data(), 32);
  ServerHandshake h;
  Bytes in = with_c0(c1);
  ASSERT_TRUE(h.feed(in.data(), in.size()).ok());
  EXPECT_EQ(h.kind(), HandshakeKind::simple);
  Bytes out = h.take_output();
  EXPECT_TRUE(std::equal(c1.begin(), c1.end(), out.begin() + 1 + kHandshakePacketSize));
}

TEST(Handshake, ByteByByteAndTrailingBytesLeftForChunks) {
  Bytes c1 = digest_c1(1, 9);
  Bytes all = with_c0(c1);
  Bytes c2 = random_bytes(kHandshakePacketSize, 4);
  all.insert(all.end(), c2.begin(), c2.end());
  all.insert(all.end(), {0x03, 0xAA, 0xBB});  // the first chunk bytes
  ServerHandshake h;
  size_t consumed = 0;
  Bytes out;
  for (size_t i = 0; i < all.size(); i++) {
    Result<size_t> used = h.feed(&all[i], 1);
    ASSERT_TRUE(used.ok());
    consumed += *used;
    Bytes o = h.take_output();
    out.insert(out.end(), o.begin(), o.end());
  }
  EXPECT_TRUE(h.done());
  EXPECT_EQ(consumed, all.size() - 3);
  EXPECT_EQ(out.size(), 1 + 2 * kHandshakePacketSize);
  EXPECT_EQ(h.kind(), HandshakeKind::complex);

  ServerHandshake bulk;
  Result<size_t> used = bulk.feed(all.data(), all.size());
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, all.size() - 3);
  EXPECT_TRUE(bulk.done());
}

TEST(Handshake, WrongVersionIsAnError) {
  for (uint8_t v : {0, 1, 2, 4, 6, 0x16, 0xFF}) {
    ServerHandshake h;
    Result<size_t> r = h.feed(&v, 1);
    EXPECT_FALSE(r.ok()) << int(v);
    if (v == 6) {
      EXPECT_NE(r.error().message.find("RTMPE"), std::string::npos);
    }
    uint8_t three = 3;
    EXPECT_FALSE(h.feed(&three, 1).ok());
  }
}

}  // namespace
}  // namespace estuary::rtmp
