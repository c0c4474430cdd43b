// kleened when parts of the host fail or run out: a plugin that crashes while it loads, a
// zfs-fuse daemon that is not there, a pool that runs full, the number of mounts zfs-fuse can
// hold. Each gives a clear error or is avoided, and kleened keeps serving what still works.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "container_fixture.hpp"

namespace kleene::it {
namespace {

namespace fs = std::filesystem;

class DegradedTest : public ImageKleenedTest {
 protected:
  ProcessResult klee(std::vector<std::string> args) {
    args.insert(args.begin(), {"--host", unix_host()});
    return run_klee(args);
  }
};

#ifdef KLEENE_IT_CRASH_PLUGIN
// A third-party plugin that dies of SIGSEGV in its entry point: kleened refuses it (the plugin
// was tried in a child process first), logs why, and loads and serves everything else.
TEST_F(DegradedTest, APluginThatCrashesOnLoadIsRefusedAndKleenedServes) {
  const fs::path extra = fs::path(dir.path()) / "extra-plugins";
  fs::create_directories(extra);
  fs::copy_file(KLEENE_IT_CRASH_PLUGIN, extra / "klcrash.so");
  daemon.config()["plugin_dirs"].push_back(extra.string());
  ASSERT_NO_FATAL_FAILURE(start_with_image());
  const auto log = read_file(daemon.log_file());
  EXPECT_TRUE(contains(log, "refused plugin " + (extra / "klcrash.so").string() +
                                ": crashed while loading (signal 11"))
      << log;
  auto plugins = klee({"plugin", "ls"});
  ASSERT_EQ(plugins.exit_code, 0) << describe(plugins);
  EXPECT_TRUE(contains(plugins.out, "zfs")) << plugins.out;
  EXPECT_FALSE(contains(plugins.out, "crash-entry")) << plugins.out;
  auto ran = klee({"run", "busybox", "/bin/echo", "still serving"});
  EXPECT_EQ(ran.exit_code, 0) << describe(ran);
  EXPECT_TRUE(contains(ran.out, "still serving")) << describe(ran);
  remove_everything();
}
#endif

// No zfs-fuse daemon (the zfs tools answer as they do when it is not running, and there is no
// zfs-fuse to start): storage is not ready, the reason is zfs's own, and kleened serves what
// needs no storage.
TEST_F(DegradedTest, WithoutTheZfsDaemonStorageSaysWhyAndTheRestServes) {
  const fs::path tools = fs::path(dir.path()) / "tools";
  fs::create_directories(tools);
  for (const char* tool : {"zfs", "zpool"}) {
    const auto path = tools / tool;
    std::ofstream(path) << "#!/bin/sh\necho 'connect: No such file or directory' >&2\n"
                           "echo 'Please make sure that the zfs-fuse daemon is running.' >&2\n"
                           "echo 'internal error: failed to initialize ZFS library' >&2\nexit 1\n";
    ::chmod(path.c_str(), 0755);
  }
  daemon.config()["kleene_root"] = "klnozfs/kleene";
  daemon.config()["plugins"] = json{{"zfs",
                                     {{"zfs", (tools / "zfs").string()},
                                      {"zpool", (tools / "zpool").string()},
                                      {"zfs_fuse", (tools / "no-zfs-fuse").string()}}}};
  ASSERT_TRUE(daemon.start());
  auto images = klee({"image", "ls"});
  EXPECT_EQ(images.exit_code, 1) << describe(images);
  EXPECT_TRUE(images.err.starts_with("storage is not ready: ")) << describe(images);
  // kleened tried to start the daemon, and says what failed.
  EXPECT_TRUE(contains(images.err, (tools / "no-zfs-fuse").string())) << describe(images);
  auto networks = klee({"network", "ls"});
  EXPECT_EQ(networks.exit_code, 0) << describe(networks);
  auto plugins = klee({"plugin", "ls"});
  EXPECT_EQ(plugins.exit_code, 0) << describe(plugins);
  // Containers live on the pool: they say the same as images.
  auto containers = klee({"lsc", "-a"});
  EXPECT_EQ(containers.exit_code, 1) << describe(containers);
  EXPECT_TRUE(containers.err.starts_with("storage is not ready: ")) << describe(containers);
  EXPECT_TRUE(daemon.stop());
}

// A pool that runs full: writes in a container fail with ENOSPC, kleened's own operations fail
// with zfs's message, listing still works, and once space is freed everything works again.
TEST_F(DegradedTest, AFullPoolGivesClearErrorsAndRecovers) {
  ASSERT_FALSE(busybox_tarball().empty());
  daemon.config()["stop_timeout"] = 2;
  ASSERT_NO_FATAL_FAILURE(start_on_pool({.size = "96M"}));
  auto created = WsClient::run(
      daemon.socket_path(), "/images/create",
      json{{"method", "fetch"}, {"url", "file://" + busybox_tarball()}, {"tag", "busybox"}}.dump());
  ASSERT_EQ(created.close_code, 1000) << created.close_reason << created.output();
  image_id_ = json::parse(created.close_reason)["data"];

  // Fill it from inside a container (random data: nothing compresses it away).
  auto filled = klee({"run", "--name", "klfill", "-m", "klfull:/data", "busybox", "/bin/sh", "-c",
                      "dd if=/dev/urandom of=/data/fill bs=1M count=200 2>&1; echo dd=$?"});
  EXPECT_TRUE(contains(filled.out, "No space left on device")) << describe(filled);

  // kleened's own writes now fail with a message that says why; reads still work.
  auto volume = klee({"volume", "create", "klmore"});
  auto second = klee({"run", "--name", "klmore", "busybox", "/bin/sh", "-c",
                      "dd if=/dev/urandom of=/big bs=1M count=50"});
  EXPECT_NE(second.exit_code, 0) << describe(second);
  const std::string said = lower(volume.err + second.out + second.err);
  EXPECT_TRUE(contains(said, "space") || contains(said, "quota")) << said;
  auto listed = klee({"lsc", "-a"});
  EXPECT_EQ(listed.exit_code, 0) << describe(listed);
  EXPECT_TRUE(contains(listed.out, "klfill")) << listed.out;

  // Free the space: everything works again.
  EXPECT_EQ(klee({"rmc", "klfill"}).exit_code, 0);
  (void)klee({"rmc", "klmore"});
  EXPECT_EQ(klee({"volume", "rm", "klfull"}).exit_code, 0);
  (void)klee({"volume", "rm", "klmore"});
  auto again = klee({"run", "--name", "klagain", "busybox", "/bin/echo", "space again"});
  EXPECT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_TRUE(contains(again.out, "space again")) << describe(again);
  remove_everything();
}

// The container datasets mounted now, from the mount table (zfs-fuse holds ~1000 mounts).
std::set<std::string> mounted_containers(const std::string& root) {
  std::set<std::string> found;
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    const auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype, source;
    if ((tail >> fstype >> source) && (fstype == "zfs" || fstype == "fuse.zfs") &&
        source.starts_with(root + "/container/"))
      found.insert(source);
  }
  return found;
}

// With max_mounted_containers, creates and starts unmount the oldest stopped containers beyond
// the budget; an unmounted one starts as before (mounted again), and removes work.
TEST_F(DegradedTest, StoppedContainersAreUnmountedBeyondTheMountBudget) {
  daemon.config()["max_mounted_containers"] = 2;
  ASSERT_NO_FATAL_FAILURE(start_with_image());
  std::size_t most = 0;
  for (int i = 0; i < 6; ++i) {
    auto created = klee({"container", "create", "--name", "klmb" + std::to_string(i), "busybox",
                         "/bin/echo", "ran " + std::to_string(i)});
    ASSERT_EQ(created.exit_code, 0) << describe(created);
    most = std::max(most, mounted_containers(root_).size());
  }
  EXPECT_LE(most, 2u);
  // The first container was unmounted long ago: it starts (mounted again) and runs its command.
  auto started = klee({"container", "start", "-a", "klmb0"});
  EXPECT_EQ(started.exit_code, 0) << describe(started);
  EXPECT_TRUE(contains(started.out, "ran 0")) << describe(started);
  EXPECT_LE(mounted_containers(root_).size(), 2u);
  remove_everything();
  EXPECT_TRUE(mounted_containers(root_).empty());
}

}  // namespace
}  // namespace kleene::it
