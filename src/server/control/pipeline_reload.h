// Owns: what a configuration reload changes in pipelines.d — which pipeline specs are new, gone or
// changed. A spec is compared by what it runs (match, trigger, output, launch and track branches),
// not by where it is written, so editing a comment or moving a group to another file changes nothing.
// Must not know: streams, outputs (the supervisor applies the changes to running streams).
#pragma once

#include <string>
#include <vector>

#include "server/config/config.h"

namespace estuary::server {

struct PipelineChanges {
  std::vector<std::string> added, removed, changed;  // spec names
  bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
};

bool same_definition(const config::PipelineSpec& a, const config::PipelineSpec& b);

PipelineChanges diff_pipelines(const std::vector<config::PipelineSpec>& before,
                               const std::vector<config::PipelineSpec>& after);

}  // namespace estuary::server
