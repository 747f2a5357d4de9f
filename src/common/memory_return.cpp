// Owns: schedule_memory_return (see memory_return.h).
#include "common/memory_return.h"

#include <malloc.h>

#include "common/timer.h"

namespace estuary {
namespace {

constexpr int kQuietMs = 3000;          // after the last session ended
constexpr gint64 kMinGapUs = 10000000;  // between two trims

SourceGuard& pending() {
  static SourceGuard guard;  // control thread only
  return guard;
}
gint64 last_trim_us = 0;

}  // namespace

void schedule_memory_return() {
  pending() = start_timer(kQuietMs, [] {
    const gint64 now = g_get_monotonic_time();
    if (now - last_trim_us < kMinGapUs) {
      schedule_memory_return();  // too soon after the last one: try again later
      return;
    }
    last_trim_us = now;
    malloc_trim(0);
  });
}

}  // namespace estuary
