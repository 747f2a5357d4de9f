// Owns: closure timers (see timer.h).
#include "common/timer.h"

#include <algorithm>

namespace estuary {
namespace {

SourceGuard attach(GSource* source, std::function<bool()> fn) {
  g_source_set_callback(
      source, [](gpointer p) -> gboolean { return (*static_cast<std::function<bool()>*>(p))() ? TRUE : FALSE; },
      new std::function<bool()>(std::move(fn)), [](gpointer p) { delete static_cast<std::function<bool()>*>(p); });
  g_source_attach(source, g_main_context_get_thread_default());
  return SourceGuard(source);
}

std::function<bool()> once(std::function<void()> fn) {
  return [fn = std::move(fn)]() {
    fn();
    return false;
  };
}

}  // namespace

SourceGuard start_timer(int ms, std::function<void()> fn) {
  return attach(g_timeout_source_new(guint(std::max(0, ms))), once(std::move(fn)));
}

SourceGuard start_timer_seconds(int s, std::function<void()> fn) {
  return attach(g_timeout_source_new_seconds(guint(std::max(0, s))), once(std::move(fn)));
}

SourceGuard start_repeating_timer(int ms, std::function<bool()> fn) {
  return attach(g_timeout_source_new(guint(std::max(0, ms))), std::move(fn));
}

}  // namespace estuary
