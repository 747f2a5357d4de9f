// Owns: appsink-terminated output pipelines (see appsink_pipeline.h).
#include "pipelines/appsink_pipeline.h"

namespace estuary::pipelines {

Result<std::unique_ptr<ManagedPipeline>> build_appsink_pipeline(const std::string& kind, const std::string& stream_name,
                                                                const std::string& launch, AppsinkHandlers handlers,
                                                                gpointer state, GDestroyNotify free_state) {
  auto built = ManagedPipeline::from_launch(kind + ":" + stream_name, launch);
  if (!built) {
    free_state(state);
    return built.error();
  }
  Ref<GstElement> appsink = built.value()->element("sink");
  if (!appsink || !GST_IS_APP_SINK(appsink.get())) {
    free_state(state);
    return Error{kind + " output " + stream_name + ": launch line has no appsink named \"sink\"", ErrorReason::invalid,
                 "pipelines"};
  }
  // buffer-list=false: mpegtsmux pushes buffer lists, which appsink then hands over one buffer at a time.
  g_object_set(appsink.get(), "sync", FALSE, "max-buffers", 0u, "drop", FALSE, "buffer-list", FALSE, nullptr);
  if (handlers.sink_event) {
    Ref<GstPad> pad = Ref<GstPad>::adopt(gst_element_get_static_pad(appsink.get(), "sink"));
    gst_pad_add_probe(pad.get(), GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, handlers.sink_event, state, nullptr);
  }
  GstAppSinkCallbacks callbacks{};
  callbacks.new_sample = handlers.new_sample;
  gst_app_sink_set_callbacks(GST_APP_SINK(appsink.get()), &callbacks, state, free_state);
  return std::move(built.value());
}

}  // namespace estuary::pipelines
