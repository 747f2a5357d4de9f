// Owns: the output-kind registry (see output.h).
#include "server/control/output.h"

#include <map>

namespace estuary::server {
namespace {
struct Kind {
  OutputFactory factory;
  std::vector<std::string> formats;
};
std::map<std::string, Kind>& kinds() {
  static std::map<std::string, Kind> k;
  return k;
}
}  // namespace

void register_output_kind(const std::string& kind, OutputFactory factory, std::vector<std::string> formats) {
  kinds()[kind] = Kind{std::move(factory), std::move(formats)};
}

const OutputFactory* find_output_kind(const std::string& kind) {
  auto it = kinds().find(kind);
  return it == kinds().end() ? nullptr : &it->second.factory;
}

std::string output_kind_for_format(const std::string& format) {
  for (const auto& [name, kind] : kinds())
    for (const auto& f : kind.formats)
      if (f == format) return name;
  return "";
}

}  // namespace estuary::server
