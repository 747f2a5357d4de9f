// Owns: tests that the shipped pipelines.d files parse and validate with our own elements, and that
// each shipped output pipeline equals the built-in one the server uses when no file is present.
#include <gst/gst.h>
#include <gtest/gtest.h>

#include "pipelines/stream_bus.h"
#include "server/config/config.h"
#include "server/control/builtin_pipelines.h"

namespace {

std::string source_root() {
  const char* v = g_getenv("ESTUARY_SOURCE_ROOT");
  return v ? v : ".";
}

TEST(ShippedPipelines, EveryFileValidates) {
  auto cfg = estuary::config::load("", source_root() + "/pipelines.d", {});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_FALSE(cfg->pipelines.empty());
  bool has_flv = false;
  for (const auto& spec : cfg->pipelines) has_flv |= spec.output == "flv";
  EXPECT_TRUE(has_flv) << "pipelines.d must describe the built-in FLV output";
}

TEST(ShippedPipelines, ShippedOutputsEqualBuiltIns) {
  auto cfg = estuary::config::load("", source_root() + "/pipelines.d", {});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  for (const auto& spec : cfg->pipelines) {
    if (spec.output.empty()) continue;
    const estuary::config::PipelineSpec* builtin = estuary::server::builtin_output_spec(spec.output);
    ASSERT_NE(builtin, nullptr) << "no built-in spec for output " << spec.output;
    EXPECT_EQ(builtin->launch, spec.launch) << spec.file;
    EXPECT_EQ(builtin->video, spec.video) << spec.file;
    EXPECT_EQ(builtin->audio, spec.audio) << spec.file;
    EXPECT_EQ(builtin->match, spec.match) << spec.file;
    EXPECT_EQ(builtin->trigger, spec.trigger) << spec.file;
    EXPECT_EQ(builtin->name, spec.name) << spec.file;
  }
}

TEST(ShippedPipelines, ShippedServerConfigLoadsWithPipelines) {
  auto cfg = estuary::config::load(source_root() + "/conf/estuary.conf", source_root() + "/pipelines.d", {});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
}

}  // namespace
