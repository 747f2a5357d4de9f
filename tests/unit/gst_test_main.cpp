// Owns: the main() of unit-test executables that need GStreamer: gst_init and our elements
// registered in-process (estuarysink/estuarysrc, estuaryhealth), then every GoogleTest case.
#include <gst/gst.h>
#include <gtest/gtest.h>

#include "pipelines/stream_bus.h"

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  estuary::pipelines::register_estuary_elements();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
