// Owns: a self-deleting temporary directory for config tests, with helpers to write files in it.
#pragma once

#include <glib.h>
#include <glib/gstdio.h>

#include <string>

namespace estuary::config::testing {

class TempDir {
 public:
  TempDir() {
    gchar* dir = g_dir_make_tmp("estuary-config-XXXXXX", nullptr);
    path_ = dir ? dir : "";
    g_free(dir);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() { remove_tree(path_); }

  const std::string& path() const { return path_; }

  // Writes text to path()/name (name may contain one level of subdirectory) and returns the path.
  std::string write(const std::string& name, const std::string& text) const {
    std::string full = path_ + "/" + name;
    gchar* parent = g_path_get_dirname(full.c_str());
    g_mkdir_with_parents(parent, 0755);
    g_free(parent);
    g_file_set_contents(full.c_str(), text.data(), static_cast<gssize>(text.size()), nullptr);
    return full;
  }

  std::string subdir(const std::string& name) const {
    std::string full = path_ + "/" + name;
    g_mkdir_with_parents(full.c_str(), 0755);
    return full;
  }

 private:
  static void remove_tree(const std::string& path) {
    if (path.empty()) return;
    if (g_file_test(path.c_str(), G_FILE_TEST_IS_DIR) && !g_file_test(path.c_str(), G_FILE_TEST_IS_SYMLINK)) {
      if (GDir* dir = g_dir_open(path.c_str(), 0, nullptr)) {
        while (const gchar* name = g_dir_read_name(dir)) remove_tree(path + "/" + name);
        g_dir_close(dir);
      }
    }
    g_remove(path.c_str());
  }

  std::string path_;
};

}  // namespace estuary::config::testing
