// Owns: tests of the line-aware key file scanner (line numbers, syntax errors, continuation,
// escapes).
#include "server/config/key_file_scanner.h"

#include <gtest/gtest.h>

namespace estuary::config {
namespace {

TEST(KeyFileScanner, RecordsGroupAndKeyLines) {
  auto r = scan_key_file("f.conf",
                         "# comment\n"
                         "\n"
                         "[a]\n"
                         "x = 1\n"
                         "  # indented comment\n"
                         "  y=two words  \n"
                         "[b]\r\n"
                         "z =\r\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->groups.size(), 2u);
  EXPECT_EQ(r->groups[0].name, "a");
  EXPECT_EQ(r->groups[0].line, 3);
  ASSERT_EQ(r->groups[0].entries.size(), 2u);
  EXPECT_EQ(r->groups[0].entries[0].key, "x");
  EXPECT_EQ(r->groups[0].entries[0].raw_value, "1");
  EXPECT_EQ(r->groups[0].entries[0].line, 4);
  EXPECT_EQ(r->groups[0].entries[1].key, "y");
  EXPECT_EQ(r->groups[0].entries[1].raw_value, "two words  ");  // GKeyFile keeps trailing blanks
  EXPECT_EQ(r->groups[0].entries[1].line, 6);
  EXPECT_EQ(r->groups[1].name, "b");
  EXPECT_EQ(r->groups[1].line, 7);
  ASSERT_EQ(r->groups[1].entries.size(), 1u);
  EXPECT_EQ(r->groups[1].entries[0].raw_value, "");
  EXPECT_EQ(r->groups[1].entries[0].line, 8);
}

TEST(KeyFileScanner, SyntaxErrorNamesLine) {
  auto r = scan_key_file("f.conf", "[a]\nx = 1\nthis is not a key\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("f.conf:3: syntax error", 0), 0u) << r.error().message;
}

TEST(KeyFileScanner, MalformedGroupHeader) {
  auto r = scan_key_file("f.conf", "[a]\n\n[b\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("f.conf:3: malformed group header", 0), 0u) << r.error().message;
  r = scan_key_file("f.conf", "[a] trailing\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("f.conf:1: malformed group header", 0), 0u) << r.error().message;
  r = scan_key_file("f.conf", "[]\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("f.conf:1: invalid group name", 0), 0u) << r.error().message;
}

TEST(KeyFileScanner, KeyBeforeGroup) {
  auto r = scan_key_file("f.conf", "\nport = 1\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "f.conf:2: key \"port\" appears before the first [group]");
}

TEST(KeyFileScanner, EmptyKeyIsSyntaxError) {
  auto r = scan_key_file("f.conf", "[a]\n= 1\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("f.conf:2: syntax error", 0), 0u) << r.error().message;
}

TEST(KeyFileScanner, DuplicateKeyAndGroup) {
  auto r = scan_key_file("f.conf", "[a]\nx = 1\ny = 2\nx = 3\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "f.conf:4: [a] x: duplicate key (first set on line 2)");
  r = scan_key_file("f.conf", "[a]\nx = 1\n[b]\nx = 1\n[a]\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "f.conf:5: duplicate group [a] (first on line 1)");
}

TEST(KeyFileScanner, Continuation) {
  auto r = scan_key_file("f.conf",
                         "[a]\n"
                         "launch = one ! \\\n"
                         "    two \\\n"
                         "\tthree\n"
                         "next = \\\\\n"
                         "last = x\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& entries = r->groups[0].entries;
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].raw_value, "one !  two  three");
  EXPECT_EQ(entries[0].line, 2);
  EXPECT_EQ(entries[1].raw_value, "\\\\");  // escaped backslash, not a continuation
  EXPECT_EQ(entries[1].line, 5);
  EXPECT_EQ(entries[2].line, 6);
}

TEST(KeyFileScanner, ContinuationAtEndOfFile) {
  auto r = scan_key_file("f.conf", "[a]\nx = 1\nlaunch = a \\\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("f.conf:3: line continuation", 0), 0u) << r.error().message;
}

TEST(KeyFileScanner, ContinuedLineIsNotParsedAsComment) {
  auto r = scan_key_file("f.conf", "[a]\nx = a \\\n# b\ny = 1\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->groups[0].entries[0].raw_value, "a  # b");
  EXPECT_EQ(r->groups[0].entries[1].line, 4);
}

TEST(KeyFileScanner, NulByteIsAnError) {
  auto r = scan_key_file("f.conf", std::string_view("[a]\nx = 1\0\n", 10));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("f.conf:2: ", 0), 0u) << r.error().message;
}

TEST(KeyFileScanner, MissingFile) {
  auto r = scan_key_file_path("/nonexistent/estuary.conf");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("/nonexistent/estuary.conf: cannot read", 0), 0u) << r.error().message;
}

TEST(KeyFileScanner, UnescapesLikeGKeyFile) {
  auto v = unescape_value("\\sa\\tb\\\\c");
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, " a\tb\\c");
  auto bad = unescape_value("bad \\q escape");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.rfind("invalid escape sequence \"\\q\"", 0), 0u) << bad.error().message;
  auto utf8 = unescape_value("caf\xE9");
  ASSERT_FALSE(utf8.ok());
  EXPECT_EQ(utf8.error().message, "value is not valid UTF-8");
}

}  // namespace
}  // namespace estuary::config
