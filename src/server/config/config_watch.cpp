// Owns: the configuration directory watch (see config_watch.h).
#include "server/config/config_watch.h"

#include <algorithm>

#include "common/log.h"
#include "common/timer.h"

namespace estuary::config {

ConfigWatch::ConfigWatch(int debounce_ms, std::function<void()> on_change)
    : debounce_ms_(debounce_ms), on_change_(std::move(on_change)) {}

ConfigWatch::~ConfigWatch() {
  handlers_.clear();  // disconnect before the monitors go
  for (auto& m : monitors_) g_file_monitor_cancel(m.get());
}

Result<std::unique_ptr<ConfigWatch>> ConfigWatch::start(const std::vector<std::string>& dirs, int debounce_ms,
                                                        std::function<void()> on_change) {
  std::unique_ptr<ConfigWatch> watch(new ConfigWatch(debounce_ms, std::move(on_change)));
  std::vector<std::string> seen;
  for (const std::string& dir : dirs) {
    if (dir.empty() || std::find(seen.begin(), seen.end(), dir) != seen.end()) continue;
    seen.push_back(dir);
    Ref<GFile> file = Ref<GFile>::adopt(g_file_new_for_path(dir.c_str()));
    GError* error = nullptr;
    GFileMonitor* monitor = g_file_monitor_directory(file.get(), G_FILE_MONITOR_WATCH_MOVES, nullptr, &error);
    if (!monitor) {
      Error e{"[pipelines] watch: cannot watch " + dir + ": " + (error ? error->message : "unknown error"),
              ErrorReason::unavailable, "config"};
      g_clear_error(&error);
      return e;
    }
    watch->monitors_.push_back(Ref<GFileMonitor>::adopt(monitor));
    watch->handlers_.emplace_back(
        monitor, g_signal_connect(monitor, "changed", G_CALLBACK(&ConfigWatch::on_event), watch.get()));
    log_info("", "", "config-watch", "watching " + dir + " for changes");
  }
  return watch;
}

void ConfigWatch::on_event(GFileMonitor*, GFile*, GFile*, GFileMonitorEvent event, gpointer self) {
  switch (event) {
    case G_FILE_MONITOR_EVENT_CHANGES_DONE_HINT:
    case G_FILE_MONITOR_EVENT_CREATED:
    case G_FILE_MONITOR_EVENT_DELETED:
    case G_FILE_MONITOR_EVENT_MOVED_IN:
    case G_FILE_MONITOR_EVENT_MOVED_OUT:
    case G_FILE_MONITOR_EVENT_RENAMED:
    case G_FILE_MONITOR_EVENT_CHANGED:
      static_cast<ConfigWatch*>(self)->changed();
      break;
    default:
      break;
  }
}

void ConfigWatch::changed() {
  // One reload per burst (an editor writes a temp file, renames it, touches attributes...).
  debounce_ = start_timer(debounce_ms_, [this]() {
    debounce_ = SourceGuard();
    log_info("", "", "config-watch", "configuration directory changed, reloading");
    on_change_();
  });
}

}  // namespace estuary::config
