// The SDK seen from the host: an SDK-built driver's ops round-trip JSON, read their config, use
// the host services, and every exception becomes a status (fixtures/sdk_good.cpp).
#include <cerrno>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "plugin/registry.hpp"
#include "test_support.hpp"

namespace kleene::plugin {
namespace {

using test::fixture;
using test::LogCapture;
using ::testing::HasSubstr;
using ::testing::SizeIs;

class SdkPlugin : public ::testing::Test {
 protected:
  SdkPlugin() : registry_(HostOptions{{{"sdk-good", {{"answer", 42}}}, {"other", {{"x", 1}}}}}) {}

  void SetUp() override {
    auto loaded = registry_.load_file(fixture("sdk_good"));
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
    plugin_ = registry_.find("sdk-good", Kind::network);
    ASSERT_NE(plugin_, nullptr);
  }

  Registry registry_;
  LoadedPlugin* plugin_ = nullptr;
};

TEST_F(SdkPlugin, ReportsItsDescriptor) {
  const PluginInfo& info = plugin_->info();
  EXPECT_EQ(info.version, "2.0.0");
  EXPECT_EQ(info.description, "an SDK test driver");
  EXPECT_EQ(info.abi_major, static_cast<uint32_t>(KLEENE_PLUGIN_ABI_MAJOR));
  EXPECT_EQ(info.abi_minor, static_cast<uint32_t>(KLEENE_PLUGIN_ABI_MINOR));
  EXPECT_EQ(info.capability_names, (std::vector<std::string>{"connect_while_running", "custom"}));
  // The SDK fills every op; the ones the class does not override answer "not implemented".
  EXPECT_TRUE(plugin_->supports("delete_endpoint"));
}

TEST_F(SdkPlugin, RoundTripsJsonAndSeesItsConfig) {
  const nlohmann::json request = {{"name", "kl-net"}, {"ids", {1, 2, 3}}, {"utf8", "héllo ✓"}};
  auto result = plugin_->call("create_network", request);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_EQ((*result)["request"], request);
  EXPECT_EQ((*result)["config"], (nlohmann::json{{"answer", 42}}));
}

TEST_F(SdkPlugin, UsesHostServices) {
  LogCapture log;
  const nlohmann::json request = {{"argv", {"/bin/echo", "kleene", "plugin"}}};
  auto result = plugin_->call("create_endpoint", request);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_EQ((*result)["exit_code"], 0);
  EXPECT_EQ((*result)["out"], "kleene plugin\n");
  EXPECT_EQ((*result)["err"], "");
  EXPECT_THAT(log.lines("info"), testing::Contains("info [plugin sdk-good] running /bin/echo"));
}

TEST_F(SdkPlugin, PassesStdinAndExitCodes) {
  auto cat = plugin_->call("create_endpoint", {{"argv", {"/bin/cat"}}, {"stdin", "from stdin"}});
  ASSERT_TRUE(cat.has_value()) << cat.error().message;
  EXPECT_EQ((*cat)["out"], "from stdin");
  auto failing = plugin_->call("create_endpoint", {{"argv", {"/bin/false"}}});
  ASSERT_TRUE(failing.has_value()) << failing.error().message;
  EXPECT_EQ((*failing)["exit_code"], 1);
}

TEST_F(SdkPlugin, RunOfARelativeProgramIsAnError) {
  auto result = plugin_->call("create_endpoint", {{"argv", {"echo", "x"}}});
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, EINVAL);
  EXPECT_THAT(result.error().message, HasSubstr("sdk-good: "));
  EXPECT_THAT(result.error().message, HasSubstr("'echo'"));

  auto missing = plugin_->call("create_endpoint", {{"argv", {"/nonexistent/kl-prog"}}});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ENOENT);
  EXPECT_EQ(missing.error().message, "sdk-good: /nonexistent/kl-prog: No such file or directory");
}

TEST_F(SdkPlugin, ExceptionsBecomeStatuses) {
  auto not_found = plugin_->call("delete_network", {});
  ASSERT_FALSE(not_found.has_value());
  EXPECT_EQ(not_found.error().code, ENOENT);
  EXPECT_EQ(not_found.error().message, "sdk-good: no such network");

  auto std_exception = plugin_->call("join", {});
  ASSERT_FALSE(std_exception.has_value());
  EXPECT_EQ(std_exception.error().code, EIO);
  EXPECT_EQ(std_exception.error().message, "sdk-good: boom");

  auto unknown = plugin_->call("leave", {});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, EIO);
  EXPECT_EQ(unknown.error().message, "sdk-good: unknown exception");

  // A request of the wrong shape (no "argv") is the caller's mistake: EINVAL.
  auto bad_shape = plugin_->call("create_endpoint", {{"name", "x"}});
  ASSERT_FALSE(bad_shape.has_value());
  EXPECT_EQ(bad_shape.error().code, EINVAL);
  EXPECT_THAT(bad_shape.error().message, HasSubstr("invalid request"));
}

TEST_F(SdkPlugin, UnimplementedOpsSayNotImplementedYet) {
  auto result = plugin_->call("delete_endpoint", {});
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ENOSYS);
  EXPECT_EQ(result.error().message, "sdk-good: delete_endpoint is not implemented yet");
}

TEST(SdkCreate, AFailingConstructorRefusesThePlugin) {
  LogCapture log;
  Registry registry(HostOptions{{{"sdk-good", {{"fail", true}}}}});
  auto result = registry.load_file(fixture("sdk_good"));
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, EINVAL);
  ASSERT_THAT(registry.refusals(), SizeIs(1));
  EXPECT_EQ(registry.refusals()[0].reason, "create failed: sdk-good: config says fail");
  EXPECT_TRUE(registry.list().empty());
}

}  // namespace
}  // namespace kleene::plugin
