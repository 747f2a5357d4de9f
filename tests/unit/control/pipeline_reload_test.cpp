// The pipelines.d reload diff: a spec is changed when what it runs changes (launch, branches, match,
// trigger, output), not when only its file or line moves; added and removed specs by name.
#include "server/control/pipeline_reload.h"

#include <gtest/gtest.h>

using namespace estuary;
using namespace estuary::server;

namespace {

config::PipelineSpec spec(const std::string& name, const std::string& launch) {
  config::PipelineSpec s;
  s.name = name;
  s.file = "/etc/estuary/pipelines.d/" + name + ".conf";
  s.line = 1;
  s.match = {"live/*"};
  s.output = "transcode";
  s.launch = launch;
  s.video = "src.video ! queue ! out.";
  return s;
}

TEST(PipelineReloadDiff, ChangedAddedRemovedByWhatTheyRun) {
  std::vector<config::PipelineSpec> before = {spec("ladder", "a"), spec("mini", "b"), spec("gone", "c")};
  std::vector<config::PipelineSpec> after = {spec("ladder", "a"), spec("mini", "b"), spec("new", "d")};
  after[0].video = "src.video ! queue ! @h264enc bitrate=1500 ! out.";  // the ladder's bitrate
  after[1].file = "/etc/estuary/pipelines.d/other.conf";                // moved, same definition
  after[1].line = 12;
  PipelineChanges c = diff_pipelines(before, after);
  EXPECT_EQ(c.changed, std::vector<std::string>{"ladder"});
  EXPECT_EQ(c.added, std::vector<std::string>{"new"});
  EXPECT_EQ(c.removed, std::vector<std::string>{"gone"});
  EXPECT_FALSE(c.empty());
  EXPECT_TRUE(diff_pipelines(before, before).empty());
  auto retrigger = before;
  retrigger[1].trigger = config::Trigger::on_demand;
  EXPECT_EQ(diff_pipelines(before, retrigger).changed, std::vector<std::string>{"mini"});
  auto rematch = before;
  rematch[2].match = {"live/x"};
  EXPECT_EQ(diff_pipelines(before, rematch).changed, std::vector<std::string>{"gone"});
}

}  // namespace
