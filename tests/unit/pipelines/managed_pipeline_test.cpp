// Owns: unit tests of ManagedPipeline's bus handling (pipelines/managed_pipeline.h): errors, EOS and
// element messages reach the callbacks on the main loop through the inbox (no bus watch), also when
// posted from another thread; a start that fails reports the element's own reason; a callback may
// destroy the pipeline; nothing is delivered after stop().
#include "pipelines/managed_pipeline.h"

#include <gst/gst.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>

namespace estuary::pipelines {
namespace {

template <typename Done>
void spin_until(Done done, int max_ms = 5000) {
  const gint64 end = g_get_monotonic_time() + gint64(max_ms) * 1000;
  while (!done() && g_get_monotonic_time() < end) {
    if (!g_main_context_iteration(nullptr, FALSE)) g_usleep(2000);
  }
}

class ManagedPipelineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!gst_is_initialized()) gst_init(nullptr, nullptr);
  }
};

std::unique_ptr<ManagedPipeline> launch(const std::string& line) {
  auto p = ManagedPipeline::from_launch("test", line);
  EXPECT_TRUE(p) << (p ? "" : p.error().message);
  return p ? std::move(*p) : nullptr;
}

TEST_F(ManagedPipelineTest, EosAndElementMessagesReachTheMainLoop) {
  auto p = launch("audiotestsrc num-buffers=20 ! level interval=10000000 ! fakesink sync=false");
  ASSERT_TRUE(p);
  int levels = 0;
  bool eos = false;
  PipelineEvents ev;
  ev.on_eos = [&] { eos = true; };
  ev.on_element_message = [&](const GstStructure* s) {
    if (gst_structure_has_name(s, "level")) ++levels;
  };
  p->set_events(std::move(ev));
  ASSERT_TRUE(p->start());
  EXPECT_EQ(p->state(), PipelineState::running);
  spin_until([&] { return eos; });
  EXPECT_TRUE(eos);
  EXPECT_GT(levels, 0);
}

TEST_F(ManagedPipelineTest, AFailedStartReportsTheElementsReason) {
  auto p = launch("filesrc name=missing location=/nonexistent/estuary-test ! fakesink");
  ASSERT_TRUE(p);
  auto st = p->start();
  ASSERT_FALSE(st);
  EXPECT_EQ(p->state(), PipelineState::failed);
  EXPECT_NE(st.error().message.find("missing"), std::string::npos) << st.error().message;
}

TEST_F(ManagedPipelineTest, AnErrorFromAnotherThreadCallsOnErrorAndTheCallbackMayDestroyThePipeline) {
  auto p = launch("audiotestsrc is-live=true ! fakesink name=out");
  ASSERT_TRUE(p);
  std::string element, message;
  PipelineEvents ev;
  ev.on_error = [&](const std::string& e, const std::string& m) {
    element = e;
    message = m;
    EXPECT_EQ(p->state(), PipelineState::failed);
    p.reset();  // allowed: nothing of the pipeline is touched after this
  };
  p->set_events(std::move(ev));
  ASSERT_TRUE(p->start());
  // As a streaming thread would post it.
  Ref<GstElement> out = p->element("out");
  ASSERT_TRUE(out);
  std::thread poster([&] {
    GError* err = g_error_new_literal(GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE, "bytes were not media");
    gst_element_post_message(out.get(), gst_message_new_error(GST_OBJECT(out.get()), err, "test"));
    g_error_free(err);
  });
  poster.join();
  out = Ref<GstElement>();
  spin_until([&] { return !p; });
  EXPECT_FALSE(p);
  EXPECT_EQ(element, "out");
  EXPECT_EQ(message, "bytes were not media");
}

TEST_F(ManagedPipelineTest, NothingIsDeliveredAfterStop) {
  auto p = launch("audiotestsrc is-live=true ! level interval=5000000 ! fakesink");
  ASSERT_TRUE(p);
  int levels = 0;
  PipelineEvents ev;
  ev.on_element_message = [&](const GstStructure*) { ++levels; };
  p->set_events(std::move(ev));
  ASSERT_TRUE(p->start());
  spin_until([&] { return levels >= 3; });
  ASSERT_GE(levels, 3);
  p->stop();
  const int at_stop = levels;
  spin_until([] { return false; }, 200);
  EXPECT_EQ(levels, at_stop);
  EXPECT_EQ(p->state(), PipelineState::stopped);
  // And it starts again with a fresh inbox.
  ASSERT_TRUE(p->start());
  spin_until([&] { return levels > at_stop; });
  EXPECT_GT(levels, at_stop);
}

}  // namespace
}  // namespace estuary::pipelines
