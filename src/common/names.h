// Owns: the rule for app and stream name components ("live", "cam_1.hd"): letters, digits, '_', '-',
// '.', not starting with '.', at most 128 characters. Every protocol checks names with it before a
// name reaches a launch line, a file path or a log.
#pragma once

#include <string>

namespace estuary {

bool is_valid_name_component(const std::string& s);

}  // namespace estuary
