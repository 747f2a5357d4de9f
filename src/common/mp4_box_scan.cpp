// Owns: Mp4BoxScan (see mp4_box_scan.h).
#include "common/mp4_box_scan.h"

#include <algorithm>

namespace estuary {
namespace {

constexpr uint32_t fourcc(const char (&s)[5]) {
  return uint32_t(uint8_t(s[0])) << 24 | uint32_t(uint8_t(s[1])) << 16 | uint32_t(uint8_t(s[2])) << 8 |
         uint32_t(uint8_t(s[3]));
}

uint64_t be(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = v << 8 | p[i];
  return v;
}

// Box types are four printable ASCII characters; anything else is not an MP4 box header.
bool printable(uint32_t type) {
  for (int s = 0; s < 32; s += 8) {
    const uint32_t c = (type >> s) & 0xff;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

std::string name_of(uint32_t type) {
  if (!printable(type)) return "box";
  return std::string{char(type >> 24), char(type >> 16), char(type >> 8), char(type)};
}

}  // namespace

Mp4BoxScan::Mp4BoxScan(uint64_t file_size, size_t max_boxes) : file_size_(file_size), max_boxes_(max_boxes) {
  if (file_size_ == 0) fail("empty file");
}

size_t Mp4BoxScan::want_bytes() const {
  return done() ? 0 : size_t(std::min<uint64_t>(kMp4BoxHeaderBytes, file_size_ - at_));
}

bool Mp4BoxScan::fail(const std::string& why) {
  state_ = State::failed;
  error_ = why;
  return false;
}

bool Mp4BoxScan::finish() {
  if (!seen_moov_) return fail("no moov");
  if (layout_.fragments == 0) return fail("no moof+mdat fragment");
  if (moof_open_) layout_.tail_dropped = true;  // a moof without its mdat: left out
  state_ = State::ok;
  return false;
}

bool Mp4BoxScan::feed(const uint8_t* p, size_t n) {
  if (done()) return false;
  const std::string where = " at " + std::to_string(at_);
  // A cut-short header or box after a complete fragment is the end of a file not closed: the
  // fragments before it play; before the first fragment it is an error.
  auto cut = [&](const std::string& what) {
    if (layout_.fragments > 0) {
      layout_.tail_dropped = true;
      moof_open_ = false;
      return finish();
    }
    return fail("truncated " + what + where);
  };
  if (n < 8 || n > kMp4BoxHeaderBytes) return cut("box header");
  uint64_t size = be(p, 4);
  const uint32_t type = uint32_t(be(p + 4, 4));
  if (!printable(type)) return fail("not an MP4 box header" + where);
  uint64_t header = 8;
  if (size == 1) {
    if (n < 16) return cut(name_of(type) + " largesize");
    size = be(p + 8, 8);
    header = 16;
  } else if (size == 0) {
    size = file_size_ - at_;  // to the end of the file
  }
  if (size < header) return fail(name_of(type) + " of " + std::to_string(size) + " bytes, under its header" + where);
  if (size > file_size_ - at_) return cut(name_of(type) + " (" + std::to_string(size) + " bytes)");
  if (++boxes_ > max_boxes_) return fail("over " + std::to_string(max_boxes_) + " top-level boxes");
  return take(type, size);
}

bool Mp4BoxScan::take(uint32_t type, uint64_t size) {
  const uint64_t begin = at_, end = at_ + size;
  const std::string where = " at " + std::to_string(begin);
  if (begin == 0 && type != fourcc("ftyp")) return fail("does not start with ftyp");
  if (type == fourcc("moov")) {
    if (seen_moov_) return fail("a second moov" + where);
    seen_moov_ = true;
    layout_.init_end = end;
  } else if (type == fourcc("moof")) {
    if (!seen_moov_) return fail("moof before moov" + where);
    if (moof_open_) return fail("moof without its mdat" + where);
    moof_open_ = true;
    moof_at_ = begin;
  } else if (type == fourcc("mdat")) {
    if (moof_open_) {
      if (layout_.fragments == 0) layout_.media_first = moof_at_;
      layout_.media_end = end;
      ++layout_.fragments;
      moof_open_ = false;
    }  // an mdat of no moof (a non-fragmented file's) is not a fragment
  } else if (type == fourcc("ftyp") && begin != 0) {
    return fail("a second ftyp" + where);
  } else if (moof_open_) {
    return fail(name_of(type) + " between moof and mdat" + where);
  }
  at_ = end;
  if (at_ == file_size_) return finish();
  return true;
}

}  // namespace estuary
