// Owns: Mp4BoxScan, the bounded sans-IO walk over the top-level boxes of a fragmented MP4
// (ftyp, moov, then moof+mdat pairs, mfra/free/skip and other boxes skipped): it says which bytes
// to read next (a box header, at most kMp4BoxHeaderBytes), is fed them, and ends with the layout an
// fMP4 HLS playlist needs (where the init section ends, where the fragments begin and end). 32- and
// 64-bit sizes, size 0 (to the end of the file); a header that is malformed, smaller than itself or
// reaching past the file is refused. Box contents are never read.
// Must not know: files, sockets, HLS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace estuary {

constexpr size_t kMp4BoxHeaderBytes = 16;  // size, type, largesize
constexpr size_t kMaxMp4Boxes = 1u << 20;  // top-level boxes walked in one file (12 days of 1 s fragments)

struct Mp4Layout {
  uint64_t init_end = 0;      // ftyp + moov end here: the init section is [0, init_end)
  uint64_t media_first = 0;   // the first moof
  uint64_t media_end = 0;     // the end of the last complete moof+mdat pair
  size_t fragments = 0;       // moof+mdat pairs
  bool tail_dropped = false;  // a box past the last fragment was cut short (the file was not closed)
  uint64_t media_bytes() const { return media_end - media_first; }
};

class Mp4BoxScan {
 public:
  explicit Mp4BoxScan(uint64_t file_size, size_t max_boxes = kMaxMp4Boxes);
  // Where the next header starts, and how many bytes to read there (at most kMp4BoxHeaderBytes).
  uint64_t want_offset() const { return at_; }
  size_t want_bytes() const;
  // The bytes read at want_offset(): n = want_bytes() (fewer means the file ended: truncated).
  // Returns true while more headers are wanted.
  bool feed(const uint8_t* bytes, size_t n);
  bool done() const { return state_ != State::walking; }
  bool ok() const { return state_ == State::ok; }
  const std::string& error() const { return error_; }  // why it failed: "truncated moov at 24", ...
  const Mp4Layout& layout() const { return layout_; }
  size_t boxes() const { return boxes_; }

 private:
  enum class State { walking, ok, failed };
  bool fail(const std::string& why);
  bool finish();
  bool take(uint32_t type, uint64_t size);

  uint64_t file_size_;
  size_t max_boxes_;
  uint64_t at_ = 0;
  size_t boxes_ = 0;
  bool seen_moov_ = false;
  bool moof_open_ = false;  // a moof waits for its mdat
  uint64_t moof_at_ = 0;
  State state_ = State::walking;
  std::string error_;
  Mp4Layout layout_;
};

}  // namespace estuary
