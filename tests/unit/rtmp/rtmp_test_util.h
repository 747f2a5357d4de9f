// Owns: helpers shared by the RTMP unit tests: a hand-rolled chunk builder for header forms the
// library's writer never produces (types 1-3, omitted extended timestamps), and byte helpers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/amf0.h"
#include "server/protocols/rtmp/chunk.h"

namespace estuary::rtmp::test {

using Bytes = std::vector<uint8_t>;

inline void put_u24(Bytes& b, uint32_t v) {
  b.push_back(uint8_t(v >> 16));
  b.push_back(uint8_t(v >> 8));
  b.push_back(uint8_t(v));
}

inline void put_u32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
}

inline void put_basic(Bytes& b, uint8_t fmt, uint32_t csid) {
  uint8_t top = uint8_t(fmt << 6);
  if (csid < 64) {
    b.push_back(uint8_t(top | csid));
  } else if (csid < 320) {
    b.push_back(top);
    b.push_back(uint8_t(csid - 64));
  } else {
    b.push_back(uint8_t(top | 1));
    b.push_back(uint8_t((csid - 64) & 0xFF));
    b.push_back(uint8_t((csid - 64) >> 8));
  }
}

// Writes chunk headers field by field; the caller appends the payload bytes.
struct ChunkBuilder {
  Bytes bytes;

  ChunkBuilder& fmt0(uint32_t csid, uint32_t ts, uint32_t length, uint8_t type, uint32_t stream_id) {
    put_basic(bytes, 0, csid);
    put_u24(bytes, ts >= 0xFFFFFF ? 0xFFFFFF : ts);
    put_u24(bytes, length);
    bytes.push_back(type);
    for (int s = 0; s < 32; s += 8) bytes.push_back(uint8_t(stream_id >> s));
    if (ts >= 0xFFFFFF) put_u32(bytes, ts);
    return *this;
  }
  ChunkBuilder& fmt1(uint32_t csid, uint32_t delta, uint32_t length, uint8_t type) {
    put_basic(bytes, 1, csid);
    put_u24(bytes, delta >= 0xFFFFFF ? 0xFFFFFF : delta);
    put_u24(bytes, length);
    bytes.push_back(type);
    if (delta >= 0xFFFFFF) put_u32(bytes, delta);
    return *this;
  }
  ChunkBuilder& fmt2(uint32_t csid, uint32_t delta) {
    put_basic(bytes, 2, csid);
    put_u24(bytes, delta >= 0xFFFFFF ? 0xFFFFFF : delta);
    if (delta >= 0xFFFFFF) put_u32(bytes, delta);
    return *this;
  }
  // ext: the extended timestamp to repeat, or -1 for none.
  ChunkBuilder& fmt3(uint32_t csid, int64_t ext = -1) {
    put_basic(bytes, 3, csid);
    if (ext >= 0) put_u32(bytes, uint32_t(ext));
    return *this;
  }
  ChunkBuilder& data(const Bytes& d, size_t from = 0, size_t n = SIZE_MAX) {
    if (n == SIZE_MAX || from + n > d.size()) n = d.size() - from;
    bytes.insert(bytes.end(), d.begin() + from, d.begin() + from + n);
    return *this;
  }
  ChunkBuilder& raw(const Bytes& d) { return data(d); }
};

inline Bytes pattern(size_t n, uint8_t seed = 1) {
  Bytes b(n);
  for (size_t i = 0; i < n; i++) b[i] = uint8_t(seed + i * 7 + (i >> 8));
  return b;
}

inline Bytes amf(const std::vector<Amf0Value>& values) { return amf0_encode_all(values); }

inline Bytes control_message(uint8_t type, uint32_t value, uint32_t chunk_size = 128) {
  Bytes p;
  put_u32(p, value);
  return encode_message(2, type, 0, 0, p.data(), p.size(), chunk_size);
}

}  // namespace estuary::rtmp::test
