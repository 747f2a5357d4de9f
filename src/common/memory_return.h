// Owns: giving freed heap memory back to the system after sessions end. glibc keeps what a burst
// of connections freed (SRT sockets, WebRTC sessions, pipelines) in its arenas, so RSS stays at the
// high-water mark of the busiest minute; malloc_trim(0) returns the free pages. Debounced: the trim
// runs once, a few seconds after the last call, and at most every 10 s.
// Call on the control thread. Must not know: who freed what.
#pragma once

namespace estuary {

// Something that held memory (a client, a session, a pipeline) has gone.
void schedule_memory_return();

}  // namespace estuary
