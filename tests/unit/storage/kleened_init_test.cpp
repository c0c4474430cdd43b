// `kleened init` (the binary) against a config whose pool file does not exist yet, and kleened
// serving with and without a ready pool.
#include <gtest/gtest.h>

#include <fstream>

#include "config/config.hpp"
#include "daemon/daemon.hpp"
#include "support/zfs_pool.hpp"
#include "util/ids.hpp"
#include "util/process.hpp"

namespace kleene::storage::testing {
namespace {

namespace fs = std::filesystem;

class KleenedInitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pool = test::TestPool::create();  // for the zfs service and a scratch dir
    ASSERT_TRUE(pool) << pool.error().message;
    pool_ = std::move(*pool);
    pool_name_ = "klinit" + generate_id().substr(0, 6);
    file_ = pool_->dir() / "state/pool.img";
    config_ = pool_->dir() / "config.yaml";
    std::ofstream(config_) << "kleene_root: " << pool_name_ << "/kleene\n"
                           << "plugin_dirs: [" << KLEENE_BUILT_PLUGIN_DIR << "]\n"
                           << "plugins:\n  zfs:\n"
                           << "    pool_file: " << file_.string() << "\n"
                           << "    pool_size: 128M\n"
                           << "    pool_mountpoint: " << (pool_->dir() / "mnt2").string() << "\n"
                           << "    pool_cachefile: none\n";
  }
  void TearDown() override {
    if (pool_) {
      auto destroyed = test::destroy_pool(pool_->tools(), pool_name_);
      EXPECT_TRUE(destroyed) << destroyed.error().message;
    }
  }

  ProcessResult kleened(std::vector<std::string> args) {
    ProcessSpec spec;
    spec.argv = {KLEENED_BINARY, "--config", config_.string()};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.timeout = std::chrono::minutes(1);
    auto result = run_process(spec);
    EXPECT_TRUE(result) << result.error().message;
    return result.value_or(ProcessResult{});
  }

  std::string expected(const std::string& prefix, bool pool_exists) const {
    const std::string root = pool_name_ + "/kleene";
    std::string text = pool_exists ? "pool " + pool_name_ + " exists\n"
                                   : prefix + "create pool " + pool_name_ + " on " +
                                         file_.string() + " (128M, sparse)\n";
    for (const auto& dataset : {root, root + "/image", root + "/container", root + "/volumes"})
      text += pool_exists ? "dataset " + dataset + " exists\n"
                          : prefix + "create dataset " + dataset + "\n";
    return text;
  }

  static std::string without_service_line(const std::string& out) {
    return out.substr(out.find('\n') + 1);  // "zfs-fuse is running" or "kernel ZFS ..."
  }

  std::unique_ptr<test::TestPool> pool_;
  std::string pool_name_;
  fs::path file_;
  fs::path config_;
};

TEST_F(KleenedInitTest, DryRunThenInitThenAgain) {
  auto dry = kleened({"init", "--dry-run"});
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(without_service_line(dry.out), expected("would ", false)) << dry.out;
  EXPECT_FALSE(fs::exists(file_));

  auto init = kleened({"init"});
  EXPECT_EQ(init.exit_code, 0) << init.err;
  EXPECT_EQ(without_service_line(init.out), expected("", false)) << init.out;
  EXPECT_TRUE(fs::exists(file_));
  EXPECT_TRUE(pool_->zfs({"list", pool_name_ + "/kleene/volumes"}));

  auto again = kleened({"init"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(without_service_line(again.out), expected("", true)) << again.out;
  auto dry_again = kleened({"init", "--dry-run"});
  EXPECT_EQ(without_service_line(dry_again.out), expected("would ", true)) << dry_again.out;
}

TEST_F(KleenedInitTest, FailureExitsOneWithTheReason) {
  std::ofstream(config_, std::ios::app) << "storage_driver: klnothing\n";
  auto init = kleened({"init"});
  EXPECT_EQ(init.exit_code, 1);
  EXPECT_EQ(init.err, "kleened init: storage plugin 'klnothing' is not loaded\n");
  EXPECT_FALSE(fs::exists(file_));
}

TEST_F(KleenedInitTest, ServingWithoutAPoolKeepsTheReasonAndWithOneIsReady) {
  auto config = config::load_config(config_, true);
  ASSERT_TRUE(config) << config.error().message;
  const fs::path run = pool_->dir() / "run";
  config->run_dir = run;
  config->pidfile = run / "kleened.pid";
  config->metadata_db = pool_->dir() / "metadata.sqlite";
  config->log_file = pool_->dir() / "kleened.log";
  config->api_listening_sockets = {
      config::parse_address("http://" + (run / "k.sock").string()).value()};
  daemon::DaemonOptions options;
  options.handle_signals = false;
  options.log_to_stderr = false;
  {
    auto daemon = daemon::Daemon::start(*config, options);
    ASSERT_TRUE(daemon) << daemon.error().message;
    const std::string reason = (*daemon)->wait_for_storage();
    EXPECT_NE(reason.find("pool " + pool_name_ + " does not exist"), std::string::npos) << reason;
    EXPECT_FALSE(fs::exists(file_));
  }
  ASSERT_EQ(kleened({"init"}).exit_code, 0);
  {
    auto daemon = daemon::Daemon::start(*config, options);
    ASSERT_TRUE(daemon) << daemon.error().message;
    EXPECT_EQ((*daemon)->wait_for_storage(), "");
  }
}

}  // namespace
}  // namespace kleene::storage::testing
