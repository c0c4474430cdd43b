// A throw-away ZFS pool for tests: `kltest<6hex>` on a sparse file in a fresh temp dir, mounted
// below that dir, destroyed with its file and dir when the TestPool goes away. Works with kernel
// ZFS (/dev/zfs) and with zfs-fuse, which it starts if nothing serves ZFS yet; the last TestPool
// to go (in any process) stops that zfs-fuse again by its PID. A zfs-fuse started by anyone
// else is never stopped.
//
//   auto pool = kleene::test::TestPool::create();
//   ASSERT_TRUE(pool) << pool.error().message;
//   (*pool)->zfs({"create", (*pool)->dataset("a")});
//   EXPECT_EQ((*pool)->list_all(), std::vector<std::string>{(*pool)->dataset("a")});
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/error.hpp"
#include "util/process.hpp"

namespace kleene::test {

// Held (flock) around every zfs/zpool command when zfs-fuse serves ZFS; the storage-zfs
// plugin's default `command_lock`.
inline constexpr const char* kZfsCommandLock = "/run/kleene-zfs-fuse.lock";

struct ZfsTools {
  std::string zfs = "/usr/sbin/zfs";
  std::string zpool = "/usr/sbin/zpool";
  std::string zfs_fuse = "/usr/sbin/zfs-fuse";
};

struct TestPoolOptions {
  std::string size = "256M";  // of the sparse file; what `truncate -s` takes
  ZfsTools tools;
};

class TestPool {
 public:
  static Result<std::unique_ptr<TestPool>> create(TestPoolOptions options = {});
  ~TestPool();  // destroys the pool, its file and dir; stops zfs-fuse if it started it
  TestPool(const TestPool&) = delete;
  TestPool& operator=(const TestPool&) = delete;

  const std::string& name() const { return name_; }  // the pool (= its root dataset)
  std::string dataset(std::string_view path) const { return name_ + "/" + std::string(path); }
  const std::filesystem::path& dir() const { return dir_; }  // the temp dir, for test files too
  std::filesystem::path mountpoint() const { return dir_ / "mnt"; }  // of the root dataset
  std::filesystem::path file() const { return dir_ / "pool.img"; }
  const ZfsTools& tools() const { return options_.tools; }

  // Every dataset and snapshot of the pool except the pool's root dataset, sorted: empty
  // after a test that cleaned up.
  std::vector<std::string> list_all() const;

  // Run the tools directly (argv without the program); a non-zero exit is an error carrying
  // stderr.
  Result<std::string> zfs(const std::vector<std::string>& args) const;
  Result<std::string> zpool(const std::vector<std::string>& args) const;

  // Settings for the storage-zfs plugin (`plugins: {zfs: ...}`) that match this pool's tools
  // and keep pools it creates out of the system's zpool.cache.
  nlohmann::json plugin_config() const;

 private:
  TestPool(TestPoolOptions options, std::string name, std::filesystem::path dir)
      : options_(std::move(options)), name_(std::move(name)), dir_(std::move(dir)) {}
  void destroy();

  TestPoolOptions options_;
  std::string name_;
  std::filesystem::path dir_;
};

// Destroy a pool a test made by other means (e.g. through `kleened init`), getting past
// zfs-fuse's "pool is busy" right after a mount. Missing pools are fine.
Result<void> destroy_pool(const ZfsTools& tools, const std::string& name);

// Run a tool (argv[0] absolute); a non-zero exit becomes an error with the tool's stderr.
Result<std::string> run_tool(const std::vector<std::string>& argv);
// The same, with the exit code left to the caller.
Result<ProcessResult> run_tool_raw(const std::vector<std::string>& argv);

}  // namespace kleene::test
