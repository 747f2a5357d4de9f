// Owns: the hand-off from any thread to the control thread (the GLib main loop that owns supervisor
// state). Streaming and fan-out threads post closures here and never touch supervisor state.
#pragma once

#include <glib.h>

#include <functional>

namespace estuary {

// Records the calling thread's default context as the control context. Call once from main.
void set_control_context(GMainContext* context);
// Runs fn on the control thread (soon, in order of posting). Safe from any thread.
void post_to_control(std::function<void()> fn);

}  // namespace estuary
