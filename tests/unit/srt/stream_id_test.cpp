// Owns: unit tests of the SRT stream id parser: SRS's #!:: syntax, bare ids and default modes,
// query pairs for hooks, and every way a stream id is refused (with its SRT reject code).
#include <gtest/gtest.h>

#include "server/protocols/srt/stream_id.h"

namespace estuary::srt {
namespace {

TEST(StreamId, SrsPublishSyntax) {
  auto r = parse_stream_id("#!::r=live/cam,m=publish", Mode::request);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->app, "live");
  EXPECT_EQ(r->stream, "cam");
  EXPECT_EQ(r->key(), "live/cam");
  EXPECT_EQ(r->mode, Mode::publish);
  EXPECT_EQ(r->query, "");
  EXPECT_EQ(r->host, "");
}

TEST(StreamId, RequestAndPlayAreTheSameMode) {
  auto a = parse_stream_id("#!::m=request,r=live/cam", Mode::publish);
  auto b = parse_stream_id("#!::r=live/cam,m=play", Mode::publish);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->mode, Mode::request);
  EXPECT_EQ(b->mode, Mode::request);
}

TEST(StreamId, MissingModeTakesTheDefault) {
  auto a = parse_stream_id("#!::r=live/cam", Mode::publish);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->mode, Mode::publish);
  auto b = parse_stream_id("#!::r=live/cam", Mode::request);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->mode, Mode::request);
}

TEST(StreamId, HostAndOtherPairsBecomeQuery) {
  auto r = parse_stream_id("#!::h=example.com,r=live/cam,token=good,m=publish,u=alice", Mode::request);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->host, "example.com");
  EXPECT_EQ(r->query, "token=good&u=alice");
  EXPECT_EQ(r->mode, Mode::publish);
}

TEST(StreamId, QueryInsideTheResource) {
  auto r = parse_stream_id("#!::r=live/cam?token=good&x=1,m=request,k=v", Mode::publish);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->key(), "live/cam");
  EXPECT_EQ(r->query, "token=good&x=1&k=v");
}

TEST(StreamId, BareIdUsesDefaultMode) {
  auto r = parse_stream_id("live/cam", Mode::publish);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->key(), "live/cam");
  EXPECT_EQ(r->mode, Mode::publish);
  auto q = parse_stream_id("/live/cam?token=abc", Mode::request);
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_EQ(q->key(), "live/cam");
  EXPECT_EQ(q->query, "token=abc");
  EXPECT_EQ(q->mode, Mode::request);
}

TEST(StreamId, MalformedIdsAreBadRequests) {
  const char* bad[] = {
      "",                                    // nothing
      "#!::",                                // no pairs
      "#!::m=publish",                       // no resource
      "#!::r=live,m=publish",                // no stream
      "#!::r=live/,m=publish",               // empty stream
      "#!::r=/cam,m=publish",                // empty app
      "#!::r=live/a/b,m=publish",            // two slashes
      "#!::r=live/c m,m=publish",            // space in the name
      "#!::r=live/../x,m=publish",           // a name starting with '.'
      "#!::r=live/cam,,m=publish",           // empty pair
      "#!::r=live/cam,publish",              // not key=value
      "#!::r=live/cam,=x",                   // empty key
      "#!::r=live/cam,r=live/other",         // r twice
      "#!::r=live/cam,m=publish,m=request",  // m twice
      "#!::r=live/cam,to ken=x",             // bad key
      "#!::r=live/cam,token=a\tb",           // control character in a value
      "#!::r=live/cam?token=a&&b=c",         // empty pair in the resource query
      "live",                                // bare id without a stream
      "#!:r=live/cam",                       // wrong prefix: bare id with bad characters
  };
  for (const char* text : bad) {
    auto r = parse_stream_id(text, Mode::request);
    EXPECT_FALSE(r.ok()) << "accepted: " << text;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, reject_bad_request) << text << ": " << r.error().message;
    }
  }
}

TEST(StreamId, UnknownModeIsBadMode) {
  auto r = parse_stream_id("#!::r=live/cam,m=bidirectional", Mode::request);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, reject_bad_mode);
  EXPECT_NE(r.error().message.find("bidirectional"), std::string::npos);
}

TEST(StreamId, LengthIsBounded) {
  std::string id = "#!::r=live/cam,m=publish,pad=" + std::string(max_stream_id_length, 'x');
  auto r = parse_stream_id(id, Mode::request);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, reject_bad_request);
}

TEST(StreamId, ModeNames) {
  Mode m;
  EXPECT_TRUE(parse_mode("publish", &m));
  EXPECT_EQ(m, Mode::publish);
  EXPECT_TRUE(parse_mode("request", &m));
  EXPECT_EQ(m, Mode::request);
  EXPECT_FALSE(parse_mode("PUBLISH", &m));
  EXPECT_STREQ(mode_name(Mode::publish), "publish");
  EXPECT_STREQ(mode_name(Mode::request), "request");
}

}  // namespace
}  // namespace estuary::srt
