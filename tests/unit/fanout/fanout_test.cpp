// Owns: unit tests of the fan-out engine over real loopback TCP sockets: join point, identical
// delivery, slow-viewer skip and disconnect, bounded memory, kick, end of stream, fd hygiene,
// batching, shutdown and viewer input limits.
#include <gtest/gtest.h>

#include <random>

#include "fanout/fanout.h"
#include "fanout_test_util.h"

namespace estuary::fanout::test {
namespace {

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<PayloadPtr> header_of(const std::vector<std::string>& parts) {
  std::vector<PayloadPtr> h;
  for (const auto& p : parts) h.push_back(make_payload(to_bytes(p)));
  return h;
}

EngineConfig config(int threads, int batch_ms = 0) {
  EngineConfig c;
  c.threads = threads;
  c.write_batch_ms = batch_ms;
  return c;
}

TEST(Fanout, CloseReasonNames) {
  EXPECT_STREQ(close_reason_name(CloseReason::peer_closed), "peer_closed");
  EXPECT_STREQ(close_reason_name(CloseReason::kicked), "kicked");
  EXPECT_STREQ(close_reason_name(CloseReason::too_slow), "too_slow");
  EXPECT_STREQ(close_reason_name(CloseReason::ended), "ended");
  EXPECT_STREQ(close_reason_name(CloseReason::io_error), "io_error");
  EXPECT_STREQ(close_reason_name(CloseReason::shutdown), "shutdown");
}

TEST(Fanout, LateJoinerGetsPrefixHeaderAndNewestGop) {
  ClosedLog closed;  // declared first: outlives the engine and its callbacks
  auto engine = Engine::create(config(2));
  ASSERT_TRUE(engine);
  auto ch = Channel::create("live/late", ChannelLimits{});
  ch->set_header(header_of({"HDR-A", "HDR-B"}));
  Bytes expected_packets;
  for (uint32_t i = 0; i < 10; ++i) {
    auto p = make_packet(i, 1000 + i, i % 5 == 0);
    if (i >= 5)
      expected_packets.insert(expected_packets.end(), p.payload->data(), p.payload->data() + p.payload->size());
    ch->push(std::move(p));
  }
  Loopback lb;
  auto [s, c] = lb.connect_pair();
  Reader reader(c);
  auto counters = engine->add_viewer(ch, s, "late-1", to_bytes("PREFIX"), closed.callback());
  for (uint32_t i = 10; i < 13; ++i) {
    auto p = make_packet(i, 500, false);
    expected_packets.insert(expected_packets.end(), p.payload->data(), p.payload->data() + p.payload->size());
    ch->push(std::move(p));
  }
  ch->close();
  ASSERT_TRUE(reader.wait_eof(5000));
  Bytes expected = concat({to_bytes("PREFIX"), to_bytes("HDR-A"), to_bytes("HDR-B"), expected_packets});
  EXPECT_EQ(reader.data(), expected);
  ASSERT_TRUE(closed.wait_for("late-1", 2000));
  EXPECT_EQ(closed.reason("late-1"), CloseReason::ended);
  EXPECT_EQ(counters->bytes_sent.load(), expected.size());
  EXPECT_TRUE(eventually([&] { return engine->viewer_count() == 0; }, 2000));
}

TEST(Fanout, ViewerBeforeFirstKeyframeWaitsForIt) {
  ClosedLog closed;  // declared first: outlives the engine and its callbacks
  auto engine = Engine::create(config(1));
  auto ch = Channel::create("live/wait", ChannelLimits{});
  Loopback lb;
  auto [s, c] = lb.connect_pair();
  Reader reader(c);
  engine->add_viewer(ch, s, "w", {}, closed.callback());
  ch->push(make_packet(0, 100, false));
  ch->push(make_packet(1, 100, false));
  ch->push(make_packet(2, 100, true));
  ch->push(make_packet(3, 100, false));
  ch->close();
  ASSERT_TRUE(reader.wait_eof(5000));
  std::vector<ParsedPacket> got;
  ASSERT_TRUE(parse_packets(reader.data(), 0, &got));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].seq, 2u);
  EXPECT_EQ(got[1].seq, 3u);
}

// Many viewers over several threads receive byte-identical streams while a producer pushes
// packets of random sizes (some larger than the socket buffer).
TEST(Fanout, AllViewersReceiveIdenticalBytes) {
  ClosedLog closed;  // declared first: outlives the engine and its callbacks
  auto engine = Engine::create(config(3));
  // The producer outruns 24 reader threads on a small CI machine; this test is about identical
  // delivery, not the slow-viewer policy, so nobody may fall far enough behind to be skipped.
  ChannelLimits limits;
  limits.max_backlog_bytes = 64 * 1024 * 1024;
  limits.max_behind_ms = 20000;
  auto ch = Channel::create("live/same", limits);
  ch->set_header(header_of({"FLV-HEADER"}));
  Loopback lb;
  std::vector<std::unique_ptr<Reader>> readers;
  const int kViewers = 24;
  for (int i = 0; i < kViewers; ++i) {
    auto [s, c] = lb.connect_pair();
    readers.push_back(std::make_unique<Reader>(c));
    engine->add_viewer(ch, s, "v" + std::to_string(i), {}, closed.callback());
  }
  ASSERT_TRUE(eventually([&] { return ch->stats().viewers == kViewers; }, 2000));
  std::mt19937 rng(42);
  Bytes expected = to_bytes("FLV-HEADER");
  for (uint32_t i = 0; i < 1500; ++i) {
    size_t size = 50 + rng() % 12000;
    if (i % 100 == 7) size = 300000;  // bigger than a default loopback send buffer burst
    auto p = make_packet(i, size, i % 30 == 0);
    expected.insert(expected.end(), p.payload->data(), p.payload->data() + p.payload->size());
    ch->push(std::move(p));
    if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ch->close();
  for (int i = 0; i < kViewers; ++i) {
    ASSERT_TRUE(readers[i]->wait_eof(20000)) << "viewer " << i;
    EXPECT_TRUE(readers[i]->data() == expected)
        << "viewer " << i << " got " << readers[i]->size() << " of " << expected.size();
  }
  ASSERT_TRUE(closed.wait_calls(kViewers, 2000));
  for (int i = 0; i < kViewers; ++i) EXPECT_EQ(closed.reason("v" + std::to_string(i)), CloseReason::ended);
  EXPECT_EQ(closed.duplicates(), 0u);
  auto st = ch->stats();
  EXPECT_EQ(st.packets_in, 1500u);
  EXPECT_EQ(st.dropped_bytes, 0u);
  EXPECT_EQ(st.viewers, 0u);
}

// A viewer that never reads is skipped to a keyframe (bytes dropped), then closed as too_slow,
// while a reading viewer gets everything; memory stays bounded throughout.
TEST(Fanout, StalledViewerIsSkippedThenDroppedOthersUnaffected) {
  ClosedLog closed;  // declared first: outlives the engine and its callbacks
  auto engine = Engine::create(config(2));
  ChannelLimits limits;
  limits.max_backlog_bytes = 256 * 1024;
  limits.max_behind_ms = 800;
  auto ch = Channel::create("live/slow", limits);
  Loopback lb;
  auto [gs, gc] = lb.connect_pair();
  Reader good(gc);
  auto [ss, sc] = lb.connect_pair(4096, 8192);  // stalled: tiny buffers, never read
  engine->add_viewer(ch, gs, "good", {}, closed.callback());
  auto stalled = engine->add_viewer(ch, ss, "stalled", {}, closed.callback());
  ASSERT_TRUE(eventually([&] { return ch->stats().viewers == 2; }, 2000));

  Bytes expected;
  uint64_t max_retained = 0;
  uint32_t seq = 0;
  auto start = std::chrono::steady_clock::now();
  // About 2 MB/s: 4 KB packets, a keyframe every 16 (64 KB GOP), until the stalled one is gone.
  while (!closed.has("stalled") && std::chrono::steady_clock::now() - start < std::chrono::seconds(8)) {
    for (int k = 0; k < 4; ++k, ++seq) {
      auto p = make_packet(seq, 4096, seq % 16 == 0);
      expected.insert(expected.end(), p.payload->data(), p.payload->data() + p.payload->size());
      ch->push(std::move(p));
    }
    max_retained = std::max(max_retained, ch->stats().retained_bytes);
    std::this_thread::sleep_for(std::chrono::milliseconds(8));
  }
  ASSERT_TRUE(closed.has("stalled"));
  EXPECT_EQ(closed.reason("stalled"), CloseReason::too_slow);
  EXPECT_GT(stalled->bytes_dropped.load(), 0u);
  ch->close();
  ASSERT_TRUE(good.wait_eof(5000));
  EXPECT_TRUE(good.data() == expected) << good.size() << " of " << expected.size();
  ASSERT_TRUE(closed.wait_for("good", 2000));
  EXPECT_EQ(closed.reason("good"), CloseReason::ended);
  auto st = ch->stats();
  EXPECT_EQ(st.dropped_viewers, 1u);
  EXPECT_EQ(st.dropped_bytes, stalled->bytes_dropped.load());
  EXPECT_LT(max_retained, limits.max_backlog_bytes + 64 * 1024 + 64 * 1024);
}

// A viewer reading slower than the stream is skipped (possibly several times) yet always receives
// whole packets, and each skip lands on a keyframe.
TEST(Fanout, SkippedViewerStreamStaysFramed) {
  ClosedLog closed;  // declared first: outlives the engine and its callbacks
  auto engine = Engine::create(config(1));
  ChannelLimits limits;
  limits.max_backlog_bytes = 128 * 1024;
  limits.max_behind_ms = 60000;
  auto ch = Channel::create("live/framed", limits);
  Loopback lb;
  auto [s, c] = lb.connect_pair(8192, 8192);
  Reader slow(c, 20000, 4096);  // ~200 KB/s
  auto counters = engine->add_viewer(ch, s, "slow", {}, closed.callback());
  ASSERT_TRUE(eventually([&] { return ch->stats().viewers == 1; }, 2000));
  for (uint32_t seq = 0; seq < 600; ++seq) {  // ~1.8 MB at ~1.2 MB/s
    ch->push(make_packet(seq, 3000, seq % 10 == 0));
    if (seq % 4 == 3) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ch->close();
  ASSERT_TRUE(slow.wait_eof(20000));
  std::vector<ParsedPacket> got;
  ASSERT_TRUE(parse_packets(slow.data(), 0, &got)) << "framing broken";
  ASSERT_FALSE(got.empty());
  EXPECT_TRUE(got.front().keyframe);
  int jumps = 0;
  for (size_t i = 1; i < got.size(); ++i) {
    if (got[i].seq != got[i - 1].seq + 1) {
      ++jumps;
      EXPECT_GT(got[i].seq, got[i - 1].seq);
      EXPECT_TRUE(got[i].keyframe) << "resumed at " << got[i].seq;
    }
  }
  EXPECT_GT(jumps, 0);
  EXPECT_GT(counters->bytes_dropped.load(), 0u);
  EXPECT_EQ(counters->bytes_sent.load() + counters->bytes_dropped.load(), 600u * 3000u);
  EXPECT_EQ(closed.reason("slow"), CloseReason::ended);
}

// Many stalled viewers: what the channel and the engine keep stays under the backlog bound plus a
// GOP, however much is pushed.
TEST(Fanout, MemoryBoundedWhileViewersStall) {
  ClosedLog closed;  // declared first: outlives the engine and its callbacks
  auto engine = Engine::create(config(2));
  ChannelLimits limits;
  limits.max_backlog_bytes = 512 * 1024;
  limits.max_behind_ms = 60000;
  auto ch = Channel::create("live/bounded", limits);
  Loopback lb;
  std::vector<int> clients;
  std::vector<std::shared_ptr<const ViewerCounters>> counters;
  for (int i = 0; i < 20; ++i) {
    auto [s, c] = lb.connect_pair(4096, 8192);
    clients.push_back(c);
    counters.push_back(engine->add_viewer(ch, s, "stall" + std::to_string(i), {}, closed.callback()));
  }
  ASSERT_TRUE(eventually([&] { return ch->stats().viewers == 20; }, 2000));
  uint64_t max_retained = 0;
  for (uint32_t seq = 0; seq < 2500; ++seq) {  // 20 MB
    ch->push(make_packet(seq, 8192, seq % 8 == 0));
    if (seq % 4 == 3) {  // ~32 MB/s: far above any stream, yet a bounded amount per engine round
      max_retained = std::max(max_retained, ch->stats().retained_bytes);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  EXPECT_LT(max_retained, limits.max_backlog_bytes + 2 * 64 * 1024 + 256 * 1024);
  EXPECT_TRUE(eventually([&] { return ch->stats().retained_bytes < limits.max_backlog_bytes + 64 * 1024; }, 2000));
  for (auto& c : counters) EXPECT_GT(c->bytes_dropped.load(), 15u * 1024 * 1024);
  EXPECT_EQ(closed.calls(), 0u);
  engine.reset();  // shutdown closes them all
  EXPECT_EQ(closed.calls(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(closed.reason("stall" + std::to_string(i)), CloseReason::shutdown);
  for (int c : clients) ::close(c);
}

TEST(Fanout, KickClosesViewer) {
  ClosedLog closed;  // declared first: outlives the engine and its callbacks
  auto engine = Engine::create(config(2));
  auto ch = Channel::create("live/kick", ChannelLimits{});
  ch->push(make_packet(0, 100, true));
  Loopback lb;
  auto [s, c] = lb.connect_pair();
  Reader reader(c);
  bool fd_closed_in_callback = false;
  const int server_fd = s;
  engine->add_viewer(ch, s, "kickme", {}, [&](const std::string& id, CloseReason r) {
    fd_closed_in_callback = ::fcntl(server_fd, F_GETFD) == -1 && errno == EBADF;
    closed.callback()(id, r);
  });
  ASSERT_TRUE(eventually([&] { return reader.size() == 100; }, 2000));
  engine->kick("nobody");  // ignored
  engine->kick("kickme");
  ASSERT_TRUE(closed.wait_for("kickme", 2000));
  EXPECT_EQ(closed.reason("kickme"), CloseReason::kicked);
  EXPECT_TRUE(fd_closed_in_callback);
  EXPECT_TRUE(reader.wait_eof(2000));
  EXPECT_EQ(engine->viewer_count(), 0u);
  EXPECT_EQ(ch->stats().viewers, 0u);
}

TEST(Fanout, PeerCloseAndInputLimit) {
  EngineConfig cfg = config(1);
  cfg.max_viewer_input = 1000;
  ClosedLog closed;  // declared first: outlives the engine and its callbacks
  auto engine = Engine::create(cfg);
  auto ch = Channel::create("live/input", ChannelLimits{});
  Loopback lb;
  auto [s1, c1] = lb.connect_pair();
  auto [s2, c2] = lb.connect_pair();
  auto counters = engine->add_viewer(ch, s1, "chatty", {}, closed.callback());
  engine->add_viewer(ch, s2, "leaver", {}, closed.callback());
  Bytes junk(600, 'x');
  ASSERT_EQ(::send(c1, junk.data(), junk.size(), 0), 600);
  ASSERT_TRUE(eventually([&] { return counters->bytes_received.load() == 600; }, 2000));
  EXPECT_FALSE(closed.has("chatty"));
  ASSERT_EQ(::send(c1, junk.data(), junk.size(), 0), 600);
  ASSERT_TRUE(closed.wait_for("chatty", 2000));
  EXPECT_EQ(closed.reason("chatty"), CloseReason::io_error);
  ::close(c2);
  ASSERT_TRUE(closed.wait_for("leaver", 2000));
  EXPECT_EQ(closed.reason("leaver"), CloseReason::peer_closed);
  ::close(c1);
}

// A viewer whose socket is full when the stream ends still gets every byte, then `ended`.
TEST(Fanout, ChannelCloseFlushesThenEnds) {
  ClosedLog closed;  // declared first: outlives the engine and its callbacks
  auto engine = Engine::create(config(1));
  auto ch = Channel::create("live/end", ChannelLimits{});
  Loopback lb;
  auto [s, c] = lb.connect_pair(8192, 8192);
  engine->add_viewer(ch, s, "end", to_bytes("HTTP/1.1 200 OK\r\n\r\n"), closed.callback());
  ASSERT_TRUE(eventually([&] { return ch->stats().viewers == 1; }, 2000));  // joined before the data
  Bytes expected = to_bytes("HTTP/1.1 200 OK\r\n\r\n");
  for (uint32_t i = 0; i < 100; ++i) {  // 1 MB, far more than the socket buffers hold
    auto p = make_packet(i, 10000, i % 25 == 0);
    expected.insert(expected.end(), p.payload->data(), p.payload->data() + p.payload->size());
    ch->push(std::move(p));
  }
  ch->close();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(closed.has("end"));  // still flushing
  Reader reader(c);
  ASSERT_TRUE(reader.wait_eof(5000));
  EXPECT_TRUE(reader.data() == expected) << reader.size() << " of " << expected.size();
  ASSERT_TRUE(closed.wait_for("end", 2000));
  EXPECT_EQ(closed.reason("end"), CloseReason::ended);
}

TEST(Fanout, AddRemoveCyclesLeakNothing) {
  Loopback lb;
  ClosedLog closed;  // declared first: outlives the engine and its callbacks
  auto engine = Engine::create(config(2));
  auto ch = Channel::create("live/cycles", ChannelLimits{});
  ch->set_header(header_of({"H"}));
  ch->push(make_packet(0, 2000, true));
  const int fds_before = count_open_fds();
  const int kCycles = 1000;
  for (int i = 0; i < kCycles; ++i) {
    auto [s, c] = lb.connect_pair();
    ASSERT_GE(s, 0);
    std::string id = "cyc" + std::to_string(i);
    engine->add_viewer(ch, s, id, to_bytes("P"), closed.callback());
    if (i % 3 == 0) {
      engine->kick(id);
    } else if (i % 3 == 1) {
      ch->push(make_packet(i, 100, i % 10 == 1));
    }
    ::close(c);
  }
  ASSERT_TRUE(closed.wait_calls(kCycles, 10000));
  EXPECT_TRUE(eventually([&] { return engine->viewer_count() == 0; }, 2000));
  EXPECT_EQ(closed.duplicates(), 0u);
  EXPECT_EQ(ch->stats().viewers, 0u);
  EXPECT_TRUE(eventually([&] { return count_open_fds() == fds_before; }, 2000))
      << count_open_fds() << " vs " << fds_before;
}

// With batching every viewer still gets everything, in order.
TEST(Fanout, BatchedWritesDeliverEverythingInOrder) {
  ClosedLog closed;  // declared first: outlives the engine and its callbacks
  auto engine = Engine::create(config(2, 20));
  auto ch = Channel::create("live/batch", ChannelLimits{});
  ch->set_header(header_of({"HEAD"}));
  Loopback lb;
  std::vector<std::unique_ptr<Reader>> readers;
  for (int i = 0; i < 6; ++i) {
    auto [s, c] = lb.connect_pair();
    readers.push_back(std::make_unique<Reader>(c));
    engine->add_viewer(ch, s, "b" + std::to_string(i), {}, closed.callback());
  }
  ASSERT_TRUE(eventually([&] { return ch->stats().viewers == 6; }, 2000));
  Bytes expected = to_bytes("HEAD");
  for (uint32_t i = 0; i < 300; ++i) {
    auto p = make_packet(i, 200 + (i * 37) % 3000, i % 30 == 0);
    expected.insert(expected.end(), p.payload->data(), p.payload->data() + p.payload->size());
    ch->push(std::move(p));
    if (i % 10 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }
  // Data is written within about one batch interval, without further pushes.
  ASSERT_TRUE(eventually([&] { return readers[0]->size() == expected.size(); }, 2000));
  ch->close();
  for (auto& r : readers) {
    ASSERT_TRUE(r->wait_eof(5000));
    EXPECT_TRUE(r->data() == expected);
  }
}

// With a long batch interval, non-urgent packets wait for the tick; an urgent one is written at
// once together with everything queued before it.
TEST(Fanout, UrgentPacketCutsTheBatchShort) {
  ClosedLog closed;  // declared first: outlives the engine and its callbacks
  auto engine = Engine::create(config(1, 1000));
  auto ch = Channel::create("live/urgent", ChannelLimits{});
  Loopback lb;
  auto [s, c] = lb.connect_pair();
  Reader reader(c);
  engine->add_viewer(ch, s, "u", {}, closed.callback());
  ASSERT_TRUE(eventually([&] { return ch->stats().viewers == 1; }, 2000));
  ch->push(make_packet(0, 100, true));  // written at the batch deadline (1 s)
  ASSERT_TRUE(eventually([&] { return reader.size() == 100; }, 2000));
  ch->push(make_packet(1, 100, false));  // "audio": waits for the tick (up to 1 s)
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_EQ(reader.size(), 100u);
  Packet video = make_packet(2, 100, false);
  video.urgent = true;
  ch->push(std::move(video));
  ASSERT_TRUE(eventually([&] { return reader.size() == 300; }, 200));
  std::vector<ParsedPacket> got;
  ASSERT_TRUE(parse_packets(reader.data(), 0, &got));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1].seq, 1u);
  EXPECT_EQ(got[2].seq, 2u);
  ch->close();
  EXPECT_TRUE(closed.wait_for("u", 2000));
}

Packet video_frame(uint32_t seq, size_t size, int64_t dts_ms) {
  Packet p = make_packet(seq, size, seq == 0);  // viewers start at a keyframe
  p.video = true;
  p.dts_ms = dts_ms;
  return p;
}

// Frame-aligned batching: with a batch longer than one frame interval (dts 1000 ms apart, batch
// 1500 ms), a frame waits for the next one and both go out in one write as soon as it arrives,
// long before the batch deadline; the audio between them rides along.
TEST(Fanout, VideoFramesShareAWriteWhenTheNextFrameFitsTheBatch) {
  ClosedLog closed;  // declared first: outlives the engine and its callbacks
  auto engine = Engine::create(config(1, 1500));
  auto ch = Channel::create("live/frames", ChannelLimits{});
  Loopback lb;
  auto [s, c] = lb.connect_pair();
  Reader reader(c);
  engine->add_viewer(ch, s, "f", {}, closed.callback());
  ASSERT_TRUE(eventually([&] { return ch->stats().viewers == 1; }, 2000));
  ch->push(video_frame(0, 100, 0));  // interval not known yet: written at once
  ASSERT_TRUE(eventually([&] { return reader.size() == 100; }, 2000));
  ch->push(video_frame(1, 100, 1000));   // now + 1000 fits the batch: waits for the next frame
  ch->push(make_packet(2, 100, false));  // audio
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  EXPECT_EQ(reader.size(), 100u);
  const auto pushed = std::chrono::steady_clock::now();
  ch->push(video_frame(3, 100, 2000));  // waiting for the next would exceed the batch: write now
  ASSERT_TRUE(eventually([&] { return reader.size() == 400; }, 2000));
  EXPECT_LT(std::chrono::steady_clock::now() - pushed, std::chrono::milliseconds(500)) << "written at the deadline";
  std::vector<ParsedPacket> got;
  ASSERT_TRUE(parse_packets(reader.data(), 0, &got));
  ASSERT_EQ(got.size(), 4u);
  for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(got[i].seq, i);
  ch->close();
  EXPECT_TRUE(closed.wait_for("f", 2000));
}

// In a stream with video, audio waits for the next video write (up to the batch plus two frame
// intervals), not for its own deadline; without video it waits at most the batch.
TEST(Fanout, AudioRidesWithVideoAndKeepsItsOwnDeadlineWithoutVideo) {
  ClosedLog closed;  // declared first: outlives the engine and its callbacks
  auto engine = Engine::create(config(1, 300));
  auto av = Channel::create("live/av", ChannelLimits{});
  auto audio_only = Channel::create("live/audio", ChannelLimits{});
  Loopback lb;
  auto [s1, c1] = lb.connect_pair();
  auto [s2, c2] = lb.connect_pair();
  Reader av_reader(c1), audio_reader(c2);
  engine->add_viewer(av, s1, "av", {}, closed.callback());
  engine->add_viewer(audio_only, s2, "audio", {}, closed.callback());
  ASSERT_TRUE(eventually([&] { return av->stats().viewers == 1 && audio_only->stats().viewers == 1; }, 2000));
  av->push(video_frame(0, 100, 0));
  av->push(video_frame(1, 100, 1000));  // interval 1000 ms > batch: written at once
  ASSERT_TRUE(eventually([&] { return av_reader.size() == 200; }, 2000));
  av->push(make_packet(2, 100, false));
  audio_only->push(make_packet(0, 100, true));
  ASSERT_TRUE(eventually([&] { return audio_reader.size() == 100; }, 2000)) << "audio-only: batch deadline";
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(av_reader.size(), 200u) << "audio of an A/V stream should wait for the next frame";
  av->push(video_frame(3, 100, 2000));
  ASSERT_TRUE(eventually([&] { return av_reader.size() == 400; }, 1000));
  av->close();
  audio_only->close();
  EXPECT_TRUE(closed.wait_for("av", 2000));
  EXPECT_TRUE(closed.wait_for("audio", 2000));
}

TEST(Fanout, ShutdownClosesEveryViewerOnce) {
  ClosedLog closed;
  Loopback lb;
  std::vector<std::unique_ptr<Reader>> readers;
  {
    auto engine = Engine::create(config(3));
    auto ch = Channel::create("live/shutdown", ChannelLimits{});
    for (int i = 0; i < 30; ++i) {
      auto [s, c] = lb.connect_pair();
      readers.push_back(std::make_unique<Reader>(c));
      engine->add_viewer(ch, s, "s" + std::to_string(i), {}, closed.callback());
    }
  }
  EXPECT_EQ(closed.calls(), 30u);
  EXPECT_EQ(closed.duplicates(), 0u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(closed.reason("s" + std::to_string(i)), CloseReason::shutdown);
  for (auto& r : readers) EXPECT_TRUE(r->wait_eof(2000));
}

}  // namespace
}  // namespace estuary::fanout::test
