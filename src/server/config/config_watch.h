// Owns: watching the configuration directories (the config file's and pipelines.d) with
// GFileMonitor and calling back once per burst of changes (debounced), for `[pipelines] watch`.
// A Kubernetes ConfigMap update replaces the `..data` symlink inside the directory: that shows as
// created/deleted/moved entries of the directory, which count as changes like an edited file.
// Must not know: what a reload does (the composition root passes it). Control thread only.
#pragma once

#include <gio/gio.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/gobject_ptr.h"
#include "common/result.h"

namespace estuary::config {

class ConfigWatch {
 public:
  // Watches each directory (duplicates and "" ignored); on_change runs debounce_ms after the last
  // event of a burst. Fails when a directory cannot be monitored.
  static Result<std::unique_ptr<ConfigWatch>> start(const std::vector<std::string>& dirs, int debounce_ms,
                                                    std::function<void()> on_change);
  ~ConfigWatch();
  ConfigWatch(const ConfigWatch&) = delete;
  ConfigWatch& operator=(const ConfigWatch&) = delete;

 private:
  ConfigWatch(int debounce_ms, std::function<void()> on_change);
  static void on_event(GFileMonitor*, GFile*, GFile*, GFileMonitorEvent event, gpointer self);
  void changed();

  int debounce_ms_;
  std::function<void()> on_change_;
  std::vector<Ref<GFileMonitor>> monitors_;
  std::vector<SignalGuard> handlers_;
  SourceGuard debounce_;
};

}  // namespace estuary::config
