#include <gtest/gtest.h>

#include "transport/close_reason.hpp"

namespace klee {
namespace {

TEST(WsMessage, ParsesKleeneCloseReason) {
  auto m = parse_ws_message(R"({"msg_type":"closing","message":"exited","data":"0"})");
  EXPECT_EQ(m.msg_type, "closing");
  EXPECT_EQ(m.message, "exited");
  EXPECT_EQ(m.data, "0");
}

TEST(WsMessage, MissingAndNonStringFields) {
  auto m = parse_ws_message(R"({"msg_type":"error","message":"bad"})");
  EXPECT_EQ(m.msg_type, "error");
  EXPECT_EQ(m.data, "");
  m = parse_ws_message(R"({"msg_type":"closing","message":null,"data":{"exit_code":3}})");
  EXPECT_EQ(m.message, "");
  EXPECT_EQ(m.data, R"({"exit_code":3})");
}

TEST(WsMessage, NonJsonReasonIsKeptAsMessage) {
  for (const char* raw : {"interrupted by user", "", "[1,2]", R"({"message":"no type"})",
                          R"({"msg_type":"closing","message":"cut)"}) {
    auto m = parse_ws_message(raw);
    EXPECT_EQ(m.msg_type, "") << raw;
    EXPECT_EQ(m.message, raw);
  }
}

// A frame nested a million levels deep is kept as text, not dumped recursively.
TEST(WsMessage, DeepFramesAreKeptAsText) {
  const std::string deep = R"({"msg_type":"closing","data":)" + std::string(1'000'000, '[') +
                           std::string(1'000'000, ']') + "}";
  auto m = parse_ws_message(deep);
  EXPECT_EQ(m.msg_type, "");
  EXPECT_EQ(m.message, deep);
  EXPECT_FALSE(is_ws_message(deep, "closing"));
}

TEST(WsMessage, RecognisesStartingFrame) {
  EXPECT_TRUE(is_ws_message(R"({"msg_type":"starting","message":"","data":""})", "starting"));
  EXPECT_FALSE(is_ws_message(R"({"msg_type":"closing","message":"","data":""})", "starting"));
  EXPECT_FALSE(is_ws_message("starting", "starting"));
}

}  // namespace
}  // namespace klee
