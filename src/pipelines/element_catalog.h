// Owns: what launch lines can use, read from the process's GStreamer registry: the element list
// (`estuary --list-elements`), one element's description (`estuary --inspect NAME`: plugin and
// its file, pads and caps, properties), and the property names of a factory (for checking the
// encoder property mappings against the real element).
// Must not know: the config file, the server.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace estuary::pipelines {

// One line per element factory, sorted by name: "name  plugin  klass  — description". Elements of
// plugins registered in-process (ours) say "(built in)" instead of a file; loaded ones their file.
std::string list_elements_text();

// gst-inspect-like text for one factory: long name, klass, description, plugin name, version and
// file, pad templates with caps, writable properties with type, default and blurb. not_found if
// no such element.
Result<std::string> inspect_element_text(const std::string& name);

// Names of the properties of the element a factory makes ("" and not_found if no such element).
Result<std::vector<std::string>> element_property_names(const std::string& factory);

}  // namespace estuary::pipelines
