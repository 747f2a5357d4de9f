// Owns: the server side of the RTMP handshake (C0/C1 -> S0/S1/S2, then C2). Supports the simple
// handshake and the complex (HMAC-SHA256 digest) handshake that Flash players and some encoders
// require; a C1 without a valid client digest falls back to the simple form. I/O-free: bytes in,
// bytes out. The digest helpers are public so tests (or a client side) can build valid packets.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "common/result.h"

namespace estuary::rtmp {

inline constexpr size_t kHandshakePacketSize = 1536;
inline constexpr uint8_t kRtmpVersion = 3;

namespace handshake {

inline constexpr size_t kDigestSize = 32;
inline constexpr size_t kFpKeyFullSize = 62;    // "Genuine Adobe Flash Player 001" + 32 bytes
inline constexpr size_t kFpKeyShortSize = 30;   // what a client digest in C1 is keyed with
inline constexpr size_t kFmsKeyFullSize = 68;   // "Genuine Adobe Flash Media Server 001" + 32 bytes
inline constexpr size_t kFmsKeyShortSize = 36;  // what the server digest in S1 is keyed with

const uint8_t* genuine_fp_key();   // kFpKeyFullSize bytes
const uint8_t* genuine_fms_key();  // kFmsKeyFullSize bytes

using Digest = std::array<uint8_t, kDigestSize>;

Digest hmac_sha256(const uint8_t* key, size_t key_size, const uint8_t* data, size_t size);
// Where the 32-byte digest sits in a 1536-byte C1/S1 under schema 0 (key block first, digest block
// at 772) or schema 1 (digest block at 8).
size_t digest_position(const uint8_t* packet, int schema);
// HMAC of the packet with the digest bytes at digest_pos left out.
Digest packet_digest(const uint8_t* packet, size_t digest_pos, const uint8_t* key, size_t key_size);
// Finds a valid digest in packet keyed with key (schema 0 tried first). Returns the schema, or -1.
int find_digest(const uint8_t* packet, const uint8_t* key, size_t key_size, size_t* digest_pos);

}  // namespace handshake

enum class HandshakeKind : uint8_t { simple, complex };

class ServerHandshake {
 public:
  ServerHandshake();

  // Consumes handshake bytes from data and returns how many it took; bytes after C2 are not
  // consumed (they begin the chunk stream). Error: bad C0 version (only 3 is spoken; 6, RTMPE,
  // is not supported) or input after failure.
  Result<size_t> feed(const uint8_t* data, size_t size);
  // S0+S1+S2 once C0+C1 arrived; empty otherwise.
  std::vector<uint8_t> take_output();

  bool done() const { return state_ == State::done; }
  HandshakeKind kind() const { return kind_; }
  int schema() const { return schema_; }  // 0 or 1 for the complex handshake, -1 for simple

 private:
  enum class State : uint8_t { wait_c0c1, wait_c2, done, failed };

  Status on_c0c1();
  void fill_random(uint8_t* p, size_t n);

  State state_ = State::wait_c0c1;
  HandshakeKind kind_ = HandshakeKind::simple;
  int schema_ = -1;
  std::vector<uint8_t> in_;
  size_t c2_left_ = kHandshakePacketSize;
  std::vector<uint8_t> out_;
  std::mt19937 rng_;
};

}  // namespace estuary::rtmp
