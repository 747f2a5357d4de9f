// Owns: a fan-out Payload that references a GstBuffer (mapped read-only for its lifetime), so the
// bytes a muxer produced are shared by every viewer without a copy.
#pragma once

#include <gst/gst.h>

#include "fanout/fanout.h"

namespace estuary::pipelines {

// Adds a reference to `buffer`. offset/size select a part of it (size 0 = to the end).
fanout::PayloadPtr make_gst_payload(GstBuffer* buffer, size_t offset = 0, size_t size = 0);

}  // namespace estuary::pipelines
