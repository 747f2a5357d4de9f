// Owns: the pipelines of one pulled source: a reader (source element, demuxer/depayloader, parsers,
// one appsink per track) and a publisher (one appsrc per track into `estuarysink stream=app/name`).
//
// Why two pipelines: the bus sink declares a stream ready once every requested track has caps, so
// the set of tracks must be fixed before the first one gets caps; demuxers add pads one by one. The
// reader's tracks are collected until its demuxer says it has no more pads (or a short timeout),
// then the publisher is built with exactly those tracks and the buffers held meanwhile are pushed.
// The split also lets a file loop: each pass is a fresh reader, while the publisher (and so the
// stream) stays up; timestamps are carried as absolute clock times, so passes follow each other.
//
// Threads: construction, start/stop, bus callbacks and polling run on the control thread (the
// thread-default main context); appsink callbacks and pad-added run on streaming threads and touch
// only the shared track table, under its mutex.
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/gobject_ptr.h"
#include "common/result.h"
#include "pipelines/managed_pipeline.h"
#include "pipelines/pull_url.h"

namespace estuary::pipelines {

struct PullIngestSettings {
  std::string stream;  // app/name on the stream bus
  std::string url;     // pulled URL, or
  std::string launch;  // a complete launch line ending in estuarysink (run as is)
  PullOptions options;
  bool loop = true;  // file:// starts over at its end
  uint64_t gop_cache_max_bytes = 32u << 20;
  int tracks_timeout_ms = 3000;  // tracks are fixed this long after the first appeared
  // Live sources: each reader's first buffer is published at the clock's now (after the last one
  // published), whatever the source's own timestamps, so a new reader (switch_url) continues the
  // stream's timeline without going back in time.
  bool rebase_live = false;
};

class PullIngest {
 public:
  explicit PullIngest(PullIngestSettings settings);
  ~PullIngest();
  PullIngest(const PullIngest&) = delete;
  PullIngest& operator=(const PullIngest&) = delete;

  // on_element_message gets the publisher's messages ("estuary-stream-ready"); on_error any fatal
  // error of either pipeline; on_eos the end of a live source (or of a file that does not loop).
  void set_events(PipelineEvents events) { events_ = std::move(events); }
  Status start();
  void stop();
  // Replaces the reader with one of `url` while the publisher (and so the stream on the bus, with
  // its subscribers) stays: a failover. The tracks stay those committed; the new reader feeds them.
  Status switch_url(const std::string& url);

  // Bytes published on the bus so far, and how long no new bytes arrived (since start when none).
  // Call from the control thread; cheap enough for a watchdog tick.
  uint64_t bytes();
  int64_t idle_ms();
  int passes() const { return passes_; }  // file passes started (1 + loops)

  struct Shared;  // track table shared with streaming threads (implementation detail)

 private:
  Status start_reader();
  void commit_tracks();
  void on_reader_message(const GstStructure* s);
  static gboolean on_tick(gpointer self);
  static gboolean on_restart(gpointer self);

  PullIngestSettings settings_;
  PipelineEvents events_;
  ReaderPlan plan_;
  std::shared_ptr<Shared> shared_;
  std::unique_ptr<ManagedPipeline> reader_;
  std::unique_ptr<ManagedPipeline> publisher_;
  SourceGuard tick_;
  SourceGuard restart_;
  int64_t started_us_ = 0;
  int64_t last_change_us_ = 0;
  uint64_t last_bytes_ = 0;
  int passes_ = 0;
  bool stopped_ = false;
};

}  // namespace estuary::pipelines
