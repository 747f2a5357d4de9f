// Owns: loading users' plugins (see user_plugins.h).
#include "pipelines/user_plugins.h"

#include <gst/gst.h>

#include <algorithm>

#include "common/gobject_ptr.h"

namespace estuary::pipelines {

std::vector<std::string> split_plugin_dirs(const std::string& value) {
  std::vector<std::string> dirs;
  std::string current;
  for (char c : value + " ") {
    if (c == ' ' || c == '\t' || c == ':') {
      if (!current.empty()) dirs.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  return dirs;
}

namespace {

Result<std::vector<std::string>> module_files(const std::string& dir) {
  GError* error = nullptr;
  GDir* handle = g_dir_open(dir.c_str(), 0, &error);
  if (!handle) {
    Error e{"plugins_dir " + dir + ": " + (error ? error->message : "cannot open"), ErrorReason::not_found, "config"};
    g_clear_error(&error);
    return e;
  }
  std::vector<std::string> files;
  const std::string suffix = std::string(".") + G_MODULE_SUFFIX;
  while (const gchar* name = g_dir_read_name(handle)) {
    std::string n = name;
    if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
      files.push_back(dir + "/" + n);
  }
  g_dir_close(handle);
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

Result<std::vector<LoadedPlugin>> load_plugin_dirs(const std::vector<std::string>& dirs) {
  std::vector<LoadedPlugin> loaded;
  for (const std::string& dir : dirs) {
    if (!g_file_test(dir.c_str(), G_FILE_TEST_IS_DIR))
      return Error{"plugins_dir " + dir + ": not a directory", ErrorReason::not_found, "config"};
    auto files = module_files(dir);
    if (!files) return files.error();
    for (const std::string& file : *files) {
      GError* error = nullptr;
      Ref<GstPlugin> plugin = Ref<GstPlugin>::adopt(gst_plugin_load_file(file.c_str(), &error));
      if (!plugin) {
        Error e{"plugins_dir " + dir + ": cannot load " + file + ": " + (error ? error->message : "unknown error"),
                ErrorReason::invalid, "config"};
        g_clear_error(&error);
        return e;
      }
      loaded.push_back({gst_plugin_get_name(plugin.get()), file});
    }
  }
  return loaded;
}

}  // namespace estuary::pipelines
