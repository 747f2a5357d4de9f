// Owns: the rendition index (see renditions.h).
#include "server/control/renditions.h"

#include <map>

namespace estuary::server {
namespace {

// source key -> pipeline name -> renditions (several ladders may read one source).
std::map<std::string, std::map<std::string, std::vector<RenditionInfo>>>& index() {
  static std::map<std::string, std::map<std::string, std::vector<RenditionInfo>>> i;
  return i;
}

}  // namespace

void set_renditions(const std::string& source_key, const std::string& pipeline, std::vector<RenditionInfo> list) {
  index()[source_key][pipeline] = std::move(list);
}

void clear_renditions(const std::string& source_key, const std::string& pipeline) {
  auto it = index().find(source_key);
  if (it == index().end()) return;
  it->second.erase(pipeline);
  if (it->second.empty()) index().erase(it);
}

std::vector<RenditionInfo> renditions_of(const std::string& source_key) {
  std::vector<RenditionInfo> out;
  auto it = index().find(source_key);
  if (it == index().end()) return out;
  for (const auto& [name, list] : it->second) out.insert(out.end(), list.begin(), list.end());
  return out;
}

std::vector<std::string> ladder_of(const std::string& key) {
  for (const auto& [source, pipelines] : index()) {
    std::vector<std::string> out{source};
    bool member = source == key;
    for (const auto& [name, list] : pipelines)
      for (const auto& r : list) {
        out.push_back(r.key);
        member = member || r.key == key;
      }
    if (member) return out;
  }
  return {};
}

}  // namespace estuary::server
