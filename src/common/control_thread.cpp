// Owns: posting closures to the control thread (see control_thread.h).
#include "common/control_thread.h"

#include <atomic>

namespace estuary {
namespace {
std::atomic<GMainContext*> g_control{nullptr};

gboolean run_closure(gpointer data) {
  (*static_cast<std::function<void()>*>(data))();
  return G_SOURCE_REMOVE;
}
void free_closure(gpointer data) { delete static_cast<std::function<void()>*>(data); }
}  // namespace

void set_control_context(GMainContext* context) { g_control.store(context); }

void post_to_control(std::function<void()> fn) {
  GMainContext* ctx = g_control.load();
  GSource* source = g_idle_source_new();
  g_source_set_priority(source, G_PRIORITY_DEFAULT);
  g_source_set_callback(source, run_closure, new std::function<void()>(std::move(fn)), free_closure);
  g_source_attach(source, ctx);
  g_source_unref(source);
}

}  // namespace estuary
