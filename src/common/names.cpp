// Owns: the name-component rule (see names.h).
#include "common/names.h"

#include <glib.h>

#include <algorithm>

namespace estuary {

bool is_valid_name_component(const std::string& s) {
  if (s.empty() || s.size() > 128 || s.front() == '.') return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return g_ascii_isalnum(c) || c == '_' || c == '-' || c == '.'; });
}

}  // namespace estuary
