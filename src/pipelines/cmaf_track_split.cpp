// Owns: one track out of muxed CMAF fragments (see cmaf_track_split.h).
#include "pipelines/cmaf_track_split.h"

#include <cstring>

#include "pipelines/cmaf_box.h"

namespace estuary::pipelines::cmaf {
namespace {

struct Box {
  size_t offset = 0;  // of the header
  size_t size = 0;    // whole box, header included
  size_t header = 8;
  char type[5] = {};
};

// The box at data[at..end); false if it does not fit (64-bit sizes are accepted, size 0 is not).
bool read_box(const uint8_t* data, size_t at, size_t end, Box* box) {
  if (end < at || end - at < 8) return false;
  uint64_t size = read_u32(data + at);
  box->header = 8;
  if (size == 1) {
    if (end - at < 16) return false;
    size = (uint64_t(read_u32(data + at + 8)) << 32) | read_u32(data + at + 12);
    box->header = 16;
  }
  if (size < box->header || size > end - at) return false;
  box->offset = at;
  box->size = size_t(size);
  std::memcpy(box->type, data + at + 4, 4);
  return true;
}

void put_u32(std::vector<uint8_t>& v, size_t at, uint32_t x) {
  v[at] = uint8_t(x >> 24);
  v[at + 1] = uint8_t(x >> 16);
  v[at + 2] = uint8_t(x >> 8);
  v[at + 3] = uint8_t(x);
}

void append_u32(std::vector<uint8_t>& v, uint32_t x) {
  v.resize(v.size() + 4);
  put_u32(v, v.size() - 4, x);
}

// Where one traf's samples lie in the fragment (offsets from the moof's first byte).
struct TrafSamples {
  size_t data_offset = 0;
  size_t data_size = 0;
  size_t trun_offset_field = 0;  // of trun's data_offset, from the traf's first byte
};

// Reads the traf at data[box]: its track id and the byte range of its samples (one trun).
bool read_traf(const uint8_t* data, const Box& traf, uint32_t* track_id, TrafSamples* samples, std::string* error) {
  bool have_tfhd = false, have_trun = false;
  for (size_t at = traf.offset + traf.header; at < traf.offset + traf.size;) {
    Box b;
    if (!read_box(data, at, traf.offset + traf.size, &b)) {
      *error = "traf child box overruns the traf";
      return false;
    }
    const uint8_t* p = data + b.offset + b.header;
    const size_t body = b.size - b.header;
    if (std::memcmp(b.type, "tfhd", 4) == 0) {
      if (body < 8) {
        *error = "tfhd too short";
        return false;
      }
      const uint32_t flags = read_u32(p) & 0xffffff;
      if (!(flags & 0x020000) || (flags & 0x000001)) {
        *error = "tfhd must use default-base-is-moof without a base data offset";
        return false;
      }
      *track_id = read_u32(p + 4);
      have_tfhd = true;
    } else if (std::memcmp(b.type, "trun", 4) == 0) {
      if (have_trun) {
        *error = "more than one trun in a traf";
        return false;
      }
      if (body < 12) {
        *error = "trun too short";
        return false;
      }
      const uint32_t flags = read_u32(p) & 0xffffff;
      if (!(flags & 0x000001) || !(flags & 0x000200) || (flags & 0x000004)) {
        *error = "trun needs a data offset and per-sample sizes";
        return false;
      }
      const uint32_t count = read_u32(p + 4);
      size_t per_sample = 0;
      for (uint32_t bit : {0x000100u, 0x000200u, 0x000400u, 0x000800u})
        if (flags & bit) per_sample += 4;
      if (count > (body - 12) / per_sample) {
        *error = "trun sample table overruns the box";
        return false;
      }
      samples->trun_offset_field = b.offset + b.header + 8 - traf.offset;
      samples->data_offset = read_u32(p + 8);
      size_t total = 0;
      const size_t size_at = (flags & 0x000100) ? 4 : 0;
      for (uint32_t i = 0; i < count; ++i) {
        total += read_u32(p + 12 + i * per_sample + size_at);
        if (total > (size_t(1) << 31)) {
          *error = "trun sample sizes too large";
          return false;
        }
      }
      samples->data_size = total;
      have_trun = true;
    }
    at = b.offset + b.size;
  }
  if (!have_tfhd || !have_trun) {
    *error = "traf without tfhd or trun";
    return false;
  }
  return true;
}

// The moof+mdat pair at data[at..size).
bool read_fragment(const uint8_t* data, size_t at, size_t size, Box* moof, Box* mdat, std::string* error) {
  if (!read_box(data, at, size, moof) || std::memcmp(moof->type, "moof", 4) != 0) {
    *error = "expected a moof box";
    return false;
  }
  if (!read_box(data, moof->offset + moof->size, size, mdat) || std::memcmp(mdat->type, "mdat", 4) != 0) {
    *error = "moof not followed by an mdat box";
    return false;
  }
  return true;
}

}  // namespace

bool extract_track(const uint8_t* data, size_t size, uint32_t track_id, std::vector<uint8_t>* out, std::string* error) {
  out->clear();
  for (size_t at = 0; at < size;) {
    Box moof, mdat;
    if (!read_fragment(data, at, size, &moof, &mdat, error)) return false;
    const Box* mfhd_box = nullptr;
    Box mfhd, chosen;
    TrafSamples chosen_samples;
    bool found = false;
    for (size_t c = moof.offset + moof.header; c < moof.offset + moof.size;) {
      Box b;
      if (!read_box(data, c, moof.offset + moof.size, &b)) {
        *error = "moof child box overruns the moof";
        return false;
      }
      if (std::memcmp(b.type, "mfhd", 4) == 0) {
        mfhd = b;
        mfhd_box = &mfhd;
      } else if (std::memcmp(b.type, "traf", 4) == 0) {
        uint32_t id = 0;
        TrafSamples s;
        if (!read_traf(data, b, &id, &s, error)) return false;
        if (id == track_id && !found) {
          chosen = b;
          chosen_samples = s;
          found = true;
        }
      }
      c = b.offset + b.size;
    }
    if (!mfhd_box) {
      *error = "moof without mfhd";
      return false;
    }
    if (found) {
      const size_t end = moof.size + mdat.size;  // the fragment, from the moof's first byte
      if (chosen_samples.data_offset > end || chosen_samples.data_size > end - chosen_samples.data_offset ||
          chosen_samples.data_offset < moof.size + mdat.header) {
        *error = "trun data lies outside the mdat";
        return false;
      }
      const size_t new_moof = 8 + mfhd.size + chosen.size;
      const size_t start = out->size();
      append_u32(*out, uint32_t(new_moof));
      out->insert(out->end(), {'m', 'o', 'o', 'f'});
      out->insert(out->end(), data + mfhd.offset, data + mfhd.offset + mfhd.size);
      const size_t traf_at = out->size();
      out->insert(out->end(), data + chosen.offset, data + chosen.offset + chosen.size);
      // Track 1 in the one-track init segment; samples right after the new mdat header.
      const size_t tfhd_id = traf_at + 8 + 12;  // traf header, tfhd header, version/flags
      if (chosen.size < 8 + 16 || std::memcmp(out->data() + traf_at + 12, "tfhd", 4) != 0) {
        out->resize(start);
        *error = "traf must start with its tfhd";
        return false;
      }
      put_u32(*out, tfhd_id, 1);
      put_u32(*out, traf_at + chosen_samples.trun_offset_field, uint32_t(new_moof + 8));
      append_u32(*out, uint32_t(8 + chosen_samples.data_size));
      out->insert(out->end(), {'m', 'd', 'a', 't'});
      const uint8_t* samples = data + moof.offset + chosen_samples.data_offset;
      out->insert(out->end(), samples, samples + chosen_samples.data_size);
    }
    at = mdat.offset + mdat.size;
  }
  return true;
}

bool track_bytes(const uint8_t* data, size_t size, std::vector<uint64_t>* bytes, std::string* error) {
  for (size_t at = 0; at < size;) {
    Box moof, mdat;
    if (!read_fragment(data, at, size, &moof, &mdat, error)) return false;
    size_t mfhd_size = 0;
    for (size_t c = moof.offset + moof.header; c < moof.offset + moof.size;) {
      Box b;
      if (!read_box(data, c, moof.offset + moof.size, &b)) {
        *error = "moof child box overruns the moof";
        return false;
      }
      if (std::memcmp(b.type, "mfhd", 4) == 0) mfhd_size = b.size;
      c = b.offset + b.size;
    }
    for (size_t c = moof.offset + moof.header; c < moof.offset + moof.size;) {
      Box b;
      read_box(data, c, moof.offset + moof.size, &b);  // read above
      uint32_t id = 0;
      TrafSamples s;
      if (std::memcmp(b.type, "traf", 4) == 0) {
        if (!read_traf(data, b, &id, &s, error)) return false;
        if (id >= 1 && id <= bytes->size()) (*bytes)[id - 1] += 8 + mfhd_size + b.size + 8 + s.data_size;
      }
      c = b.offset + b.size;
    }
    at = mdat.offset + mdat.size;
  }
  return true;
}

}  // namespace estuary::pipelines::cmaf
