// Owns: timers on the calling thread's default main context that run a closure, owned by the
// SourceGuard they return: destroying the guard first cancels the timer and frees the closure, so a
// closure may capture its owner (`this`) as long as the owner keeps the guard. Replaces hand-made
// (object, key) payloads for g_timeout_source_new. Call from the thread whose context runs it.
#pragma once

#include <functional>

#include "common/gobject_ptr.h"

namespace estuary {

// Runs fn once after ms milliseconds (negative counts as 0).
SourceGuard start_timer(int ms, std::function<void()> fn);
// Runs fn once after s seconds (coarse: GLib may group it with other second timers).
SourceGuard start_timer_seconds(int s, std::function<void()> fn);
// Runs fn every ms milliseconds while it returns true.
SourceGuard start_repeating_timer(int ms, std::function<bool()> fn);

}  // namespace estuary
