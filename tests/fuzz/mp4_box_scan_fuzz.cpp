// Owns: the libFuzzer target of the top-level MP4 box scanner (common/mp4_box_scan.h). Input: the
// file itself. Invariants: the walk moves forward on every header and ends within the box bound; a
// layout found lies inside the file (init section before the fragments, at least one fragment).
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "common/mp4_box_scan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kMaxBoxes = 4096;
  estuary::Mp4BoxScan scan(size, kMaxBoxes);
  uint64_t last = 0;
  size_t feeds = 0;
  while (!scan.done()) {
    const uint64_t at = scan.want_offset();
    if (feeds > 0 && at <= last) std::abort();  // no loop on a box
    if (at >= size || scan.want_bytes() == 0 || scan.want_bytes() > estuary::kMp4BoxHeaderBytes) std::abort();
    last = at;
    const size_t n = std::min<size_t>(scan.want_bytes(), size - at);
    scan.feed(data + at, n);
    if (++feeds > kMaxBoxes + 1) std::abort();
  }
  if (scan.ok()) {
    const estuary::Mp4Layout& l = scan.layout();
    if (l.fragments == 0 || l.init_end == 0 || l.init_end > l.media_first) std::abort();
    if (l.media_first >= l.media_end || l.media_end > size) std::abort();
  } else if (scan.error().empty()) {
    std::abort();
  }
  return 0;
}
