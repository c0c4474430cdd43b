#include <gtest/gtest.h>

#include "container/utf8.hpp"

namespace kleene::container {
namespace {

TEST(Utf8Framer, AsciiIsText) {
  Utf8Framer framer;
  auto frame = framer.push("hello\n");
  EXPECT_EQ(frame.data, "hello\n");
  EXPECT_FALSE(frame.binary);
  EXPECT_TRUE(framer.flush().data.empty());
}

TEST(Utf8Framer, HoldsBackASplitCharacter) {
  Utf8Framer framer;
  const std::string euro = "\xE2\x82\xAC";  // €
  auto first = framer.push("a" + euro.substr(0, 2));
  EXPECT_EQ(first.data, "a");
  EXPECT_FALSE(first.binary);
  auto second = framer.push(euro.substr(2) + "b");
  EXPECT_EQ(second.data, euro + "b");
  EXPECT_FALSE(second.binary);
}

TEST(Utf8Framer, InvalidBytesGoBinary) {
  Utf8Framer framer;
  auto frame =
      framer.push(std::string("a\xFF"
                              "b"));
  EXPECT_TRUE(frame.binary);
  EXPECT_EQ(frame.data, std::string("a\xFF"
                                    "b"));
  EXPECT_FALSE(framer.push(std::string("\xC0\x80")).data.empty());  // overlong: binary
}

TEST(Utf8Framer, TrailingIncompleteIsFlushedAsBinary) {
  Utf8Framer framer;
  EXPECT_TRUE(framer.push("\xF0\x9F").data.empty());
  auto rest = framer.flush();
  EXPECT_TRUE(rest.binary);
  EXPECT_EQ(rest.data, "\xF0\x9F");
}

TEST(Utf8Scan, Surrogates) {
  EXPECT_TRUE(scan_utf8("\xED\xA0\x80").invalid);
  EXPECT_FALSE(scan_utf8("\xED\x9F\xBF").invalid);
  EXPECT_TRUE(scan_utf8("\xF4\x90\x80\x80").invalid);
}

}  // namespace
}  // namespace kleene::container
