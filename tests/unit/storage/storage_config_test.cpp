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

}  // namespace
}  // namespace kleene::config
