// Owns: the libFuzzer target of the pipelines.d parser (groups, keys, triggers, outputs, variable
// substitution). Every launch line is rewritten to one fixed valid line before GStreamer parses it:
// launch lines are the operator's own GStreamer syntax, and fuzzing gst_parse_launch is GStreamer's
// job; what is fuzzed here is our code around it.
#include <gst/gst.h>

#include <cstdint>
#include <string>

#include "server/config/pipelines_dir.h"

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  gst_init(argc, argv);
  estuary::config::set_launch_preprocessor([](const std::string&) { return std::string("identity name=sink"); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto specs = estuary::config::parse_pipelines_file("/fuzz/10-test.conf", text);
  if (specs.ok()) {
    for (const auto& spec : *specs) {
      (void)spec.matches("live/test");
      (void)spec.expand("live", "test");
    }
  }
  return 0;
}
