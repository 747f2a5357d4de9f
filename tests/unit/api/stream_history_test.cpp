// Owns: unit tests of the per-stream history (server/api/stream_history) and its route,
// /api/v1/streams/{id}/history: rates from counters, the bound, forgetting ended streams, ?seconds=.
#include "server/api/stream_history.h"

#include <gtest/gtest.h>

#include "api_test_util.h"
#include "server/api/api_router.h"

namespace estuary::api {
namespace {

StreamView view(const std::string& id, uint64_t recv, uint64_t send, uint64_t video_frames, int clients) {
  StreamView v;
  v.id = id;
  v.recv_bytes = recv;
  v.send_bytes = send;
  v.video_frames = video_frames;
  v.clients = clients;
  return v;
}

TEST(StreamHistory, RatesComeFromCounterChanges) {
  StreamHistory h(10);
  h.sample(1000, {view("vid-a", 0, 0, 0, 0)});
  ASSERT_NE(h.find("vid-a"), nullptr);
  EXPECT_TRUE(h.find("vid-a")->empty()) << "the first call only sets the baseline";
  h.sample(2000, {view("vid-a", 250000, 500000, 25, 3)});  // 2 Mb/s in, 4 Mb/s out over 1 s
  h.sample(4000, {view("vid-a", 500000, 500000, 85, 2)});  // over 2 s
  const auto& s = *h.find("vid-a");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].t_ms, 2000);
  EXPECT_EQ(s[0].kbps_in, 2000);
  EXPECT_EQ(s[0].kbps_out, 4000);
  EXPECT_DOUBLE_EQ(s[0].fps, 25);
  EXPECT_EQ(s[0].viewers, 3);
  EXPECT_EQ(s[1].kbps_in, 1000);
  EXPECT_EQ(s[1].kbps_out, 0);
  EXPECT_DOUBLE_EQ(s[1].fps, 30);
  EXPECT_EQ(s[1].viewers, 2);
}

TEST(StreamHistory, BoundedAndForgetsEndedStreams) {
  StreamHistory h(5);
  for (int i = 0; i <= 20; ++i)
    h.sample(1000 * i, {view("vid-a", 1000u * i, 0, 25u * i, 1), view("vid-b", 0, 0, 0, 0)});
  ASSERT_EQ(h.find("vid-a")->size(), 5u);
  EXPECT_EQ(h.find("vid-a")->back().t_ms, 20000);
  EXPECT_EQ(h.find("vid-a")->front().t_ms, 16000);
  h.sample(21000, {view("vid-b", 0, 0, 0, 0)});
  EXPECT_EQ(h.find("vid-a"), nullptr);
  EXPECT_EQ(h.tracked(), 1u);
  // A counter that goes back (a new publish under the same id) is a restart, not a negative rate.
  h.sample(22000, {view("vid-b", 5000, 0, 50, 0)});
  h.sample(23000, {view("vid-b", 1000, 0, 10, 0)});
  EXPECT_EQ(h.find("vid-b")->back().kbps_in, 8);
  EXPECT_DOUBLE_EQ(h.find("vid-b")->back().fps, 10);
}

TEST(StreamHistory, RouteAnswersColumnsAndRefusesUnknownOrBadQueries) {
  test::FakeBackend backend;
  ApiRouter router(backend, make_server_identity("0.1.0"), ApiOptions{});
  for (int i = 0; i < 4; ++i) {
    backend.streams_[0].recv_bytes += 125000;  // 1 Mb/s
    backend.streams_[0].video_frames += 30;
    router.sample_history(1000 * (i + 1));
  }
  ApiReply r = router.handle({"GET", "/api/v1/streams/vid-aaa1/history", {}});
  ASSERT_EQ(r.http_status, 200) << r.body;
  test::Json j(r.body);
  JsonObject* hist = test::obj(j.root(), "history");
  ASSERT_NE(hist, nullptr) << r.body;
  EXPECT_EQ(test::str(j.root(), "stream"), "vid-aaa1");
  EXPECT_EQ(test::num(j.root(), "interval_ms"), 1000);
  JsonArray* t = test::arr(hist, "t");
  JsonArray* kbps = test::arr(hist, "kbps_in");
  JsonArray* fps = test::arr(hist, "fps");
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(json_array_get_length(t), 3u);
  EXPECT_EQ(json_array_get_int_element(t, 2), 4000);
  EXPECT_EQ(json_array_get_int_element(kbps, 0), 1000);
  EXPECT_DOUBLE_EQ(json_array_get_double_element(fps, 1), 30);
  ASSERT_NE(test::arr(hist, "viewers"), nullptr);
  ASSERT_NE(test::arr(hist, "kbps_out"), nullptr);

  ApiReply last = router.handle({"GET", "/api/v1/streams/vid-aaa1/history", {{"seconds", "1"}}});
  test::Json lj(last.body);
  EXPECT_EQ(json_array_get_length(test::arr(test::obj(lj.root(), "history"), "t")), 1u);
  EXPECT_EQ(router.handle({"GET", "/api/v1/streams/vid-aaa1/history", {{"seconds", "x"}}}).http_status, 400);
  EXPECT_EQ(router.handle({"GET", "/api/v1/streams/vid-nope/history", {}}).http_status, 404);
  EXPECT_EQ(router.handle({"GET", "/api/v1/streams/vid-aaa1/a/history", {}}).http_status, 404);
  EXPECT_EQ(router.handle({"DELETE", "/api/v1/streams/vid-aaa1/history", {}}).http_status, 405);
}

}  // namespace
}  // namespace estuary::api
