// Owns: ManagedPipeline (see managed_pipeline.h).
#include "pipelines/managed_pipeline.h"

#include <utility>

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

Status ManagedPipeline::start() {
  Ref<GstBus> bus = Ref<GstBus>::adopt(gst_element_get_bus(pipeline_.get()));
  GSource* source = gst_bus_create_watch(bus.get());
  g_source_set_callback(source, G_SOURCE_FUNC(&ManagedPipeline::on_bus_message), this, nullptr);
  g_source_attach(source, g_main_context_get_thread_default());
  bus_watch_ = SourceGuard(source);
  GstStateChangeReturn ret = gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING);
  if (ret == GST_STATE_CHANGE_FAILURE) {
    // The bus usually holds the reason; read it synchronously so the caller can report it.
    std::string reason = "state change to PLAYING failed";
    while (GstMessage* msg = gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR)) {
      GError* err = nullptr;
      gst_message_parse_error(msg, &err, nullptr);
      if (err) {
        reason = std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(msg))) + ": " + err->message;
        g_error_free(err);
      }
      gst_message_unref(msg);
    }
    gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
    bus_watch_.reset();
    state_ = PipelineState::failed;
    return Error{"pipeline " + name_ + ": " + reason};
  }
  state_ = PipelineState::running;
  return ok_status();
}

void ManagedPipeline::stop() {
  bus_watch_.reset();
  if (pipeline_) gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
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

gboolean ManagedPipeline::on_bus_message(GstBus*, GstMessage* msg, gpointer self) {
  static_cast<ManagedPipeline*>(self)->handle_message(msg);
  return G_SOURCE_CONTINUE;
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
