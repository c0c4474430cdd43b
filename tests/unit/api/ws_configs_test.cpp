// The config frames the WebSocket endpoints parse themselves, and an exec's resize frame
// (core/api/ws_configs.cpp): Kleene's reasons for a refusal, and what is accepted.
#include "api/ws_configs.hpp"

#include <gtest/gtest.h>

namespace kleene::api {
namespace {

using nlohmann::json;

TEST(ExecStartConfig, AllThreeFieldsTyped) {
  ExecStartConfig config;
  EXPECT_FALSE(parse_exec_start(
      json::parse(R"({"exec_id":"e1","attach":true,"start_container":false})"), config));
  EXPECT_EQ(config.exec_id, "e1");
  EXPECT_TRUE(config.attach);
  EXPECT_FALSE(config.start_container);
  EXPECT_EQ(parse_exec_start(json::parse(R"({"exec_id":"e1","attach":true})"), config),
            "Missing field: start_container");
  EXPECT_EQ(parse_exec_start(json::parse(R"({"exec_id":1,"attach":true,"start_container":false})"),
                             config),
            "exec_id: Invalid string");
  EXPECT_EQ(parse_exec_start(
                json::parse(R"({"exec_id":"e","attach":"yes","start_container":false})"), config),
            "attach: Invalid boolean");
  EXPECT_EQ(parse_exec_start(json::array(), config), "Missing field: exec_id");
}

TEST(ImageBuildConfig, DefaultsAndRefusals) {
  BuildRequest request;
  ASSERT_FALSE(parse_build_request(
      json::parse(R"({"context":"/ctx","container_config":{"image":"base"},"tag":"app:1"})"),
      request));
  EXPECT_EQ(request.plugin_request["dockerfile"], "Dockerfile");
  EXPECT_EQ(request.plugin_request["name"], "app");
  EXPECT_EQ(request.plugin_request["tag"], "1");
  EXPECT_EQ(request.plugin_request["from"], "base");
  EXPECT_EQ(request.plugin_request["cleanup"], true);
  EXPECT_FALSE(request.upload);
  const std::pair<const char*, const char*> bad[] = {
      {R"({"container_config":{}})", "Missing field: context"},
      {R"({"context":1,"container_config":{}})", "context: Invalid string"},
      {R"({"context":"/c","container_config":{},"buildargs":{"A":1}})",
       "buildargs/A: Invalid string"},
      {R"({"context":"/c","container_config":{},"quiet":"no"})", "quiet: Invalid boolean"},
      {R"({"context":"/c","container_config":{"cmd":"x"}})",
       "container_config/cmd: Invalid array. Got: string"},
  };
  for (const auto& [body, reason] : bad) {
    BuildRequest refused;
    EXPECT_EQ(parse_build_request(json::parse(body), refused), reason) << body;
  }
}

// Anything but two integers in 1..65535 is ignored (a string threw on the input thread once).
TEST(ResizeFrame, OnlyTwoIntegersInRange) {
  EXPECT_EQ(parse_resize(R"({"rows":24,"cols":80})"),
            (std::pair<unsigned short, unsigned short>{24, 80}));
  EXPECT_EQ(parse_resize(R"({"rows":65535,"cols":1})"),
            (std::pair<unsigned short, unsigned short>{65535, 1}));
  for (const char* bad : {R"({"rows":"24","cols":80})", R"({"rows":0,"cols":80})",
                          R"({"rows":65536,"cols":80})", R"({"rows":24.5,"cols":80})",
                          R"({"rows":24})", "[24,80]", "", "{", R"({"rows":-1,"cols":-1})"})
    EXPECT_FALSE(parse_resize(bad)) << bad;
  EXPECT_FALSE(parse_resize(std::string(100'000, '[')));
}

}  // namespace
}  // namespace kleene::api
