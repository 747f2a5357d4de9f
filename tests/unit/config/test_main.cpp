// Owns: the config unit tests' entry point. GStreamer must be initialised because pipelines.d
// launch lines are parsed during loading.
#include <gst/gst.h>
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  testing::InitGoogleTest(&argc, argv);
  int result = RUN_ALL_TESTS();
  gst_deinit();  // lets GST_TRACERS=leaks report elements a test (or the loader) failed to free
  return result;
}
