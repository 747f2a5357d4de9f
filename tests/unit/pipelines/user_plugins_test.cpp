// Users' plugins and the element catalog against the real registry: plugins_dir splitting, a
// missing directory, a file that is not a shared object (named with GStreamer's reason), files
// without the module suffix ignored; --inspect text and property names of a real element.
#include "pipelines/user_plugins.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <fstream>

#include "pipelines/element_catalog.h"

using namespace estuary::pipelines;

namespace {

class UserPlugins : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!gst_is_initialized()) gst_init(nullptr, nullptr);
  }
  void SetUp() override {
    gchar* d = g_dir_make_tmp("estuary-plugins-XXXXXX", nullptr);
    dir_ = d;
    g_free(d);
  }
  void TearDown() override {
    for (const char* f : {"/libgstbroken.so", "/README", "/notes.so.txt"}) g_remove((dir_ + f).c_str());
    g_rmdir(dir_.c_str());
  }
  std::string dir_;
};

TEST(PluginDirs, SplitsOnSpacesAndColons) {
  EXPECT_EQ(split_plugin_dirs("/a /b:/c\t/d  "), (std::vector<std::string>{"/a", "/b", "/c", "/d"}));
  EXPECT_TRUE(split_plugin_dirs("  ").empty());
}

TEST_F(UserPlugins, MissingDirectoryIsNamed) {
  auto r = load_plugin_dirs({dir_ + "/nope"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "plugins_dir " + dir_ + "/nope: not a directory");
  EXPECT_EQ(r.error().reason, estuary::ErrorReason::not_found);
}

TEST_F(UserPlugins, OnlyModulesAreLoadedAndABrokenOneIsNamedWithTheReason) {
  std::ofstream(dir_ + "/README") << "not a plugin";
  std::ofstream(dir_ + "/notes.so.txt") << "not a plugin either";
  auto empty = load_plugin_dirs({dir_});
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_TRUE(empty->empty());

  std::ofstream(dir_ + "/libgstbroken.so") << "garbage";
  auto r = load_plugin_dirs({dir_});
  ASSERT_FALSE(r);
  const std::string prefix = "plugins_dir " + dir_ + ": cannot load " + dir_ + "/libgstbroken.so: ";
  EXPECT_EQ(r.error().message.rfind(prefix, 0), 0u) << r.error().message;
  EXPECT_NE(r.error().message.find("Opening module failed"), std::string::npos) << r.error().message;
}

TEST_F(UserPlugins, CatalogDescribesRealElements) {
  auto text = inspect_element_text("x264enc");
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_NE(text->find("Plugin: x264\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("  key-int-max (guint, rw, default "), std::string::npos) << *text;
  EXPECT_NE(text->find("src (src, always): video/x-h264"), std::string::npos) << *text;
  auto missing = inspect_element_text("no-such-element");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().reason, estuary::ErrorReason::not_found);

  auto props = element_property_names("x264enc");
  ASSERT_TRUE(props);
  EXPECT_NE(std::find(props->begin(), props->end(), "speed-preset"), props->end());
  EXPECT_EQ(std::find(props->begin(), props->end(), "zero-reorder-delay"), props->end());
  EXPECT_FALSE(element_property_names("no-such-element"));
}

}  // namespace
