// Storage::init: idempotent, a dry run changes nothing, a missing pool is reported (or, with
// create_pool, made on a sparse file and found again by import after an export).
#include <sys/stat.h>

#include "fixture.hpp"
#include "util/ids.hpp"

namespace kleene::storage::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::string> actions(const json& steps) {
  std::vector<std::string> result;
  for (const auto& step : steps)
    result.push_back(step.at("action").get<std::string>());
  return result;
}

bool changes_anything(const json& steps) {
  for (const auto& step : steps)
    if (step.at("change").get<bool>()) return true;
  return false;
}

TEST_F(StorageTest, InitIsIdempotent) {
  auto steps = storage_->init({});
  ASSERT_TRUE(steps) << steps.error().message;
  EXPECT_FALSE(changes_anything(*steps)) << steps->dump();
  const auto names = actions(*steps);
  ASSERT_EQ(names.size(), 6u) << steps->dump();
  EXPECT_TRUE(names[0] == "zfs-fuse is running" || names[0] == "kernel ZFS is available");
  EXPECT_EQ(names[1], "pool " + pool_->name() + " exists");
  EXPECT_EQ(names[2], "dataset " + ds("").substr(0, ds("").size() - 1) + " exists");
  EXPECT_EQ(names[5], "dataset " + ds("volumes") + " exists");
}

TEST_F(StorageTest, DryRunChangesNothingThenInitCreates) {
  Storage other(*plugin_, pool_->dataset("other/kleene"));
  auto plan = other.init({.create_pool = false, .dry_run = true});
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(pool_->list_all(), baseline_);
  const auto names = actions(*plan);
  ASSERT_EQ(names.size(), 6u) << plan->dump();
  EXPECT_EQ(names[2], "create dataset " + pool_->dataset("other/kleene"));
  EXPECT_EQ(names[3], "create dataset " + pool_->dataset("other/kleene/image"));
  EXPECT_FALSE((*plan)[2].at("done").get<bool>());
  EXPECT_TRUE((*plan)[2].at("change").get<bool>());

  auto done = other.init({});
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_TRUE((*done)[5].at("done").get<bool>());
  EXPECT_TRUE(other.exists(pool_->dataset("other/kleene/volumes")).value());
  ASSERT_TRUE(other.destroy(pool_->dataset("other"), true));
}

// A second plugin instance whose pool file lives in the test's dir.
class PoolInitTest : public StorageTest {
 protected:
  void SetUp() override {
    StorageTest::SetUp();
    if (HasFatalFailure()) return;
    pool_name_ = "klinit" + generate_id().substr(0, 6);
    file_ = pool_->dir() / "state/pool.img";
    json config = pool_->plugin_config();
    config["pool_file"] = file_.string();
    config["pool_size"] = "128M";
    config["pool_mountpoint"] = (pool_->dir() / "initmnt").string();
    plugin::HostOptions options;
    options.plugin_config = {{"zfs", config}};
    init_registry_ = std::make_unique<plugin::Registry>(options);
    ASSERT_TRUE(init_registry_->load_file(KLEENE_BUILT_PLUGIN_DIR "/storage-zfs.so"));
    init_storage_ = std::make_unique<Storage>(*init_registry_->find("zfs", plugin::Kind::storage),
                                              pool_name_ + "/kleene");
  }
  void TearDown() override {
    if (pool_) {
      auto destroyed = test::destroy_pool(pool_->tools(), pool_name_);
      EXPECT_TRUE(destroyed) << destroyed.error().message;
    }
    StorageTest::TearDown();
  }

  std::string pool_name_;
  fs::path file_;
  std::unique_ptr<plugin::Registry> init_registry_;
  std::unique_ptr<Storage> init_storage_;
};

TEST_F(PoolInitTest, AMissingPoolIsReportedWithoutCreatePool) {
  auto steps = init_storage_->init({});
  ASSERT_FALSE(steps);
  EXPECT_EQ(steps.error().code, ENOENT);
  EXPECT_NE(steps.error().message.find("pool " + pool_name_ + " does not exist"), std::string::npos)
      << steps.error().message;
  EXPECT_FALSE(fs::exists(file_));
}

TEST_F(PoolInitTest, CreatesAFileBackedPoolAndImportsItLater) {
  auto plan = init_storage_->init({.create_pool = true, .dry_run = true});
  ASSERT_TRUE(plan) << plan.error().message;
  const auto planned = actions(*plan);
  ASSERT_EQ(planned.size(), 6u) << plan->dump();
  EXPECT_EQ(planned[1], "create pool " + pool_name_ + " on " + file_.string() + " (128M, sparse)");
  EXPECT_EQ(planned[2], "create dataset " + pool_name_ + "/kleene");
  EXPECT_FALSE(fs::exists(file_));
  EXPECT_FALSE(fs::exists(file_.parent_path()));

  auto made = init_storage_->init({.create_pool = true});
  ASSERT_TRUE(made) << made.error().message;
  EXPECT_EQ(actions(*made), planned);
  struct stat st {};
  ASSERT_EQ(::stat(file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_LT(st.st_blocks * 512, 128 << 20);  // sparse
  ASSERT_EQ(::stat(file_.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_TRUE(init_storage_->exists(pool_name_ + "/kleene/container").value());

  auto again = init_storage_->init({.create_pool = true});
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(changes_anything(*again)) << again->dump();

  // After an export (a reboot, a zfs-fuse restart without cache) init imports the file.
  Result<std::string> exported = make_error(EBUSY, "not tried");
  for (int attempt = 0; attempt < 6 && !exported; ++attempt) {
    (void)pool_->zfs({"unmount", "-f", pool_name_});  // zfs-fuse: "pool is busy" otherwise
    exported = pool_->zpool({"export", pool_name_});
  }
  ASSERT_TRUE(exported) << exported.error().message;
  auto imported = init_storage_->init({});
  ASSERT_TRUE(imported) << imported.error().message;
  EXPECT_EQ(actions(*imported)[1], "import pool " + pool_name_ + " from " + file_.string());
  EXPECT_TRUE(init_storage_->exists(pool_name_ + "/kleene/image").value());
}

}  // namespace
}  // namespace kleene::storage::testing
