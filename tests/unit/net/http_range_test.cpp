// Owns: unit tests of the Range header parser (common/http_range.h).
#include "common/http_range.h"

#include <gtest/gtest.h>

#include <string>

namespace estuary {
namespace {

void expect_partial(const char* header, uint64_t size, uint64_t first, uint64_t last) {
  const ByteRange r = parse_byte_range(header, size);
  ASSERT_EQ(r.verdict, RangeVerdict::partial) << header;
  EXPECT_EQ(r.first, first) << header;
  EXPECT_EQ(r.last, last) << header;
  EXPECT_EQ(r.length(), last - first + 1) << header;
}

TEST(HttpRange, SingleRangesOfEachForm) {
  expect_partial("bytes=0-99", 1000, 0, 99);
  expect_partial("bytes=100-", 1000, 100, 999);
  expect_partial("bytes=-100", 1000, 900, 999);
  expect_partial("bytes=5-5", 1000, 5, 5);
  expect_partial("bytes=999-999", 1000, 999, 999);
  expect_partial("Bytes = 10-20 ", 1000, 10, 20);  // unit case-insensitive, blanks around
}

TEST(HttpRange, EndsPastTheSizeAreClamped) {
  expect_partial("bytes=900-5000", 1000, 900, 999);
  expect_partial("bytes=-5000", 1000, 0, 999);  // a suffix longer than the file: all of it
  expect_partial("bytes=0-18446744073709551", 10, 0, 9);
}

TEST(HttpRange, StartsPastTheEndAreUnsatisfiable) {
  EXPECT_EQ(parse_byte_range("bytes=1000-", 1000).verdict, RangeVerdict::unsatisfiable);
  EXPECT_EQ(parse_byte_range("bytes=1000-2000", 1000).verdict, RangeVerdict::unsatisfiable);
  EXPECT_EQ(parse_byte_range("bytes=-0", 1000).verdict, RangeVerdict::unsatisfiable);
  EXPECT_EQ(parse_byte_range("bytes=0-", 0).verdict, RangeVerdict::unsatisfiable);
  EXPECT_EQ(parse_byte_range("bytes=-5", 0).verdict, RangeVerdict::unsatisfiable);
  EXPECT_EQ(parse_byte_range("bytes=1000-", 1000).length(), 0u);
}

TEST(HttpRange, MalformedOrSeveralRangesAreIgnored) {
  for (const char* h : {"", "bytes", "bytes=", "bytes=-", "bytes=a-b", "bytes=5-1", "bytes=0-1,5-6", "items=0-1",
                        "bytes=+1-2", "bytes=1-2-3", "bytes=0x10-", "bytes=--1", "bytes =1 -2", "bytes=1 2-3",
                        "bytes=99999999999999999999-", "bytes=-99999999999999999999", "bytes=\xff-1"})
    EXPECT_EQ(parse_byte_range(h, 1000).verdict, RangeVerdict::whole) << h;
  const std::string long_header = "bytes=0-1" + std::string(kMaxRangeHeader, ' ');
  EXPECT_EQ(parse_byte_range(long_header, 1000).verdict, RangeVerdict::whole);
}

}  // namespace
}  // namespace estuary
