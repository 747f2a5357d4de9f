// Owns: the libFuzzer target of the server config loader: the input is written as a config file
// and loaded the way the server loads it (key-file scanning, schema values, per-app groups,
// [source]/[forward] groups, cross-key checks), with no environment overrides.
#include <glib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "server/config/config.h"

namespace {

const std::string& config_path() {
  static const std::string path = [] {
    const char* dir = g_get_tmp_dir();
    return std::string(dir) + "/estuary-fuzz-config-" + std::to_string(getpid()) + ".conf";
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string& path = config_path();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  auto config = estuary::config::load(path, "", {});
  (void)config;
  std::remove(path.c_str());
  return 0;
}
