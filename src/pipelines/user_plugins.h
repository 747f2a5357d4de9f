// Owns: loading users' own GStreamer plugins from `[pipelines] plugins_dir` directories into the
// process registry, one file at a time so that a file that fails to load is named with GStreamer's
// reason (not silently skipped, as a registry scan would do).
// Must not know: the config file, the server.
// Control thread, at startup and on a configuration reload (a loaded plugin stays loaded: GStreamer
// cannot unload one).
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace estuary::pipelines {

// Splits a plugins_dir value (directories separated by spaces or ':') into its directories.
std::vector<std::string> split_plugin_dirs(const std::string& value);

struct LoadedPlugin {
  std::string name;  // the plugin's name ("estuaryexample")
  std::string file;  // the file it came from
};

// Loads every shared module (*.so) directly in each directory, sorted by name. Fails on the first
// directory that is missing or unreadable and on the first file GStreamer refuses, naming the file
// and GStreamer's reason ("Opening module failed: ...: invalid ELF header", "... is not a GStreamer
// plugin"). Loading a file already loaded is a no-op. Files not ending in the module suffix are
// ignored (a README or a .la beside the plugin).
Result<std::vector<LoadedPlugin>> load_plugin_dirs(const std::vector<std::string>& dirs);

}  // namespace estuary::pipelines
