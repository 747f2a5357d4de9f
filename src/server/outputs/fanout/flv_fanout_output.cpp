// Owns: the FLV fan-out output (see flv_fanout_output.h).
#include "server/outputs/fanout/flv_fanout_output.h"

#include <atomic>
#include <memory>
#include <mutex>

#include "common/log.h"
#include "pipelines/flv_output.h"
#include "pipelines/flv_writer.h"
#include "pipelines/flv_writer_output.h"
#include "pipelines/gst_payload.h"
#include "pipelines/stream_bus.h"
#include "server/control/output.h"
#include "server/outputs/fanout/muxed_fanout_output.h"
#include "server/protocols/rtmp/chunk.h"

namespace estuary::server {
namespace {

// The shared play stream uses fixed chunk streams and message stream 1 (what createStream returns),
// so the same bytes are valid for every player.
constexpr uint32_t play_message_stream = 1;

uint32_t csid_for(uint8_t type) {
  return type == pipelines::flv_audio   ? rtmp::csid::audio
         : type == pipelines::flv_video ? rtmp::csid::video
                                        : rtmp::csid::data;
}

// Shared between the output (control thread) and the appsink callbacks (streaming thread).
struct Channels {
  fanout::ChannelPtr flv;
  fanout::ChannelPtr rtmp;
  uint32_t chunk_size = 60000;
};

fanout::PayloadPtr rtmp_message(const Channels& ch, const pipelines::FlvTagView& tag) {
  return fanout::make_payload(rtmp::encode_message(csid_for(tag.type), tag.type, tag.timestamp_ms, play_message_stream,
                                                   tag.body, tag.body_size, ch.chunk_size));
}

class TagSink final : public pipelines::FlvTagSink {
 public:
  TagSink(std::shared_ptr<Channels> channels, std::function<void()> on_first_header)
      : channels_(std::move(channels)), on_first_header_(std::move(on_first_header)) {}

  void on_header(const std::vector<GstBuffer*>& header) override {
    std::vector<fanout::PayloadPtr> flv, rtmp;
    for (GstBuffer* b : header) {
      flv.push_back(pipelines::make_gst_payload(b));
      GstMapInfo map;
      if (!gst_buffer_map(b, &map, GST_MAP_READ)) continue;
      std::vector<pipelines::FlvTagView> tags;
      // The first header buffer is the FLV file header (no tag); the others are tags.
      if (pipelines::parse_flv_tags(map.data, map.size, tags))
        for (const auto& t : tags) rtmp.push_back(rtmp_message(*channels_, t));
      gst_buffer_unmap(b, &map);
    }
    channels_->flv->set_header(std::move(flv));
    channels_->rtmp->set_header(std::move(rtmp));
    if (!announced_.exchange(true)) on_first_header_();
  }

  void on_tag(GstBuffer* buffer, const pipelines::FlvTagView& tag, bool keyframe) override {
    fanout::Packet flv{pipelines::make_gst_payload(buffer), keyframe, int64_t(tag.timestamp_ms)};
    flv.video = tag.type == pipelines::flv_video;  // sets the pace of batched writes
    fanout::Packet rtmp = flv;
    rtmp.payload = rtmp_message(*channels_, tag);
    channels_->flv->push(std::move(flv));
    channels_->rtmp->push(std::move(rtmp));
  }

 private:
  std::shared_ptr<Channels> channels_;
  std::function<void()> on_first_header_;
  std::atomic<bool> announced_{false};
};

class FlvFanoutOutput final : public MuxedFanoutOutput {
 public:
  explicit FlvFanoutOutput(OutputContext ctx) : MuxedFanoutOutput(std::move(ctx)) {}
  ~FlvFanoutOutput() override { stop(); }

 private:
  Result<pipelines::ManagedPipeline*> build(const std::string& name, const fanout::ChannelLimits& limits,
                                            std::function<void()> announce) override {
    auto channels = std::make_shared<Channels>();
    channels->flv = fanout::Channel::create(name + ".flv", limits);
    channels->rtmp = fanout::Channel::create(name + ".rtmp", limits);
    channels->chunk_size = uint32_t(context().config->rtmp.chunk_size);
    add_channel(channels->flv, {"flv"});
    add_channel(channels->rtmp, {"rtmp"});
    auto sink = std::make_shared<TagSink>(channels, announce);
    // Estuary writes the FLV itself (one streaming thread, no muxer, tags not re-parsed) whenever the
    // stream's tracks fit as they are: H.264 as legacy AVC tags, H.265/AV1/VP9 in enhanced RTMP form,
    // AAC (and Opus beside enhanced video). The spec's flvmux launch line is for the rest: audio that
    // must be re-encoded to AAC first (Opus or 48 kHz MP3 beside H.264), audio-only streams.
    const std::string key = context().app + "/" + context().stream;
    const auto tracks = pipelines::FlvTracks::of(key, context().audio_track);
    const pipelines::MediaCodec video = tracks.video;
    const bool needs_enhanced = video != pipelines::MediaCodec::none && pipelines::flv_video_needs_enhanced(video);
    if (needs_enhanced || tracks.writable()) {
      auto written = pipelines::FlvWriterOutput::create(key, tracks, sink, context().audio_track);
      if (!written) return written.error();
      log_info(key, "", "flv-writer",
               std::string("FLV and RTMP play of ") + pipelines::media_codec_name(video) +
                   (needs_enhanced ? " in enhanced RTMP form" : " in legacy FLV form") + ", written by Estuary");
      written_ = std::move(written.value());
      return &written_->pipeline();
    }
    auto built = pipelines::FlvOutput::create(name, context().launch, sink);
    if (!built) return built.error();
    output_ = std::move(built.value());
    return &output_->pipeline();
  }

  void release() override {
    output_.reset();
    written_.reset();
  }

  std::unique_ptr<pipelines::FlvOutput> output_;  // flvmux, for audio re-encoded to AAC
  std::unique_ptr<pipelines::FlvWriterOutput> written_;
};

}  // namespace

void register_flv_fanout_output() {
  register_output_kind("flv",
                       [](OutputContext ctx) -> Result<std::unique_ptr<Output>> {
                         return std::unique_ptr<Output>(new FlvFanoutOutput(std::move(ctx)));
                       },
                       {"flv", "rtmp"});
}

}  // namespace estuary::server
