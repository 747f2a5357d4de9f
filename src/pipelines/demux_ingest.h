// Owns: the ingest pipeline shape of the byte-stream ingests (MPEG-TS from SRT; RTMP parses its media
// itself, see flv_ingest.h): appsrc ! DEMUXER, each demuxed track through the parser its caps need into estuarysink,
// and the tracks announced up front so the bus declares the stream ready with exactly those. The caller keeps the
// appsrc to push bytes into. Control thread; the pad linking runs on the demuxer's thread.
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/gobject_ptr.h"
#include "common/result.h"
#include "pipelines/managed_pipeline.h"

namespace estuary::pipelines {

struct DemuxIngestSpec {
  std::string stream;                 // bus stream name ("app/stream")
  const char* demuxer;                // "tsdemux"
  Ref<GstCaps> caps;                  // of the appsrc
  uint64_t max_bytes = 0;             // appsrc bound
  bool drop_when_full = false;        // appsrc leaky-type upstream (drop new data) instead of relying on the caller
  bool video = false, audio = false;  // tracks to announce on the bus sink
  // Several audio tracks (MPEG-TS): the demuxer's audio pad of each PID goes to sink_1, sink_2, ... in
  // this order, with the language set on the bus track. Empty: the first audio pad goes to sink_1.
  struct AudioTrack {
    int pid = 0;
    std::string language;
  };
  std::vector<AudioTrack> audio_tracks;
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
