// Owns: the plumbing every muxed output shares (FLV, TS): a pipeline from a launch line whose appsink
// named "sink" hands each sample to our callback on the streaming thread, unsynchronised and unbounded
// (the fan-out bounds what each viewer may lag), with caller state freed by the appsink itself.
#pragma once

#include <gst/app/gstappsink.h>

#include <memory>
#include <string>

#include "common/result.h"
#include "pipelines/managed_pipeline.h"

namespace estuary::pipelines {

struct AppsinkHandlers {
  GstFlowReturn (*new_sample)(GstAppSink* sink, gpointer state) = nullptr;
  // Optional: sees the events reaching the appsink's pad (it borrows `state`: the appsink that owns
  // the state outlives its own pad's probes).
  GstPadProbeCallback sink_event = nullptr;
};

// Builds the pipeline (label "KIND:STREAM") and wires the handlers; takes ownership of `state`, freed
// with `free_state` when the appsink goes (also on error). Errors: the launch line does not parse, or
// has no appsink named "sink".
Result<std::unique_ptr<ManagedPipeline>> build_appsink_pipeline(const std::string& kind, const std::string& stream_name,
                                                                const std::string& launch, AppsinkHandlers handlers,
                                                                gpointer state, GDestroyNotify free_state);

}  // namespace estuary::pipelines
