// The storage keys of kleened's config (the zfs plugin's own keys are its business).
#include <gtest/gtest.h>

#include "config/config.hpp"

namespace kleene::config {
namespace {

TEST(StorageConfig, DriverDefaultsToZfsAndCanBeNamed) {
  EXPECT_EQ(default_config().storage_driver, "zfs");
  auto config = parse_config("storage_driver: kltest\nkleene_root: tank/kl\n", "/x.yaml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->storage_driver, "kltest");
  EXPECT_EQ(config->kleene_root, "tank/kl");
}

TEST(StorageConfig, AnEmptyOrNonStringDriverIsRefused) {
  auto empty = parse_config("storage_driver: ''\n", "/x.yaml");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, "config /x.yaml: storage_driver: expected a plugin name");
  auto list = parse_config("storage_driver: [a]\n", "/x.yaml");
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error().message, "config /x.yaml: storage_driver: expected a string");
}

TEST(StorageConfig, PluginSettingsReachThePluginAsJson) {
  auto config =
      parse_config("plugins:\n  zfs:\n    pool_size: 20G\n    busy_retries: 3\n", "/x.yaml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->plugins["zfs"]["pool_size"], "20G");
  EXPECT_EQ(config->plugins["zfs"]["busy_retries"], 3);
}

TEST(StorageConfig, PluginCommandTimeoutIsSecondsWithADefault) {
  EXPECT_EQ(default_config().plugin_command_timeout, std::chrono::seconds(300));
  auto config = parse_config("plugin_command_timeout: 2.5\n", "/x.yaml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->plugin_command_timeout, std::chrono::milliseconds(2500));
  for (const char* bad : {"0", "-1", "ten", "100000", "[1]"}) {
    auto refused = parse_config(std::string("plugin_command_timeout: ") + bad + "\n", "/x.yaml");
    ASSERT_FALSE(refused) << bad;
    EXPECT_NE(refused.error().message.find("plugin_command_timeout: expected"), std::string::npos)
        << refused.error().message;
  }
}

}  // namespace
}  // namespace kleene::config
