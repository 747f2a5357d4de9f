// Owns: unit tests of the shared epoll set behind one GLib source (common/epoll_set.h): handlers run
// from the main loop, a watch removed inside a batch (by its own or another handler) is not called,
// a reused slot does not answer to the old watch's events, and EPOLLOUT can be switched on and off.
#include "common/epoll_set.h"

#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <vector>

namespace estuary {
namespace {

struct Pair {
  int fd[2] = {-1, -1};
  Pair() { EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fd), 0); }
  ~Pair() {
    for (int f : fd)
      if (f >= 0) ::close(f);
  }
};

// Runs loop turns (non-blocking) until done() or 200 turns.
template <typename Done>
void spin(Done done) {
  for (int i = 0; i < 200 && !done(); ++i) g_main_context_iteration(nullptr, FALSE);
}

void drain(int fd) {
  char buf[64];
  while (::read(fd, buf, sizeof buf) > 0) {
  }
}

TEST(EpollSet, HandlerRunsFromTheMainLoopForReadableDescriptors) {
  auto set = EpollSet::create("test");
  ASSERT_TRUE(set);
  Pair p;
  int calls = 0;
  uint32_t seen = 0;
  auto w = (*set)->watch(p.fd[0], EPOLLIN, [&](uint32_t ev) {
    ++calls;
    seen = ev;
    drain(p.fd[0]);
  });
  ASSERT_TRUE(w);
  EXPECT_EQ((*set)->size(), 1u);
  spin([&] { return false; });
  EXPECT_EQ(calls, 0) << "nothing was readable";
  ASSERT_EQ(::write(p.fd[1], "x", 1), 1);
  spin([&] { return calls > 0; });
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(seen & EPOLLIN);
  w->reset();
  EXPECT_EQ((*set)->size(), 0u);
  ASSERT_EQ(::write(p.fd[1], "y", 1), 1);
  spin([&] { return false; });
  EXPECT_EQ(calls, 1) << "a reset watch is not called";
}

TEST(EpollSet, WatchRemovedByAnEarlierHandlerOfTheBatchIsNotCalled) {
  auto set = EpollSet::create("test");
  ASSERT_TRUE(set);
  std::array<Pair, 2> pairs;
  std::array<EpollWatch, 2> watches;
  std::array<int, 2> calls{0, 0};
  for (int i = 0; i < 2; ++i) {
    auto w = (*set)->watch(pairs[i].fd[0], EPOLLIN, [&, i](uint32_t) {
      ++calls[i];
      drain(pairs[i].fd[0]);
      watches[1 - i].reset();  // the other one goes away inside this batch
      watches[i].reset();      // and so does this handler's own watch, while it runs
    });
    ASSERT_TRUE(w);
    watches[i] = std::move(*w);
  }
  for (auto& p : pairs) ASSERT_EQ(::write(p.fd[1], "x", 1), 1);
  spin([&] { return calls[0] + calls[1] > 0; });
  spin([&] { return false; });
  EXPECT_EQ(calls[0] + calls[1], 1) << "both were ready in one batch; the first handler removed the second";
  EXPECT_EQ((*set)->size(), 0u);
}

TEST(EpollSet, AReusedSlotDoesNotAnswerTheOldWatchesEvents) {
  auto set = EpollSet::create("test");
  ASSERT_TRUE(set);
  Pair a, b;
  int old_calls = 0, new_calls = 0;
  {
    auto w = (*set)->watch(a.fd[0], EPOLLIN, [&](uint32_t) { ++old_calls; });
    ASSERT_TRUE(w);
  }  // removed at once
  auto w2 = (*set)->watch(b.fd[0], EPOLLIN, [&](uint32_t) {
    ++new_calls;
    drain(b.fd[0]);
  });
  ASSERT_TRUE(w2);
  ASSERT_EQ(::write(a.fd[1], "x", 1), 1);
  spin([&] { return false; });
  EXPECT_EQ(old_calls, 0);
  EXPECT_EQ(new_calls, 0) << "a's data must not wake b's handler";
  ASSERT_EQ(::write(b.fd[1], "x", 1), 1);
  spin([&] { return new_calls > 0; });
  EXPECT_EQ(new_calls, 1);
}

TEST(EpollSet, WritableInterestCanBeSwitchedOnAndOff) {
  auto set = EpollSet::create("test");
  ASSERT_TRUE(set);
  Pair p;
  int writable = 0;
  auto w = (*set)->watch(p.fd[0], EPOLLIN, [&](uint32_t ev) {
    if (ev & EPOLLOUT) ++writable;
  });
  ASSERT_TRUE(w);
  spin([&] { return false; });
  EXPECT_EQ(writable, 0);
  ASSERT_TRUE(w->set_events(EPOLLIN | EPOLLOUT));
  EXPECT_EQ(w->events(), uint32_t(EPOLLIN | EPOLLOUT));
  spin([&] { return writable > 0; });
  EXPECT_GT(writable, 0) << "an empty socket buffer is writable";
  ASSERT_TRUE(w->set_events(EPOLLIN));
  const int before = writable;
  spin([&] { return false; });
  EXPECT_EQ(writable, before);
}

TEST(EpollSet, WatchOfABadDescriptorIsRefusedWithAReason) {
  auto set = EpollSet::create("test");
  ASSERT_TRUE(set);
  auto w = (*set)->watch(-1, EPOLLIN, [](uint32_t) {});
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().message.find("epoll_ctl"), std::string::npos);
  EXPECT_EQ((*set)->size(), 0u);
}

TEST(EpollSet, WatchOutlivingItsSetResetsQuietly) {
  Pair p;
  EpollWatch keep;
  {
    auto set = EpollSet::create("test");
    ASSERT_TRUE(set);
    auto w = (*set)->watch(p.fd[0], EPOLLIN, [](uint32_t) {});
    ASSERT_TRUE(w);
    keep = std::move(*w);
  }
  EXPECT_FALSE(keep.set_events(EPOLLIN | EPOLLOUT));
  keep.reset();
  EXPECT_FALSE(keep);
}

}  // namespace
}  // namespace estuary
