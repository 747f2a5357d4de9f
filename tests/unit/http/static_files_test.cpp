// Owns: unit tests of the static page site (server/protocols/http/static_files): what is loaded, the bounds
// on file count and size, and lookups by request path.
#include "server/protocols/http/static_files.h"

#include <glib.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace estuary::server {
namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/estuary-static-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() {
    gchar* argv[] = {const_cast<gchar*>("rm"), const_cast<gchar*>("-rf"), path.data(), nullptr};
    g_spawn_sync(nullptr, argv, nullptr, G_SPAWN_SEARCH_PATH, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
  }
  void write(const std::string& name, const std::string& text) const {
    std::string full = path + "/" + name;
    gchar* dir = g_path_get_dirname(full.c_str());
    g_mkdir_with_parents(dir, 0700);
    g_free(dir);
    ASSERT_TRUE(g_file_set_contents(full.c_str(), text.data(), gssize(text.size()), nullptr));
  }
};

std::string body_of(const StaticFile* f) {
  gsize n = 0;
  const char* data = static_cast<const char*>(g_bytes_get_data(f->body.get(), &n));
  return std::string(data, n);
}

TEST(StaticSite, LoadsKnownTypesAndFindsByPath) {
  TempDir d;
  d.write("players/index.html", "index");
  d.write("players/whep.html", "whep");
  d.write("players/app.js", "js");
  d.write("players/notes.md", "not a served type");
  d.write("players/.secret.html", "hidden");
  d.write("a/b/c/d/deep.html", "depth 4");
  d.write("a/b/c/d/e/deeper.html", "depth 5");
  auto site = StaticSite::load(d.path);
  ASSERT_TRUE(site.ok()) << site.error().message;
  const StaticSite& s = *site.value();
  ASSERT_NE(s.find("/players/whep.html"), nullptr);
  EXPECT_EQ(body_of(s.find("/players/whep.html")), "whep");
  EXPECT_EQ(s.find("/players/whep.html")->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(s.find("/players/app.js")->content_type, "text/javascript; charset=utf-8");
  ASSERT_NE(s.find("/players/"), nullptr);
  EXPECT_EQ(body_of(s.find("/players/")), "index");
  EXPECT_TRUE(s.is_directory_with_index("/players"));
  EXPECT_FALSE(s.is_directory_with_index("/a"));
  EXPECT_NE(s.find("/a/b/c/d/deep.html"), nullptr);
  for (const char* p : {"/players/notes.md", "/players/.secret.html", "/a/b/c/d/e/deeper.html", "/players",
                        "/players/../players/whep.html", "/players//whep.html", "players/whep.html"})
    EXPECT_EQ(s.find(p), nullptr) << p;
  EXPECT_EQ(s.file_count(), 4u);
}

TEST(StaticSite, BoundsAreErrors) {
  {
    TempDir d;
    for (int i = 0; i <= StaticSite::kMaxFiles; ++i) d.write("f" + std::to_string(i) + ".txt", "x");
    auto site = StaticSite::load(d.path);
    ASSERT_FALSE(site.ok());
    EXPECT_NE(site.error().message.find("more than " + std::to_string(StaticSite::kMaxFiles) + " files"),
              std::string::npos)
        << site.error().message;
  }
  {
    TempDir d;
    d.write("big.js", std::string(StaticSite::kMaxFileBytes + 1, 'x'));
    auto site = StaticSite::load(d.path);
    ASSERT_FALSE(site.ok());
    EXPECT_NE(site.error().message.find("larger than"), std::string::npos) << site.error().message;
  }
  EXPECT_FALSE(StaticSite::load("/nonexistent/www").ok());
}

TEST(StaticSite, VendorDirIsFlatAndOnlyWhenWwwHasNone) {
  TempDir www, vendor, own;
  www.write("console/index.html", "console");
  vendor.write("hls.min.js", "hls");
  vendor.write("web-vendor.p/node_modules/x/index.js", "npm's work tree");
  auto site = StaticSite::load(www.path, vendor.path);
  ASSERT_TRUE(site.ok()) << site.error().message;
  ASSERT_NE(site.value()->find("/vendor/hls.min.js"), nullptr);
  EXPECT_EQ(body_of(site.value()->find("/vendor/hls.min.js")), "hls");
  EXPECT_EQ(site.value()->find("/vendor/web-vendor.p/node_modules/x/index.js"), nullptr);
  EXPECT_EQ(site.value()->file_count(), 2u);
  own.write("vendor/hls.min.js", "installed");
  auto installed = StaticSite::load(own.path, vendor.path);
  ASSERT_TRUE(installed.ok());
  EXPECT_EQ(body_of(installed.value()->find("/vendor/hls.min.js")), "installed");
}

TEST(StaticSite, BuiltInPagesAreFound) {
  std::string dir = default_www_dir();
  ASSERT_FALSE(dir.empty());
  auto site = StaticSite::load(dir, default_vendor_dir());
  ASSERT_TRUE(site.ok()) << site.error().message;
  for (const char* p :
       {"/players/", "/players/whep.html", "/players/whip.html", "/players/estuary-rtc.js", "/players/play.html",
        "/console/", "/console/console.js", "/vendor/hls.min.js", "/vendor/mpegts.js", "/vendor/uPlot.iife.min.js"})
    EXPECT_NE(site.value()->find(p), nullptr) << p;
}

}  // namespace
}  // namespace estuary::server
