// Owns: ingest pipeline events → supervisor (see ingest_events.h).
#include "server/control/ingest_events.h"

#include "common/control_thread.h"
#include "common/gobject_ptr.h"
#include "server/control/ports.h"

namespace estuary::server {

pipelines::PipelineEvents ingest_events(PublishPort& publish, std::string client_id, std::weak_ptr<bool> alive,
                                        std::function<void(const std::string& reason)> on_ended) {
  pipelines::PipelineEvents ev;
  ev.on_element_message = [&publish, client_id, alive](const GstStructure* s) {
    if (alive.expired() || !gst_structure_has_name(s, "estuary-stream-ready")) return;
    GstCaps* video = nullptr;
    GstCaps* audio = nullptr;
    gst_structure_get(s, "video-caps", GST_TYPE_CAPS, &video, nullptr);
    gst_structure_get(s, "audio-caps", GST_TYPE_CAPS, &audio, nullptr);
    Ref<GstCaps> v = Ref<GstCaps>::adopt(video), a = Ref<GstCaps>::adopt(audio);
    publish.publish_ready(client_id, v.get(), a.get());
  };
  auto ended = std::make_shared<std::function<void(const std::string&)>>(std::move(on_ended));
  ev.on_error = [alive, ended](const std::string& element, const std::string& message) {
    post_to_control([alive, ended, element, message]() {
      if (!alive.expired() && *ended) (*ended)("ingest failed: " + element + ": " + message);
    });
  };
  ev.on_eos = [alive, ended]() {
    post_to_control([alive, ended]() {
      if (!alive.expired() && *ended) (*ended)("ingest ended (end of stream)");
    });
  };
  return ev;
}

}  // namespace estuary::server
