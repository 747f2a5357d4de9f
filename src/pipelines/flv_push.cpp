// Owns: the enhanced FLV push (see flv_push.h).
#include "pipelines/flv_push.h"

#include <gst/app/gstappsrc.h>

#include <cstring>

#include "pipelines/flv_writer.h"
#include "pipelines/stream_bus.h"

namespace estuary::pipelines {
namespace {

// Feeds the writer's tags to the sender's appsrc (on the writer's streaming thread). The FLV file
// header is not a tag and is left out; headers (onMetaData, sequence starts) go first as tags.
class AppsrcTagSink final : public FlvTagSink {
 public:
  explicit AppsrcTagSink(Ref<GstElement> feed) : feed_(std::move(feed)) {}
  void on_header(const std::vector<GstBuffer*>& header) override {
    for (GstBuffer* b : header) {
      if (gst_buffer_get_size(b) >= 3 && gst_buffer_memcmp(b, 0, "FLV", 3) == 0) continue;
      push(b);
    }
  }
  void on_tag(GstBuffer* buffer, const FlvTagView&, bool) override { push(buffer); }

 private:
  void push(GstBuffer* b) { gst_app_src_push_buffer(GST_APP_SRC(feed_.get()), gst_buffer_ref(b)); }
  Ref<GstElement> feed_;
};

}  // namespace

bool push_needs_enhanced_flv(const std::string& key, const std::string& url) {
  std::string scheme = url.substr(0, url.find(':'));
  for (char& c : scheme) c = g_ascii_tolower(c);
  if (scheme != "rtmp" && scheme != "rtmps") return false;
  const MediaCodec video = flv_codec_of_caps(bus_caps(key, "video").get());
  return video != MediaCodec::none && flv_video_needs_enhanced(video);
}

Result<FlvPush> create_flv_push(const std::string& key) {
  // The tags carry their own timestamps, which rtmp2sink sends; the appsrc holds at most 16 MB when
  // the server reads slowly, then drops the oldest (the other side sees a gap, never a stall here).
  auto sender = ManagedPipeline::from_launch(
      "forward-flv:" + key,
      "appsrc name=feed caps=video/x-flv format=bytes max-bytes=16777216 leaky-type=downstream ! "
      "rtmp2sink name=sink async-connect=true");
  if (!sender) return sender.error();
  Ref<GstElement> feed = sender.value()->element("feed");
  auto writer = FlvWriterOutput::create(key, std::make_shared<AppsrcTagSink>(std::move(feed)));
  if (!writer) return writer.error();
  FlvPush out;
  out.sender = std::move(sender.value());
  out.writer = std::move(writer.value());
  return out;
}

}  // namespace estuary::pipelines
