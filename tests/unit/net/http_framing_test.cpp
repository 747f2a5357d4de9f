// Tests: check_request_framing (RFC 9112 6.3) and PerIpConnections.
#include <gtest/gtest.h>

#include "server/net/connection_limits.h"
#include "server/net/http_framing.h"

using estuary::server::check_request_framing;
using estuary::server::HeaderFields;
using estuary::server::PerIpConnections;

namespace {
int verdict(const HeaderFields& f, bool http_1_0 = false, uint64_t max = 1024) {
  auto v = check_request_framing(f, http_1_0, max);
  return v ? v->status : 0;
}
}  // namespace

TEST(HttpFraming, UnambiguousRequestsPass) {
  EXPECT_EQ(verdict({}), 0);
  EXPECT_EQ(verdict({{"Host", "x"}, {"Content-Length", "12"}}), 0);
  EXPECT_EQ(verdict({{"content-length", " 0 "}}), 0);
  EXPECT_EQ(verdict({{"Transfer-Encoding", "chunked"}}), 0);
  EXPECT_EQ(verdict({{"transfer-encoding", "Chunked"}}), 0);
}

TEST(HttpFraming, SmugglingShapesAreRefused) {
  EXPECT_EQ(verdict({{"Content-Length", "5"}, {"Transfer-Encoding", "chunked"}}), 400);
  EXPECT_EQ(verdict({{"Transfer-Encoding", "chunked"}, {"Content-Length", "5"}}), 400);
  EXPECT_EQ(verdict({{"Content-Length", "5"}, {"Content-Length", "5"}}), 400);
  EXPECT_EQ(verdict({{"Content-Length", "5, 5"}}), 400);
  EXPECT_EQ(verdict({{"Content-Length", "-1"}}), 400);
  EXPECT_EQ(verdict({{"Content-Length", "0x5"}}), 400);
  EXPECT_EQ(verdict({{"Content-Length", "99999999999999999999"}}), 400);
  EXPECT_EQ(verdict({{"Content-Length", ""}}), 400);
  EXPECT_EQ(verdict({{"Transfer-Encoding", "xchunked"}}), 400);
  EXPECT_EQ(verdict({{"Transfer-Encoding", "chunked, identity"}}), 400);
  EXPECT_EQ(verdict({{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}}), 400);
  EXPECT_EQ(verdict({{"Transfer-Encoding", "chunked"}}, true), 400);
  EXPECT_EQ(verdict({{"Transfer-Encoding ", "chunked"}}), 400);
  EXPECT_EQ(verdict({{"", "x"}}), 400);
}

TEST(HttpFraming, BodiesAboveTheCapAre413) {
  EXPECT_EQ(verdict({{"Content-Length", "1024"}}), 0);
  EXPECT_EQ(verdict({{"Content-Length", "1025"}}), 413);
}

TEST(PerIpConnections, CapsEachAddressSeparatelyAndCountsRefusals) {
  PerIpConnections p;
  EXPECT_TRUE(p.acquire("a", 2));
  EXPECT_TRUE(p.acquire("a", 2));
  EXPECT_FALSE(p.acquire("a", 2));
  EXPECT_TRUE(p.acquire("b", 2));
  EXPECT_EQ(p.open("a"), 2);
  EXPECT_EQ(p.refusals(), 1u);
  p.release("a");
  EXPECT_TRUE(p.acquire("a", 2));
  EXPECT_TRUE(p.acquire("c", 0));  // 0 = unlimited
  p.release("zzz");                // unknown: no effect
  EXPECT_EQ(p.open("zzz"), 0);
}
