// Owns: one GStreamer pipeline's lifecycle for the supervisor: build from launch syntax (or adopt a
// built one), explicit state, and bus messages turned into callbacks on the main loop thread.
// Streaming threads never see this object. The bus has no watch (a watch is one more descriptor in
// the control thread's poll per pipeline): a sync handler keeps only errors, EOS and element messages,
// queues them in an inbox and wakes the thread-default main context of the thread that called start()
// (the control thread) with a one-shot source; every other message is dropped where it is posted.
#pragma once

#include <gst/gst.h>

#include <functional>
#include <memory>
#include <string>

#include "common/gobject_ptr.h"
#include "common/result.h"

namespace estuary::pipelines {

enum class PipelineState { idle, running, failed, stopped };
const char* pipeline_state_name(PipelineState s);

struct PipelineEvents {
  // A fatal error; the pipeline is already in state failed when this runs (it may be destroyed here).
  std::function<void(const std::string& element, const std::string& message)> on_error;
  std::function<void()> on_eos;
  // Element messages (e.g. "estuary-stream-ready" from the bus sink).
  std::function<void(const GstStructure* s)> on_element_message;
};

class ManagedPipeline {
 public:
  // Parses launch syntax with fatal errors (a half-built pipeline is an error).
  static Result<std::unique_ptr<ManagedPipeline>> from_launch(std::string name, const std::string& launch);
  // Adopts a pipeline built in code (takes the caller's reference; floating refs are sunk).
  static std::unique_ptr<ManagedPipeline> adopt(std::string name, GstElement* pipeline);

  ~ManagedPipeline();
  ManagedPipeline(const ManagedPipeline&) = delete;
  ManagedPipeline& operator=(const ManagedPipeline&) = delete;

  void set_events(PipelineEvents events) { events_ = std::move(events); }
  Status start();
  void stop();

  PipelineState state() const { return state_; }
  const std::string& name() const { return name_; }
  GstElement* pipeline() const { return pipeline_.get(); }
  // Element by name inside the pipeline (added reference), or empty.
  Ref<GstElement> element(const char* name) const;
  // Running time of the pipeline now (0 before start).
  GstClockTime running_time() const;

 private:
  ManagedPipeline(std::string name, Ref<GstElement> pipeline);
  struct Inbox;
  static GstBusSyncReply on_bus_sync(GstBus* bus, GstMessage* msg, gpointer inbox);
  static gboolean drain_inbox(gpointer inbox);
  void handle_message(GstMessage* msg);
  void detach_inbox();

  std::string name_;
  Ref<GstElement> pipeline_;
  std::shared_ptr<Inbox> inbox_;  // its owner pointer is cleared (control thread) before this goes away
  PipelineState state_ = PipelineState::idle;
  PipelineEvents events_;
};

}  // namespace estuary::pipelines
