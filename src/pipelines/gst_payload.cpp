// Owns: GstBuffer-backed fan-out payloads (see gst_payload.h).
#include "pipelines/gst_payload.h"

#include <memory>

namespace estuary::pipelines {
namespace {
class GstPayload final : public fanout::Payload {
 public:
  GstPayload(GstBuffer* buffer, size_t offset, size_t size) : buffer_(gst_buffer_ref(buffer)) {
    mapped_ = gst_buffer_map(buffer_, &map_, GST_MAP_READ);
    if (mapped_) {
      offset_ = std::min(offset, map_.size);
      size_ = size == 0 ? map_.size - offset_ : std::min(size, map_.size - offset_);
    }
  }
  ~GstPayload() override {
    if (mapped_) gst_buffer_unmap(buffer_, &map_);
    gst_buffer_unref(buffer_);
  }
  const uint8_t* data() const override { return mapped_ ? map_.data + offset_ : nullptr; }
  size_t size() const override { return size_; }

 private:
  GstBuffer* buffer_;
  GstMapInfo map_{};
  bool mapped_ = false;
  size_t offset_ = 0;
  size_t size_ = 0;
};
}  // namespace

fanout::PayloadPtr make_gst_payload(GstBuffer* buffer, size_t offset, size_t size) {
  return std::make_shared<GstPayload>(buffer, offset, size);
}

}  // namespace estuary::pipelines
