// Owns: the pipelines.d reload diff (see pipeline_reload.h).
#include "server/control/pipeline_reload.h"

namespace estuary::server {
namespace {

const config::PipelineSpec* find(const std::vector<config::PipelineSpec>& specs, const std::string& name) {
  for (const auto& s : specs)
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace

bool same_definition(const config::PipelineSpec& a, const config::PipelineSpec& b) {
  return a.name == b.name && a.match == b.match && a.trigger == b.trigger && a.output == b.output &&
         a.launch == b.launch && a.video == b.video && a.audio == b.audio && a.audio_extra == b.audio_extra;
}

PipelineChanges diff_pipelines(const std::vector<config::PipelineSpec>& before,
                               const std::vector<config::PipelineSpec>& after) {
  PipelineChanges out;
  for (const auto& b : before) {
    const config::PipelineSpec* a = find(after, b.name);
    if (!a)
      out.removed.push_back(b.name);
    else if (!same_definition(*a, b))
      out.changed.push_back(b.name);
  }
  for (const auto& a : after)
    if (!find(before, a.name)) out.added.push_back(a.name);
  return out;
}

}  // namespace estuary::server
