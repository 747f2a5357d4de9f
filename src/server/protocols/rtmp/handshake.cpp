// Owns: the RTMP server handshake state machine and the digest (GHmac SHA-256) helpers.
#include "server/protocols/rtmp/handshake.h"

#include <glib.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace estuary::rtmp {

namespace handshake {

namespace {

// The 32 bytes both well-known keys share after their text part.
constexpr uint8_t kKeyTail[32] = {0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0,
                                  0xD1, 0x02, 0x9E, 0x7E, 0x57, 0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80,
                                  0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE};

template <size_t N>
std::array<uint8_t, N> make_key(const char* text) {
  std::array<uint8_t, N> key{};
  size_t text_len = std::strlen(text);
  std::memcpy(key.data(), text, text_len);
  std::memcpy(key.data() + text_len, kKeyTail, sizeof(kKeyTail));
  return key;
}

const std::array<uint8_t, kFpKeyFullSize> kFpKey = make_key<kFpKeyFullSize>("Genuine Adobe Flash Player 001");
const std::array<uint8_t, kFmsKeyFullSize> kFmsKey = make_key<kFmsKeyFullSize>("Genuine Adobe Flash Media Server 001");

constexpr size_t kDigestBlockModulo = 728;  // 764-byte block - 4 offset bytes - 32 digest bytes

}  // namespace

const uint8_t* genuine_fp_key() { return kFpKey.data(); }
const uint8_t* genuine_fms_key() { return kFmsKey.data(); }

Digest hmac_sha256(const uint8_t* key, size_t key_size, const uint8_t* data, size_t size) {
  Digest out{};
  GHmac* hmac = g_hmac_new(G_CHECKSUM_SHA256, key, key_size);
  g_hmac_update(hmac, data, static_cast<gssize>(size));
  gsize len = out.size();
  g_hmac_get_digest(hmac, out.data(), &len);
  g_hmac_unref(hmac);
  return out;
}

size_t digest_position(const uint8_t* packet, int schema) {
  size_t block = schema == 0 ? 8 + 764 : 8;
  size_t sum = size_t(packet[block]) + packet[block + 1] + packet[block + 2] + packet[block + 3];
  return block + 4 + sum % kDigestBlockModulo;
}

Digest packet_digest(const uint8_t* packet, size_t digest_pos, const uint8_t* key, size_t key_size) {
  Digest out{};
  GHmac* hmac = g_hmac_new(G_CHECKSUM_SHA256, key, key_size);
  g_hmac_update(hmac, packet, static_cast<gssize>(digest_pos));
  size_t after = digest_pos + kDigestSize;
  g_hmac_update(hmac, packet + after, static_cast<gssize>(kHandshakePacketSize - after));
  gsize len = out.size();
  g_hmac_get_digest(hmac, out.data(), &len);
  g_hmac_unref(hmac);
  return out;
}

int find_digest(const uint8_t* packet, const uint8_t* key, size_t key_size, size_t* digest_pos) {
  for (int schema = 0; schema <= 1; schema++) {
    size_t pos = digest_position(packet, schema);
    Digest d = packet_digest(packet, pos, key, key_size);
    if (std::memcmp(d.data(), packet + pos, kDigestSize) == 0) {
      if (digest_pos != nullptr) *digest_pos = pos;
      return schema;
    }
  }
  return -1;
}

}  // namespace handshake

ServerHandshake::ServerHandshake() : rng_(std::random_device{}()) {}

void ServerHandshake::fill_random(uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = static_cast<uint8_t>(rng_() & 0xFF);
}

Result<size_t> ServerHandshake::feed(const uint8_t* data, size_t size) {
  switch (state_) {
    case State::failed:
      return Error{"rtmp handshake: already failed", ErrorReason::invalid, "rtmp"};
    case State::done:
      return size_t{0};
    case State::wait_c0c1: {
      size_t want = 1 + kHandshakePacketSize - in_.size();
      size_t n = std::min(want, size);
      in_.insert(in_.end(), data, data + n);
      if (!in_.empty() && in_[0] != kRtmpVersion) {
        state_ = State::failed;
        if (in_[0] == 6)
          return Error{"rtmp handshake: RTMPE (version 6) is not supported", ErrorReason::invalid, "rtmp"};
        return Error{"rtmp handshake: unsupported version " + std::to_string(in_[0]), ErrorReason::invalid, "rtmp"};
      }
      if (in_.size() < 1 + kHandshakePacketSize) return n;
      if (Status st = on_c0c1(); !st.ok()) {
        state_ = State::failed;
        return st.error();
      }
      state_ = State::wait_c2;
      in_ = std::vector<uint8_t>();
      Result<size_t> more = feed(data + n, size - n);
      if (!more.ok()) return more.error();
      return n + *more;
    }
    case State::wait_c2: {
      // C2 is not checked: many clients send an arbitrary echo.
      size_t n = std::min(c2_left_, size);
      c2_left_ -= n;
      if (c2_left_ == 0) state_ = State::done;
      return n;
    }
  }
  return size_t{0};
}

Status ServerHandshake::on_c0c1() {
  const uint8_t* c1 = in_.data() + 1;
  size_t client_pos = 0;
  int schema = handshake::find_digest(c1, handshake::genuine_fp_key(), handshake::kFpKeyShortSize, &client_pos);

  out_.reserve(1 + 2 * kHandshakePacketSize);
  out_.push_back(kRtmpVersion);
  size_t s1_at = out_.size();
  out_.resize(s1_at + 2 * kHandshakePacketSize);
  uint8_t* s1 = out_.data() + s1_at;
  uint8_t* s2 = s1 + kHandshakePacketSize;
  fill_random(s1, kHandshakePacketSize);
  std::memset(s1, 0, 4);  // time

  if (schema < 0) {
    // Simple handshake: zero version tells digest-checking clients (FFmpeg) not to look for one.
    std::memset(s1 + 4, 0, 4);
    std::memcpy(s2, c1, kHandshakePacketSize);
    kind_ = HandshakeKind::simple;
    schema_ = -1;
    return ok_status();
  }

  kind_ = HandshakeKind::complex;
  schema_ = schema;
  const uint8_t server_version[4] = {0x04, 0x05, 0x00, 0x01};
  std::memcpy(s1 + 4, server_version, 4);
  size_t server_pos = handshake::digest_position(s1, schema);
  handshake::Digest s1_digest =
      handshake::packet_digest(s1, server_pos, handshake::genuine_fms_key(), handshake::kFmsKeyShortSize);
  std::memcpy(s1 + server_pos, s1_digest.data(), handshake::kDigestSize);

  fill_random(s2, kHandshakePacketSize);
  handshake::Digest key = handshake::hmac_sha256(handshake::genuine_fms_key(), handshake::kFmsKeyFullSize,
                                                 c1 + client_pos, handshake::kDigestSize);
  size_t sig_at = kHandshakePacketSize - handshake::kDigestSize;
  handshake::Digest sig = handshake::hmac_sha256(key.data(), key.size(), s2, sig_at);
  std::memcpy(s2 + sig_at, sig.data(), handshake::kDigestSize);
  return ok_status();
}

std::vector<uint8_t> ServerHandshake::take_output() {
  std::vector<uint8_t> out;
  out.swap(out_);
  return out;
}

}  // namespace estuary::rtmp
