// Owns: a minimal ISO-BMFF reader for the CMAF tests: finds boxes by path and reads the fields
// of tfdt and trun, so tests check what the writer produced byte by byte.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace estuary::test {

struct BoxRef {
  std::string type;
  size_t offset = 0;  // of the box header
  size_t size = 0;
  size_t body = 0;  // first byte after the header
};

inline uint32_t be32(const std::vector<uint8_t>& b, size_t o) {
  return (uint32_t(b[o]) << 24) | (uint32_t(b[o + 1]) << 16) | (uint32_t(b[o + 2]) << 8) | b[o + 3];
}
inline uint64_t be64(const std::vector<uint8_t>& b, size_t o) { return (uint64_t(be32(b, o)) << 32) | be32(b, o + 4); }

// Children of the region [begin, end).
inline std::vector<BoxRef> children(const std::vector<uint8_t>& b, size_t begin, size_t end) {
  std::vector<BoxRef> out;
  size_t o = begin;
  while (o + 8 <= end) {
    BoxRef r;
    r.offset = o;
    r.size = be32(b, o);
    r.type.assign(reinterpret_cast<const char*>(&b[o + 4]), 4);
    r.body = o + 8;
    if (r.size < 8 || o + r.size > end) break;
    out.push_back(r);
    o += r.size;
  }
  return out;
}

inline std::vector<BoxRef> find_all(const std::vector<uint8_t>& b, const BoxRef& parent, const std::string& type) {
  std::vector<BoxRef> out;
  for (const auto& c : children(b, parent.body, parent.offset + parent.size))
    if (c.type == type) out.push_back(c);
  return out;
}

inline std::vector<BoxRef> top(const std::vector<uint8_t>& b) { return children(b, 0, b.size()); }

struct TrunSample {
  uint32_t duration, size, flags;
  int32_t cto;
};
struct Traf {
  uint32_t track_id;
  uint64_t tfdt;
  int32_t data_offset;
  std::vector<TrunSample> samples;
};

// The trafs of a moof at `moof` (tfhd track id, tfdt v1, trun with the fields the writer sets).
inline std::vector<Traf> read_trafs(const std::vector<uint8_t>& b, const BoxRef& moof) {
  std::vector<Traf> out;
  for (const auto& traf : find_all(b, moof, "traf")) {
    Traf t{};
    t.track_id = be32(b, find_all(b, traf, "tfhd").at(0).body + 4);
    const BoxRef tfdt = find_all(b, traf, "tfdt").at(0);
    t.tfdt = b[tfdt.body] == 1 ? be64(b, tfdt.body + 4) : be32(b, tfdt.body + 4);
    const BoxRef trun = find_all(b, traf, "trun").at(0);
    const uint32_t flags = be32(b, trun.body) & 0xffffff;
    const uint32_t count = be32(b, trun.body + 4);
    size_t o = trun.body + 8;
    if (flags & 1) {
      t.data_offset = int32_t(be32(b, o));
      o += 4;
    }
    for (uint32_t i = 0; i < count; ++i) {
      TrunSample s{};
      if (flags & 0x100) s.duration = be32(b, o), o += 4;
      if (flags & 0x200) s.size = be32(b, o), o += 4;
      if (flags & 0x400) s.flags = be32(b, o), o += 4;
      if (flags & 0x800) s.cto = int32_t(be32(b, o)), o += 4;
      t.samples.push_back(s);
    }
    out.push_back(t);
  }
  return out;
}

}  // namespace estuary::test
