// Owns: end-to-end tests of users' plugins (issue #19, part 1) against the real binary:
// - the example out-of-tree plugin (examples/plugin) is built with its own meson build, is not
//   visible without [pipelines] plugins_dir (the tests see no plugin from the host), and with it
//   `estuary --inspect markbox` names its file and `--list-elements` lists it beside our elements;
// - the example pipelines.d file (examples/plugin/markbox.conf) run with the plugin paints its box
//   into the published rendition (pixels read back with ffmpeg), the source stays unmarked;
// - a broken plugin file or a missing directory stops the server at start with the file and
//   GStreamer's reason.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "harness.h"

using namespace estuary::e2e;

namespace {

std::string estuary_bin() { return build_root() + "/src/server/estuary"; }

// The example plugin built once per run into a temp dir, as a user would build it.
const std::string& example_plugin_dir() {
  static const std::string dir = [] {
    const std::string build = make_temp_dir() + "/plugin-build";
    RunResult setup = run({"meson", "setup", build, source_root() + "/examples/plugin"}, 180);
    EXPECT_EQ(setup.exit_code, 0) << setup.out << setup.err;
    RunResult compile = run({"meson", "compile", "-C", build}, 300);
    EXPECT_EQ(compile.exit_code, 0) << compile.out << compile.err;
    return build;
  }();
  return dir;
}

RunResult estuary_with(const std::vector<std::string>& env, const std::vector<std::string>& args, int timeout_s = 60) {
  std::vector<std::string> argv = {"env"};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.push_back(estuary_bin());
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, timeout_s);
}

// Mean of a rectangle of a GRAY8 frame.
double mean(const std::string& gray, int stride, int x0, int y0, int x1, int y1) {
  double sum = 0;
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) sum += static_cast<unsigned char>(gray[static_cast<size_t>(y) * stride + x]);
  return sum / ((x1 - x0) * (y1 - y0));
}

// One decoded video frame of url as 320x240 GRAY8 ("" on failure); through a file, since the
// harness reads a child's stdout as text.
std::string grab_gray_frame(const std::string& url) {
  const std::string file = make_temp_dir() + "/frame.gray";
  RunResult r = run({"ffmpeg", "-hide_banner", "-loglevel", "error", "-i", url, "-frames:v", "1", "-vf",
                     "scale=320:240,format=gray", "-f", "rawvideo", "-y", file},
                    30);
  std::ifstream in(file, std::ios::binary);
  std::string gray((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return gray.size() == 320u * 240u ? gray : std::string();
}

TEST(UserPlugins, ExamplePluginIsSeenOnlyThroughPluginsDir) {
  const std::string& dir = example_plugin_dir();
  ASSERT_TRUE(std::ifstream(dir + "/libgstestuaryexample.so").good());
  // Hermetic: without plugins_dir nothing on the host provides the element.
  RunResult without = estuary_with({}, {"--inspect", "markbox"});
  EXPECT_EQ(without.exit_code, 1) << without.out;
  EXPECT_NE(without.err.find("no element \"markbox\""), std::string::npos) << without.err;

  const std::string env = "ESTUARY_PIPELINES_PLUGINS_DIR=" + dir;
  RunResult inspect = estuary_with({env}, {"--inspect", "markbox"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_NE(inspect.out.find("Plugin: estuaryexample"), std::string::npos) << inspect.out;
  EXPECT_NE(inspect.out.find("File: " + dir + "/libgstestuaryexample.so"), std::string::npos) << inspect.out;
  EXPECT_NE(inspect.out.find("  color (guint, rw, default 16777215)"), std::string::npos) << inspect.out;
  EXPECT_NE(inspect.out.find("sink (sink, always): video/x-raw"), std::string::npos) << inspect.out;

  RunResult list = estuary_with({env}, {"--list-elements"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("\nmarkbox  estuaryexample  Filter/Effect/Video"), std::string::npos);
  EXPECT_NE(list.out.find("[" + dir + "/libgstestuaryexample.so]"), std::string::npos);
  EXPECT_NE(list.out.find("\nestuarysink  estuary  "), std::string::npos);  // ours, registered in-process
  EXPECT_NE(list.out.find("(built in)]"), std::string::npos);
  EXPECT_NE(list.out.find("\nx264enc  x264  "), std::string::npos);  // the system's
}

TEST(UserPlugins, ExamplePipelinePaintsTheBoxIntoTheRendition) {
  const std::string& plugin_dir = example_plugin_dir();
  const std::string pipelines = make_temp_dir() + "/pipelines.d";
  ASSERT_EQ(run({"mkdir", "-p", pipelines}, 5).exit_code, 0);
  ASSERT_EQ(run({"cp", source_root() + "/examples/plugin/markbox.conf", pipelines + "/"}, 5).exit_code, 0);

  // Without the plugin the example file is refused at start, naming the element.
  RunResult refused = estuary_with({}, {"--pipelines", pipelines, "--check-config"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("markbox"), std::string::npos) << refused.err;

  Server server({{"ESTUARY_PIPELINES_PLUGINS_DIR", plugin_dir}}, {"--pipelines", pipelines});
  ASSERT_TRUE(server.start()) << server.log();
  EXPECT_NE(server.log().find("plugin estuaryexample from " + plugin_dir), std::string::npos) << server.log();
  Process source({"ffmpeg",
                  "-hide_banner",
                  "-nostats",
                  "-loglevel",
                  "error",
                  "-re",
                  "-f",
                  "lavfi",
                  "-i",
                  "color=c=black:size=320x240:rate=15",
                  "-f",
                  "lavfi",
                  "-i",
                  "sine",
                  "-t",
                  "30",
                  "-c:v",
                  "libx264",
                  "-preset",
                  "ultrafast",
                  "-tune",
                  "zerolatency",
                  "-g",
                  "15",
                  "-pix_fmt",
                  "yuv420p",
                  "-c:a",
                  "aac",
                  "-f",
                  "flv",
                  server.rtmp_url("live/x")},
                 server.dir() + "/ffmpeg.log");
  ASSERT_TRUE(wait_for_stream(server, "live/x_marked", 20000)) << server.log();

  const std::string marked = grab_gray_frame(server.flv_url("live/x_marked"));
  ASSERT_FALSE(marked.empty()) << server.log();
  EXPECT_GT(mean(marked, 320, 20, 20, 76, 76), 200.0);     // inside the box (16..80): white
  EXPECT_LT(mean(marked, 320, 120, 100, 300, 220), 40.0);  // elsewhere: the black source
  const std::string source_frame = grab_gray_frame(server.flv_url("live/x"));
  ASSERT_FALSE(source_frame.empty());
  EXPECT_LT(mean(source_frame, 320, 20, 20, 76, 76), 40.0);  // the source is untouched
}

TEST(UserPlugins, BrokenPluginOrMissingDirStopsTheServerWithTheReason) {
  const std::string dir = make_temp_dir() + "/plugins";
  ASSERT_EQ(run({"mkdir", "-p", dir}, 5).exit_code, 0);
  std::ofstream(dir + "/libgstbroken.so") << "this is not a shared object\n";
  std::ofstream(dir + "/README") << "ignored: not a module\n";
  RunResult broken = estuary_with({"ESTUARY_PIPELINES_PLUGINS_DIR=" + dir}, {}, 30);
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_NE(broken.err.find("configuration error: environment ESTUARY_PIPELINES_PLUGINS_DIR: [pipelines] plugins_dir " +
                            dir + ": cannot load " + dir + "/libgstbroken.so: "),
            std::string::npos)
      << broken.err;
  EXPECT_NE(broken.err.find("Opening module failed"), std::string::npos) << broken.err;

  const std::string conf = make_temp_dir() + "/estuary.conf";
  std::ofstream(conf) << "[pipelines]\nplugins_dir = " << dir << "-missing\n";
  RunResult missing = estuary_with({}, {"--config", conf, "--check-config"}, 30);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find(conf + ":2: [pipelines] plugins_dir " + dir + "-missing: not a directory"),
            std::string::npos)
      << missing.err;
}

}  // namespace
