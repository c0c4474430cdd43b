// A Storage facade over the real storage-zfs plugin on a fresh TestPool, with the root
// <pool>/kleene initialised. TearDown checks that the test left no dataset or snapshot behind.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "plugin/registry.hpp"
#include "storage/storage.hpp"
#include "support/zfs_pool.hpp"

namespace kleene::storage::testing {

class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pool = test::TestPool::create();
    ASSERT_TRUE(pool) << pool.error().message;
    pool_ = std::move(*pool);
    plugin::HostOptions options;
    options.plugin_config = {{"zfs", plugin_config()}};
    registry_ = std::make_unique<plugin::Registry>(options);
    auto loaded = registry_->load_file(KLEENE_BUILT_PLUGIN_DIR "/storage-zfs.so");
    ASSERT_TRUE(loaded) << loaded.error().message;
    plugin_ = registry_->find("zfs", plugin::Kind::storage);
    ASSERT_NE(plugin_, nullptr);
    storage_ = std::make_unique<Storage>(*plugin_, pool_->dataset("kleene"));
    auto steps = storage_->init({});
    ASSERT_TRUE(steps) << steps.error().message;
    baseline_ = pool_->list_all();
  }

  void TearDown() override {
    if (pool_ && !HasFatalFailure()) {
      EXPECT_EQ(pool_->list_all(), baseline_) << "leaked datasets";
    }
  }

  // The storage-zfs plugin's config (a test may wrap the zfs tool).
  virtual nlohmann::json plugin_config() { return pool_->plugin_config(); }

  std::string ds(const std::string& path) const { return pool_->dataset("kleene/" + path); }

  std::unique_ptr<test::TestPool> pool_;
  std::unique_ptr<plugin::Registry> registry_;
  plugin::LoadedPlugin* plugin_ = nullptr;
  std::unique_ptr<Storage> storage_;
  std::vector<std::string> baseline_;
};

}  // namespace kleene::storage::testing
