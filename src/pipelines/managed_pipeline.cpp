// Owns: ManagedPipeline (see managed_pipeline.h).
#include "pipelines/managed_pipeline.h"

#include <mutex>
#include <utility>
#include <vector>

namespace estuary::pipelines {

const char* pipeline_state_name(PipelineState s) {
  switch (s) {
    case PipelineState::idle:
      return "idle";
    case PipelineState::running:
      return "running";
    case PipelineState::failed:
      return "failed";
    case PipelineState::stopped:
      return "stopped";
  }
  return "unknown";
}

Result<std::unique_ptr<ManagedPipeline>> ManagedPipeline::from_launch(std::string name, const std::string& launch) {
  GError* err = nullptr;
  GstElement* element = gst_parse_launch_full(launch.c_str(), nullptr, GST_PARSE_FLAG_FATAL_ERRORS, &err);
  if (err) {
    std::string message = err->message;
    g_error_free(err);
    if (element) gst_object_unref(element);
    return Error{"pipeline " + name + ": " + message};
  }
  if (!element) return Error{"pipeline " + name + ": launch line produced nothing"};
  if (!GST_IS_PIPELINE(element)) {
    // A single element: wrap it so it has a bus and a clock.
    GstElement* bin = gst_pipeline_new(nullptr);
    gst_bin_add(GST_BIN(bin), element);
    element = bin;
  }
  return adopt(std::move(name), element);
}

std::unique_ptr<ManagedPipeline> ManagedPipeline::adopt(std::string name, GstElement* pipeline) {
  // gst_parse_launch returns a floating reference: sink it so we own exactly one reference.
  if (g_object_is_floating(pipeline)) gst_object_ref_sink(pipeline);
  Ref<GstElement> ref = Ref<GstElement>::adopt(pipeline);
  return std::unique_ptr<ManagedPipeline>(new ManagedPipeline(std::move(name), std::move(ref)));
}

ManagedPipeline::ManagedPipeline(std::string name, Ref<GstElement> pipeline)
    : name_(std::move(name)), pipeline_(std::move(pipeline)) {}

ManagedPipeline::~ManagedPipeline() { stop(); }

// Messages kept for the control thread, shared by the bus's sync handler (any thread) and the
// one-shot source that drains them (the control thread).
struct ManagedPipeline::Inbox {
  explicit Inbox(ManagedPipeline* o) : context(g_main_context_ref_thread_default()), owner(o) {}
  ~Inbox() {
    for (GstMessage* m : messages) gst_message_unref(m);
    g_main_context_unref(context);
  }
  GMainContext* context;
  ManagedPipeline* owner;  // control thread only; nullptr once the pipeline stopped
  std::mutex mutex;
  std::vector<GstMessage*> messages;  // under mutex
  bool scheduled = false;             // under mutex: a drain source is attached
};

GstBusSyncReply ManagedPipeline::on_bus_sync(GstBus*, GstMessage* msg, gpointer data) {
  const GstMessageType type = GST_MESSAGE_TYPE(msg);
  if (type != GST_MESSAGE_ERROR && type != GST_MESSAGE_EOS && type != GST_MESSAGE_ELEMENT) return GST_BUS_DROP;
  const std::shared_ptr<Inbox>& inbox = *static_cast<std::shared_ptr<Inbox>*>(data);
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(inbox->mutex);
    inbox->messages.push_back(gst_message_ref(msg));
    wake = !inbox->scheduled;
    inbox->scheduled = true;
  }
  if (wake) {
    GSource* source = g_idle_source_new();
    g_source_set_priority(source, G_PRIORITY_DEFAULT);
    g_source_set_callback(source, &ManagedPipeline::drain_inbox, new std::shared_ptr<Inbox>(inbox),
                          [](gpointer p) { delete static_cast<std::shared_ptr<Inbox>*>(p); });
    g_source_attach(source, inbox->context);
    g_source_unref(source);
  }
  return GST_BUS_DROP;
}

gboolean ManagedPipeline::drain_inbox(gpointer data) {
  std::shared_ptr<Inbox> inbox = *static_cast<std::shared_ptr<Inbox>*>(data);
  std::vector<GstMessage*> messages;
  {
    std::lock_guard<std::mutex> lock(inbox->mutex);
    messages.swap(inbox->messages);
    inbox->scheduled = false;
  }
  for (GstMessage* m : messages) {
    // A handler may stop or destroy the pipeline: its owner pointer is cleared then.
    if (inbox->owner) inbox->owner->handle_message(m);
    gst_message_unref(m);
  }
  return G_SOURCE_REMOVE;
}

Status ManagedPipeline::start() {
  Ref<GstBus> bus = Ref<GstBus>::adopt(gst_element_get_bus(pipeline_.get()));
  if (!inbox_) {
    inbox_ = std::make_shared<Inbox>(this);
    gst_bus_set_sync_handler(bus.get(), &ManagedPipeline::on_bus_sync, new std::shared_ptr<Inbox>(inbox_),
                             [](gpointer p) { delete static_cast<std::shared_ptr<Inbox>*>(p); });
  }
  GstStateChangeReturn ret = gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING);
  if (ret == GST_STATE_CHANGE_FAILURE) {
    // The inbox usually holds the reason; read it now so the caller can report it.
    std::string reason = "state change to PLAYING failed";
    {
      std::lock_guard<std::mutex> lock(inbox_->mutex);
      for (GstMessage* msg : inbox_->messages) {
        if (GST_MESSAGE_TYPE(msg) != GST_MESSAGE_ERROR) continue;
        GError* err = nullptr;
        gst_message_parse_error(msg, &err, nullptr);
        if (err) {
          reason = std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(msg))) + ": " + err->message;
          g_error_free(err);
        }
      }
    }
    gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
    detach_inbox();
    state_ = PipelineState::failed;
    return Error{"pipeline " + name_ + ": " + reason};
  }
  state_ = PipelineState::running;
  return ok_status();
}

void ManagedPipeline::detach_inbox() {
  if (!inbox_) return;
  inbox_->owner = nullptr;  // queued messages are dropped unread
  Ref<GstBus> bus = Ref<GstBus>::adopt(gst_element_get_bus(pipeline_.get()));
  gst_bus_set_sync_handler(bus.get(), nullptr, nullptr, nullptr);
  inbox_.reset();
}

void ManagedPipeline::stop() {
  if (inbox_) inbox_->owner = nullptr;  // no callbacks from the shutdown's own messages
  if (pipeline_) gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
  detach_inbox();
  if (state_ == PipelineState::running) state_ = PipelineState::stopped;
}

Ref<GstElement> ManagedPipeline::element(const char* name) const {
  return Ref<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline_.get()), name));
}

GstClockTime ManagedPipeline::running_time() const {
  GstClock* clock = gst_element_get_clock(pipeline_.get());
  if (!clock) return 0;
  GstClockTime now = gst_clock_get_time(clock);
  gst_object_unref(clock);
  GstClockTime base = gst_element_get_base_time(pipeline_.get());
  return now > base ? now - base : 0;
}

void ManagedPipeline::handle_message(GstMessage* msg) {
  switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_ERROR: {
      if (state_ != PipelineState::running) return;
      GError* err = nullptr;
      gchar* debug = nullptr;
      gst_message_parse_error(msg, &err, &debug);
      std::string element = GST_MESSAGE_SRC(msg) ? GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)) : "?";
      std::string message = err ? err->message : "unknown error";
      if (err) g_error_free(err);
      g_free(debug);
      state_ = PipelineState::failed;
      if (events_.on_error) events_.on_error(element, message);  // may destroy this object: return at once
      return;
    }
    case GST_MESSAGE_EOS:
      if (events_.on_eos) events_.on_eos();
      return;
    case GST_MESSAGE_ELEMENT:
      if (events_.on_element_message && gst_message_get_structure(msg))
        events_.on_element_message(gst_message_get_structure(msg));
      return;
    default:
      return;
  }
}

}  // namespace estuary::pipelines
