// Owns: tests of pipelines.d loading (keys, triggers, outputs, variables, launch validation with
// GStreamer, duplicate names) and of PipelineSpec matching and expansion.
#include <gtest/gtest.h>

#include <string>

#include "server/config/config.h"
#include "server/config/pipelines_dir.h"
#include "temp_dir.h"

namespace estuary::config {
namespace {

using testing::TempDir;

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// Loads a pipelines.d holding one file "10-test.conf" with text.
Result<Config> load_one(const TempDir& dir, const std::string& text, std::string* file = nullptr) {
  std::string pdir = dir.subdir("pipelines.d");
  std::string path = dir.write("pipelines.d/10-test.conf", text);
  if (file) *file = path;
  return load("", pdir, {});
}

void expect_error(const std::string& text, int line, const std::string& problem) {
  TempDir dir;
  std::string file;
  auto r = load_one(dir, text, &file);
  ASSERT_FALSE(r.ok()) << "loaded without error:\n" << text;
  EXPECT_EQ(r.error().message, file + ":" + std::to_string(line) + ": " + problem);
}

void expect_error_prefix(const std::string& text, int line, const std::string& problem_prefix) {
  TempDir dir;
  std::string file;
  auto r = load_one(dir, text, &file);
  ASSERT_FALSE(r.ok()) << "loaded without error:\n" << text;
  EXPECT_TRUE(starts_with(r.error().message, file + ":" + std::to_string(line) + ": " + problem_prefix))
      << r.error().message;
}

TEST(Pipelines, ParsesFilesInSortedOrder) {
  TempDir dir;
  std::string pdir = dir.subdir("pipelines.d");
  std::string b = dir.write("pipelines.d/20-b.conf",
                            "[pipeline second]\n"
                            "match = live/*\n"
                            "trigger = demand\n"
                            "output = flv\n"
                            "launch = fakesrc ! fakesink name=sink\n");
  std::string a = dir.write("pipelines.d/10-a.conf",
                            "# transcodes\n"
                            "[pipeline first]\n"
                            "match = live/cam*; studio/*  other/x\n"
                            "trigger = always\n"
                            "launch = fakesrc name={stream} ! fakesink name=out_{app}\n"
                            "\n"
                            "[pipeline third]\n"
                            "launch = fakesrc ! \\\n"
                            "         fakesink\n");
  dir.write("pipelines.d/README", "not a config file\n");
  dir.write("pipelines.d/.hidden.conf", "garbage\n");
  dir.write("pipelines.d/00-x.conf.bak", "garbage\n");
  dir.subdir("pipelines.d/sub.conf");  // a directory named *.conf is skipped

  auto r = load("", pdir, {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->pipelines_dir, pdir);
  ASSERT_EQ(r->pipelines.size(), 3u);

  const PipelineSpec& first = r->pipelines[0];
  EXPECT_EQ(first.name, "first");
  EXPECT_EQ(first.file, a);
  EXPECT_EQ(first.line, 2);
  EXPECT_EQ(first.match, (std::vector<std::string>{"live/cam*", "studio/*", "other/x"}));
  EXPECT_EQ(first.trigger, Trigger::always);
  EXPECT_EQ(first.output, "");
  EXPECT_EQ(first.launch, "fakesrc name={stream} ! fakesink name=out_{app}");

  const PipelineSpec& third = r->pipelines[1];
  EXPECT_EQ(third.name, "third");
  EXPECT_EQ(third.line, 7);
  EXPECT_TRUE(third.match.empty());
  EXPECT_EQ(third.trigger, Trigger::on_publish);  // default
  EXPECT_EQ(third.launch, "fakesrc !  fakesink");

  const PipelineSpec& second = r->pipelines[2];
  EXPECT_EQ(second.name, "second");
  EXPECT_EQ(second.file, b);
  EXPECT_EQ(second.trigger, Trigger::on_demand);
  EXPECT_EQ(second.output, "flv");
}

TEST(Pipelines, MatchAndFindOutput) {
  TempDir dir;
  auto r = load_one(dir,
                    "[pipeline custom]\n"
                    "match = live/*\n"
                    "launch = fakesrc ! fakesink\n"
                    "[pipeline flv-studio]\n"
                    "match = studio/*\n"
                    "output = flv\n"
                    "launch = fakesrc ! fakesink name=sink\n"
                    "[pipeline flv-all]\n"
                    "output = flv\n"
                    "launch = fakesrc ! fakesink name=sink\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& p = r->pipelines;
  EXPECT_TRUE(p[0].matches("live/test"));
  EXPECT_FALSE(p[0].matches("other/test"));
  EXPECT_FALSE(p[0].matches("live"));
  EXPECT_TRUE(p[2].matches("anything/at_all"));  // no match key = all streams

  const PipelineSpec* studio = r->find_output("flv", "studio/cam1");
  ASSERT_NE(studio, nullptr);
  EXPECT_EQ(studio->name, "flv-studio");
  const PipelineSpec* live = r->find_output("flv", "live/cam1");
  ASSERT_NE(live, nullptr);
  EXPECT_EQ(live->name, "flv-all");
  EXPECT_EQ(r->find_output("ts", "live/cam1"), nullptr);
}

TEST(Pipelines, Expand) {
  PipelineSpec spec;
  spec.launch = "src stream={name} ! sink location=/rec/{app}/{stream}.flv caps=\"{ I420, NV12 }\" x={other}";
  EXPECT_EQ(spec.expand("live", "cam"),
            "src stream=live/cam ! sink location=/rec/live/cam.flv caps=\"{ I420, NV12 }\" x={other}");
}

// audio_extra is added once per audio track after the first, {track} numbering it; {audio_track}
// is the track a single-audio output carries.
TEST(Pipelines, ExpandSeveralAudioTracks) {
  PipelineSpec spec;
  spec.launch = "estuarysrc name=src stream={name} audio={audio_track} mpegtsmux name=mux";
  spec.audio = "src.audio ! {audio_parser} ! mux.";
  spec.audio_extra = "src.audio_{track} ! {audio_parser} name=a{track} ! mux.";
  CodecVars vars;
  EXPECT_EQ(spec.expand_for_tracks("live", "x", false, true, vars),
            "estuarysrc name=src stream=live/x audio=0 mpegtsmux name=mux src.audio ! aacparse ! mux.");
  vars.audio_tracks = 3;
  vars.audio_track = 2;
  EXPECT_EQ(spec.expand_for_tracks("live", "x", false, true, vars),
            "estuarysrc name=src stream=live/x audio=2 mpegtsmux name=mux src.audio ! aacparse ! mux. "
            "src.audio_1 ! aacparse name=a1 ! mux. src.audio_2 ! aacparse name=a2 ! mux.");
  EXPECT_EQ(spec.expand_for_tracks("live", "x", true, false, vars),
            "estuarysrc name=src stream=live/x audio=2 mpegtsmux name=mux");
}

TEST(Pipelines, TriggerNames) {
  EXPECT_STREQ(trigger_name(Trigger::on_publish), "publish");
  EXPECT_STREQ(trigger_name(Trigger::on_demand), "demand");
  EXPECT_STREQ(trigger_name(Trigger::always), "always");
}

TEST(Pipelines, NameComponents) {
  EXPECT_TRUE(is_valid_name_component("live"));
  EXPECT_TRUE(is_valid_name_component("cam-1_720p.v2"));
  EXPECT_FALSE(is_valid_name_component(""));
  EXPECT_FALSE(is_valid_name_component(".."));
  EXPECT_FALSE(is_valid_name_component("a b"));
  EXPECT_FALSE(is_valid_name_component("x!filesink"));
  EXPECT_FALSE(is_valid_name_component("a/b"));
  EXPECT_FALSE(is_valid_name_component(std::string(129, 'a')));
}

TEST(PipelineErrors, UnknownVariable) {
  expect_error("[pipeline p]\nmatch = live/*\nlaunch = fakesrc ! fakesink name={strem}\n", 3,
               "pipeline \"p\": unknown variable {strem} in launch (known: {app}, {stream}, {name}, {video_parser}, "
               "{audio_parser}, {flv_audio}, {audio_track})");
}

TEST(PipelineErrors, BadLaunchNamesLaunchLine) {
  expect_error_prefix("# header\n[pipeline broken]\ntrigger = publish\n\nlaunch = fakesrc ! nosuchelement ! fakesink\n",
                      5, "pipeline \"broken\": ");
  TempDir dir;
  auto r = load_one(dir, "[pipeline broken]\nlaunch = fakesrc ! nosuchelement ! fakesink\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("nosuchelement"), std::string::npos) << r.error().message;
}

TEST(PipelineErrors, RecoverableParseErrorIsFatal) {
  // A property that does not exist is only a "recoverable" error for gst_parse_launch.
  expect_error_prefix("[pipeline p]\nlaunch = fakesrc no_such_property=1 ! fakesink\n", 2, "pipeline \"p\": ");
}

TEST(PipelineErrors, DuplicateNamesAcrossFiles) {
  TempDir dir;
  std::string pdir = dir.subdir("pipelines.d");
  std::string a = dir.write("pipelines.d/a.conf", "[pipeline same]\nlaunch = fakesrc ! fakesink\n");
  std::string b = dir.write("pipelines.d/b.conf",
                            "\n[pipeline other]\nlaunch = fakesrc ! fakesink\n"
                            "[pipeline same]\nlaunch = fakesrc ! fakesink\n");
  auto r = load("", pdir, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, b + ":4: duplicate pipeline \"same\" (first defined at " + a + ":1)");
}

TEST(PipelineErrors, DuplicateNameInOneFile) {
  expect_error("[pipeline same]\nlaunch = fakesrc ! fakesink\n[pipeline same]\nlaunch = fakesrc ! fakesink\n", 3,
               "duplicate group [pipeline same] (first on line 1)");
}

TEST(PipelineErrors, FlvOutputNeedsSink) {
  expect_error("[pipeline f]\noutput = flv\nlaunch = fakesrc ! fakesink name=out\n", 3,
               "pipeline \"f\": output \"flv\" needs an element named \"sink\" in the launch line "
               "(e.g. \"... ! appsink name=sink\")");
  // A custom pipeline does not need one.
  TempDir dir;
  EXPECT_TRUE(load_one(dir, "[pipeline c]\nlaunch = fakesrc ! fakesink name=out\n").ok());
}

TEST(PipelineErrors, FlvSingleElementNamedSink) {
  TempDir dir;
  auto r = load_one(dir, "[pipeline f]\noutput = flv\nlaunch = fakesink name=sink\n");
  EXPECT_TRUE(r.ok()) << r.error().message;
}

TEST(PipelineErrors, UnknownOutputAndTrigger) {
  expect_error("[pipeline p]\noutput = fvl\nlaunch = fakesrc ! fakesink\n", 2,
               "pipeline \"p\": output: value \"fvl\" is not a known output (flv, ts, hls, cmaf, dvr, transcode, or "
               "empty for a custom pipeline)");
  expect_error("[pipeline p]\ntrigger = on_publish\nlaunch = fakesrc ! fakesink\n", 2,
               "pipeline \"p\": trigger: value \"on_publish\" is not one of publish, demand, always");
}

TEST(PipelineErrors, UnknownKeyGroupAndName) {
  expect_error(
      "[pipeline p]\nlaunch = fakesrc ! fakesink\nlanuch = x\n", 3,
      "pipeline \"p\": unknown key \"lanuch\" (known: match, trigger, output, launch, video, audio, audio_extra)");
  expect_error("[pipelines p]\nlaunch = fakesrc ! fakesink\n", 1,
               "unknown group [pipelines p] (expected [pipeline NAME])");
  expect_error("[rtmp]\nport = 1\n", 1, "unknown group [rtmp] (expected [pipeline NAME])");
  expect_error("[pipeline]\nlaunch = fakesrc ! fakesink\n", 1,
               "invalid pipeline name \"\" in [pipeline] (use letters, digits, '_', '-', '.')");
  expect_error("[pipeline a/b]\nlaunch = fakesrc ! fakesink\n", 1,
               "invalid pipeline name \"a/b\" in [pipeline a/b] (use letters, digits, '_', '-', '.')");
}

TEST(PipelineErrors, MissingLaunch) {
  expect_error("[pipeline p]\nmatch = live/*\n", 1, "pipeline \"p\": missing or empty required key \"launch\"");
  expect_error("[pipeline p]\nlaunch =\n", 2, "pipeline \"p\": missing or empty required key \"launch\"");
}

TEST(PipelineErrors, MatchPatternThatNeverMatches) {
  expect_error("[pipeline p]\nmatch = live\nlaunch = fakesrc ! fakesink\n", 2,
               "pipeline \"p\": match pattern \"live\" can never match \"app/stream\" (e.g. \"live/*\")");
}

TEST(PipelineErrors, SyntaxErrorInPipelineFile) {
  expect_error_prefix("[pipeline p]\nlaunch = fakesrc ! fakesink\nfakesrc ! fakesink\n", 3, "syntax error");
}

TEST(PipelineErrors, MissingDirectory) {
  auto r = load("", "/nonexistent/pipelines.d", {});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(starts_with(r.error().message, "/nonexistent/pipelines.d: cannot open pipelines directory"))
      << r.error().message;
}

TEST(Pipelines, EmptyDirectory) {
  TempDir dir;
  auto r = load("", dir.subdir("empty"), {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->pipelines.empty());
}

}  // namespace
}  // namespace estuary::config
