// Test helpers for the stream bus element tests: a parsed pipeline that records its bus messages, an
// appsink collector, a harness-driven subscriber and buffer factories. Header-only, shared by
// test_streambus_harness.cpp and test_streambus_pipeline.cpp.
#pragma once

#include <gst/app/gstappsink.h>
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "estuarystreambus.h"

namespace estuary_test {

constexpr GstClockTime kMs = GST_MSECOND;

// gst_init + static registration once per process; every stream-bus test derives from this.
class StreamBusTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!gst_is_initialized()) gst_init(nullptr, nullptr);
    estuary_streambus_register_static();
  }
};

inline bool WaitUntil(const std::function<bool()>& pred, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

struct BufInfo {
  GstClockTime pts, dts;
  guint flags;
  gsize size;
  gint64 arrival_us;
  bool keyframe() const { return !(flags & GST_BUFFER_FLAG_DELTA_UNIT); }
  bool discont() const { return flags & GST_BUFFER_FLAG_DISCONT; }
};

inline BufInfo InfoOf(GstBuffer* buf) {
  return BufInfo{GST_BUFFER_PTS(buf), GST_BUFFER_DTS(buf), GST_MINI_OBJECT_FLAGS(buf), gst_buffer_get_size(buf),
                 g_get_monotonic_time()};
}

// Records everything an appsink receives. Owned by the Pipeline so it outlives the streaming threads.
class Collector {
 public:
  explicit Collector(GstElement* appsink) {
    g_object_set(appsink, "sync", FALSE, "emit-signals", FALSE, nullptr);
    GstAppSinkCallbacks cb{};
    cb.eos = [](GstAppSink*, gpointer self) {
      auto* c = static_cast<Collector*>(self);
      std::lock_guard<std::mutex> lock(c->mutex_);
      c->eos_ = true;
    };
    cb.new_sample = [](GstAppSink* sink, gpointer self) -> GstFlowReturn {
      auto* c = static_cast<Collector*>(self);
      GstSample* sample = gst_app_sink_pull_sample(sink);
      if (sample == nullptr) return GST_FLOW_OK;
      std::lock_guard<std::mutex> lock(c->mutex_);
      c->buffers_.push_back(InfoOf(gst_sample_get_buffer(sample)));
      gst_caps_replace(&c->caps_, gst_sample_get_caps(sample));
      gst_sample_unref(sample);
      return GST_FLOW_OK;
    };
    gst_app_sink_set_callbacks(GST_APP_SINK(appsink), &cb, this, nullptr);
  }
  ~Collector() { gst_clear_caps(&caps_); }

  size_t count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return buffers_.size();
  }
  std::vector<BufInfo> buffers() {
    std::lock_guard<std::mutex> lock(mutex_);
    return buffers_;
  }
  GstCaps* caps() {  // transfer full
    std::lock_guard<std::mutex> lock(mutex_);
    return caps_ ? gst_caps_ref(caps_) : nullptr;
  }
  bool eos() {
    std::lock_guard<std::mutex> lock(mutex_);
    return eos_;
  }
  bool WaitCount(size_t n, int timeout_ms) {
    return WaitUntil([&] { return count() >= n; }, timeout_ms);
  }

 private:
  std::mutex mutex_;
  std::vector<BufInfo> buffers_;
  GstCaps* caps_ = nullptr;
  bool eos_ = false;
};

// A parsed pipeline whose bus messages are recorded by a sync handler (no main loop needed).
class Pipeline {
 public:
  explicit Pipeline(const std::string& desc) {
    GError* err = nullptr;
    pipeline_ = gst_parse_launch_full(desc.c_str(), nullptr, GST_PARSE_FLAG_FATAL_ERRORS, &err);
    if (err != nullptr) {
      ADD_FAILURE() << "cannot parse '" << desc << "': " << err->message;
      g_clear_error(&err);
      gst_clear_object(&pipeline_);
    }
    if (pipeline_ != nullptr) {
      GstBus* bus = gst_element_get_bus(pipeline_);
      gst_bus_set_sync_handler(bus, &Pipeline::OnMessage, this, nullptr);
      gst_object_unref(bus);
    }
  }
  ~Pipeline() {
    if (pipeline_ != nullptr) {
      gst_element_set_state(pipeline_, GST_STATE_NULL);
      GstBus* bus = gst_element_get_bus(pipeline_);
      gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
      gst_object_unref(bus);
    }
    collectors_.clear();
    for (GstElement* e : named_) gst_object_unref(e);
    gst_clear_object(&pipeline_);
    for (GstMessage* m : messages_) gst_message_unref(m);
  }
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  bool ok() const { return pipeline_ != nullptr; }
  GstElement* get() const { return pipeline_; }
  GstElement* ByName(const char* name) {  // transfer none, valid for the pipeline's lifetime
    GstElement* e = gst_bin_get_by_name(GST_BIN(pipeline_), name);
    if (e != nullptr) named_.push_back(e);
    return e;
  }
  Collector& Collect(const char* appsink_name) {
    GstElement* sink = ByName(appsink_name);
    EXPECT_NE(sink, nullptr) << appsink_name;
    collectors_.push_back(std::make_unique<Collector>(sink));
    return *collectors_.back();
  }
  GstStateChangeReturn SetState(GstState state) { return gst_element_set_state(pipeline_, state); }
  GstStateChangeReturn Play() { return SetState(GST_STATE_PLAYING); }
  GstState CurrentState(int timeout_ms) {
    GstState state = GST_STATE_VOID_PENDING;
    gst_element_get_state(pipeline_, &state, nullptr, timeout_ms * GST_MSECOND);
    return state;
  }

  // Returns the first message matching @pred (owned by the pipeline), waiting up to timeout_ms.
  GstMessage* WaitFor(const std::function<bool(GstMessage*)>& pred, int timeout_ms) {
    std::unique_lock<std::mutex> lock(mutex_);
    GstMessage* found = nullptr;
    cond_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
      for (GstMessage* m : messages_)
        if (pred(m)) return (found = m) != nullptr;
      return false;
    });
    return found;
  }
  GstMessage* WaitType(GstMessageType type, int timeout_ms) {
    return WaitFor([type](GstMessage* m) { return GST_MESSAGE_TYPE(m) == type; }, timeout_ms);
  }
  GstMessage* WaitElementMessage(const char* name, int timeout_ms) {
    return WaitFor([name](GstMessage* m) { return gst_message_has_name(m, name); }, timeout_ms);
  }
  int CountElementMessages(const char* name) {
    std::lock_guard<std::mutex> lock(mutex_);
    int n = 0;
    for (GstMessage* m : messages_) n += gst_message_has_name(m, name) ? 1 : 0;
    return n;
  }
  bool HasError() { return WaitType(GST_MESSAGE_ERROR, 0) != nullptr; }
  std::string ErrorText() {
    GstMessage* m = WaitType(GST_MESSAGE_ERROR, 0);
    if (m == nullptr) return "";
    GError* err = nullptr;
    gchar* dbg = nullptr;
    gst_message_parse_error(m, &err, &dbg);
    std::string text = std::string(GST_MESSAGE_SRC_NAME(m)) + ": " + err->message;
    g_clear_error(&err);
    g_free(dbg);
    return text;
  }

 private:
  static GstBusSyncReply OnMessage(GstBus*, GstMessage* msg, gpointer data) {
    auto* self = static_cast<Pipeline*>(data);
    {
      std::lock_guard<std::mutex> lock(self->mutex_);
      self->messages_.push_back(gst_message_ref(msg));
    }
    self->cond_.notify_all();
    return GST_BUS_DROP;
  }

  GstElement* pipeline_ = nullptr;
  std::vector<GstElement*> named_;
  std::vector<std::unique_ptr<Collector>> collectors_;
  std::mutex mutex_;
  std::condition_variable cond_;
  std::vector<GstMessage*> messages_;
};

// estuarysrc driven by a GstHarness: its "video" pad is linked to the harness when it appears.
class HarnessSubscriber {
 public:
  explicit HarnessSubscriber(const char* stream) {
    src_ = gst_element_factory_make("estuarysrc", nullptr);
    g_object_set(src_, "stream", stream, nullptr);
    h_ = gst_harness_new_with_element(src_, nullptr, nullptr);
    g_signal_connect(src_, "pad-added", G_CALLBACK(+[](GstElement*, GstPad* pad, gpointer h) {
                       gst_harness_add_element_src_pad(static_cast<GstHarness*>(h), pad);
                     }),
                     h_);
  }
  ~HarnessSubscriber() {
    gst_element_set_state(src_, GST_STATE_NULL);
    gst_harness_teardown(h_);
    gst_object_unref(src_);
  }
  GstStateChangeReturn Play() { return gst_element_set_state(src_, GST_STATE_PLAYING); }
  GstElement* element() const { return src_; }
  GstHarness* harness() const { return h_; }

  // Pulls up to n buffers, waiting at most timeout_ms in total.
  std::vector<BufInfo> Pull(size_t n, int timeout_ms) {
    std::vector<BufInfo> out;
    WaitUntil(
        [&] {
          while (out.size() < n) {
            GstBuffer* buf = gst_harness_try_pull(h_);
            if (buf == nullptr) return false;
            out.push_back(InfoOf(buf));
            gst_buffer_unref(buf);
          }
          return true;
        },
        timeout_ms);
    return out;
  }
  // Pulls events until one of @type arrives (transfer full), or nullptr after timeout_ms.
  GstEvent* PullEvent(GstEventType type, int timeout_ms) {
    GstEvent* found = nullptr;
    WaitUntil(
        [&] {
          GstEvent* ev;
          while ((ev = gst_harness_try_pull_event(h_)) != nullptr) {
            if (GST_EVENT_TYPE(ev) == type) {
              found = ev;
              return true;
            }
            gst_event_unref(ev);
          }
          return false;
        },
        timeout_ms);
    return found;
  }

 private:
  GstElement* src_;
  GstHarness* h_;
};

inline GstBuffer* MakeFrame(GstClockTime pts, bool keyframe, gsize size = 100) {
  GstBuffer* buf = gst_buffer_new_allocate(nullptr, size, nullptr);
  gst_buffer_memset(buf, 0, keyframe ? 0x65 : 0x41, size);
  GST_BUFFER_PTS(buf) = pts;
  GST_BUFFER_DTS(buf) = pts;
  GST_BUFFER_DURATION(buf) = 40 * kMs;
  if (!keyframe) GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
  return buf;
}

// avc caps with a (syntactically plausible) avcC codec_data.
inline GstCaps* MakeH264Caps() {
  static const guint8 avcc[] = {0x01, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0x00, 0x09, 0x67, 0x42, 0xc0, 0x1e,
                                0xd9, 0x01, 0x40, 0x16, 0xe8, 0x01, 0x00, 0x04, 0x68, 0xce, 0x3c, 0x80};
  GstBuffer* codec_data = gst_buffer_new_memdup(avcc, sizeof(avcc));
  GstCaps* caps = gst_caps_new_simple("video/x-h264", "stream-format", G_TYPE_STRING, "avc", "alignment", G_TYPE_STRING,
                                      "au", "width", G_TYPE_INT, 320, "height", G_TYPE_INT, 240, "framerate",
                                      GST_TYPE_FRACTION, 25, 1, "codec_data", GST_TYPE_BUFFER, codec_data, nullptr);
  gst_buffer_unref(codec_data);
  return caps;
}

// estuarysink with the stream name set, driven by a harness on a new request pad.
inline GstHarness* NewPublisherHarness(const char* stream, GstElement** sink_out = nullptr) {
  GstElement* sink = gst_element_factory_make("estuarysink", nullptr);
  g_object_set(sink, "stream", stream, nullptr);
  GstHarness* h = gst_harness_new_with_element(sink, "sink_%u", nullptr);
  if (sink_out != nullptr) *sink_out = sink;  // borrowed: the harness holds a ref
  gst_object_unref(sink);
  return h;
}

inline guint64 GetU64(GstElement* e, const char* prop) {
  guint64 v = 0;
  g_object_get(e, prop, &v, nullptr);
  return v;
}

}  // namespace estuary_test
