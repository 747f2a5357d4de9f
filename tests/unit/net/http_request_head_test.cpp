// Owns: unit tests of the bounded request head parser (common/http_request_head.h).
#include "common/http_request_head.h"

#include <gtest/gtest.h>

#include <string>

namespace estuary {
namespace {

TEST(RequestHead, ParsesRequestLineAndFields) {
  const std::string text = "GET /live/s.m3u8?_HLS_msn=4 HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie:  a=b \r\n\r\nGET /next";
  RequestHead h;
  ASSERT_EQ(parse_request_head(text, &h), HeadParse::complete);
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.target, "/live/s.m3u8?_HLS_msn=4");
  EXPECT_EQ(h.minor_version, 1);
  EXPECT_EQ(h.length, text.find("GET /next"));
  ASSERT_NE(h.field("cookie"), nullptr);
  EXPECT_EQ(*h.field("COOKIE"), "a=b");
  EXPECT_EQ(h.field("Range"), nullptr);
}

TEST(RequestHead, IncompleteUntilTheEmptyLine) {
  RequestHead h;
  EXPECT_EQ(parse_request_head("GET / HTTP/1.1\r\nHost: x\r\n", &h), HeadParse::incomplete);
  EXPECT_EQ(parse_request_head("GET / HT", &h), HeadParse::incomplete);
  EXPECT_EQ(parse_request_head("GET / HTTP/1.0\n\n", &h), HeadParse::complete);
  EXPECT_EQ(h.minor_version, 0);
}

TEST(RequestHead, RefusesMalformedHeads) {
  RequestHead h;
  for (const char* bad : {"GET  / HTTP/1.1\r\n\r\n", "GET / HTTP/2.0\r\n\r\n", "GET /\x01 HTTP/1.1\r\n\r\n",
                          "G(T / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nA b: c\r\n\r\n", "GET / HTTP/1.1\r\n: c\r\n\r\n",
                          "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", "GET / HTTP/1.1\r\nA: b\x01\r\n\r\n"})
    EXPECT_EQ(parse_request_head(bad, &h), HeadParse::malformed) << bad;
}

TEST(RequestHead, BoundsSizeAndFieldCount) {
  RequestHead h;
  std::string big = "GET / HTTP/1.1\r\nX: " + std::string(kMaxRequestHead, 'a');
  EXPECT_EQ(parse_request_head(big, &h), HeadParse::too_large);
  std::string many = "GET / HTTP/1.1\r\n";
  for (size_t i = 0; i <= kMaxRequestFields; ++i) many += "A" + std::to_string(i) + ": b\r\n";
  many += "\r\n";
  EXPECT_EQ(parse_request_head(many, &h), HeadParse::too_large);
}

}  // namespace
}  // namespace estuary
