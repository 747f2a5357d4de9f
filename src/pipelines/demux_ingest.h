// Owns: the ingest pipeline shape shared by the byte-stream ingests (FLV tags from RTMP, MPEG-TS from
// SRT): appsrc ! DEMUXER, each demuxed track through the parser its caps need into estuarysink, and
// the tracks announced up front so the bus declares the stream ready with exactly those. The caller
// keeps the appsrc to push bytes into. Control thread; the pad linking runs on the demuxer's thread.
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/gobject_ptr.h"
#include "common/result.h"
#include "pipelines/managed_pipeline.h"

namespace estuary::pipelines {

struct DemuxIngestSpec {
  std::string stream;                 // bus stream name ("app/stream")
  const char* demuxer;                // "flvdemux", "tsdemux"
  Ref<GstCaps> caps;                  // of the appsrc
  uint64_t max_bytes = 0;             // appsrc bound
  bool drop_when_full = false;        // appsrc leaky-type upstream (drop new data) instead of relying on the caller
  bool video = false, audio = false;  // tracks to announce on the bus sink
  // A track whose codec has no parser here: passed through unparsed (FLV's legacy codecs) rather
  // than discarded into a fakesink (TS streams we do not publish).
  bool pass_unknown_codecs = false;
  uint64_t gop_cache_max_bytes = 0;
  PipelineEvents events;
};

struct DemuxIngest {
  std::unique_ptr<ManagedPipeline> pipeline;
  Ref<GstElement> appsrc;
};

// Builds and starts the pipeline. Errors: a missing element, or the pipeline would not start.
Result<DemuxIngest> start_demux_ingest(const DemuxIngestSpec& spec);

}  // namespace estuary::pipelines
