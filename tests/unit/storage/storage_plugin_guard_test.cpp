// The storage-zfs plugin's guards against a ZFS service that hangs or is missing, run against
// stand-in zfs/zpool programs (no ZFS needed): a command that does not finish is stopped after
// the host's plugin command timeout with a message saying so, with zfs_fuse empty the plugin
// never starts one, and a stale zfs-fuse pidfile does not keep it from starting.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include "plugin/registry.hpp"
#include "storage/storage.hpp"

namespace kleene::storage::testing {
namespace {

namespace fs = std::filesystem;

// A private scratch directory, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "klguard.XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

class PluginGuardTest : public ::testing::Test {
 protected:
  // A stand-in tool: a shell script at dir/name with the given body.
  std::string tool(const std::string& name, const std::string& body) {
    const fs::path path = dir_.path() / name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    ::chmod(path.c_str(), 0755);
    return path.string();
  }

  void load(nlohmann::json config,
            std::chrono::milliseconds command_timeout = std::chrono::milliseconds(0)) {
    if (!config.contains("command_lock")) config["command_lock"] = "";
    config["pool_file"] = (dir_.path() / "pool.img").string();
    plugin::HostOptions options;
    options.plugin_config = {{"zfs", config}};
    options.command_timeout = command_timeout;
    registry_ = std::make_unique<plugin::Registry>(options);
    auto loaded = registry_->load_file(KLEENE_BUILT_PLUGIN_DIR "/storage-zfs.so");
    ASSERT_TRUE(loaded) << loaded.error().message;
    storage_ =
        std::make_unique<Storage>(*registry_->find("zfs", plugin::Kind::storage), "klguard/kleene");
  }

  ScratchDir dir_;
  std::unique_ptr<plugin::Registry> registry_;
  std::unique_ptr<Storage> storage_;
};

TEST_F(PluginGuardTest, AHangingCommandIsStoppedAfterCommandTimeout) {
  // The stand-in records its PID, then waits for ever.
  const fs::path pidfile = dir_.path() / "zfs.pid";
  load({{"zfs", tool("zfs", "echo $$ > " + pidfile.string() + "\nexec sleep 600")},
        {"zpool", tool("zpool", "exit 0")}},
       std::chrono::seconds(1));
  const auto started = std::chrono::steady_clock::now();
  auto mountpoint = storage_->mountpoint("klguard/kleene");
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(mountpoint);
  EXPECT_NE(mountpoint.error().message.find("/zfs did not finish within 1 s and was stopped"),
            std::string::npos)
      << mountpoint.error().message;
  EXPECT_LT(took, std::chrono::seconds(8));
  // kleened has ended the hanging program: its PID is gone (or reused by another program).
  std::ifstream in(pidfile);
  pid_t pid = 0;
  ASSERT_TRUE(in >> pid);
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  if (comm >> name) {
    EXPECT_NE(name, "sleep");
  }
}

TEST_F(PluginGuardTest, WithZfsFuseEmptyNoServiceIsStarted) {
  load({{"zfs", tool("zfs", "exit 1")},
        {"zpool", tool("zpool", "echo 'no ZFS here' >&2\nexit 1")},
        {"zfs_fuse", ""}});
  if (fs::exists("/dev/zfs")) GTEST_SKIP() << "kernel ZFS answers on this host";
  auto steps = storage_->init({});
  ASSERT_FALSE(steps);
  EXPECT_EQ(steps.error().code, ENOENT);
  EXPECT_NE(steps.error().message.find("plugins.zfs.zfs_fuse is empty"), std::string::npos)
      << steps.error().message;
}

TEST_F(PluginGuardTest, AStalePidfileDoesNotKeepZfsFuseFromStarting) {
  if (fs::exists("/dev/zfs")) GTEST_SKIP() << "kernel ZFS answers on this host";
  // Like zfs-fuse: refuse (exit 1, silently) while the pidfile exists; the stand-in zpool
  // answers once the stand-in zfs-fuse has "started".
  const fs::path started = dir_.path() / "started";
  const fs::path pidfile = dir_.path() / "zfs-fuse.pid";
  const pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ASSERT_GT(dead, 0);
  ASSERT_EQ(::waitpid(dead, nullptr, 0), dead);  // reaped: its PID names no process now
  std::ofstream(pidfile) << dead << "\n";
  load({{"zfs", tool("zfs", "exit 0")},
        {"zpool", tool("zpool", "[ -e " + started.string() + " ]")},
        {"zfs_fuse", tool("zfs-fuse", "[ -e \"$2\" ] && exit 1\ntouch " + started.string())},
        {"zfs_fuse_pidfile", pidfile.string()}});
  auto steps = storage_->init({.create_pool = false, .dry_run = false});
  ASSERT_TRUE(steps) << steps.error().message;
  EXPECT_EQ((*steps)[0].at("action"), "start zfs-fuse");
  EXPECT_TRUE(fs::exists(started));
  EXPECT_FALSE(fs::exists(pidfile));
}

// The children of this process other than `except` (a command run_command started, until
// reaped).
std::vector<pid_t> children_except(pid_t except) {
  std::vector<pid_t> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    std::ifstream in(entry.path() / "stat");
    pid_t pid = 0, parent = 0;
    std::string comm;
    char state = 0;
    if (in >> pid >> comm >> state >> parent && parent == ::getpid() && pid != except)
      found.push_back(pid);
  }
  return found;
}

// A kleened killed during a zfs command leaves that command running, and the command lock went
// with the kleened. The next kleened's storage init waits for it before a command of its own.
// The stand-in zfs is a copy of sleep(1), the command left running one the test started; the
// stand-in zpool notes whether that one still ran when zpool did.
TEST_F(PluginGuardTest, InitWaitsForACommandThatRunsWithoutTheLock) {
  if (fs::exists("/dev/zfs")) GTEST_SKIP() << "kernel ZFS: no command lock";
  const fs::path zfs = dir_.path() / "zfs";
  fs::copy_file("/bin/sleep", zfs);
  fs::permissions(zfs, fs::perms::owner_all);
  pid_t left = ::fork();
  if (left == 0) {
    ::execl(zfs.c_str(), "zfs", "600", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_GT(left, 0);
  struct Reaped {  // however the test ends, the command it started goes
    pid_t& pid;
    ~Reaped() {
      if (pid <= 0) return;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } reaped{left};
  // Started: its exe is the stand-in once /proc says so (exec is done).
  for (std::error_code ec;;) {
    const auto exe = fs::read_symlink("/proc/" + std::to_string(left) + "/exe", ec);
    ASSERT_FALSE(ec) << ec.message();
    if (exe == zfs) break;
    std::this_thread::yield();
  }
  const fs::path log = dir_.path() / "zpool.log";
  const std::string stat = "/proc/" + std::to_string(left) + "/stat";
  load({{"zfs", zfs.string()},
        {"zpool", tool("zpool", "state=$(cut -d' ' -f3 " + stat +
                                    " 2>/dev/null)\nif [ -n \"$state\" ] && [ \"$state\" != Z ]; "
                                    "then echo beside; else echo after; fi >> " +
                                    log.string())},
        {"zfs_fuse", ""},
        {"command_lock", (dir_.path() / "lock").string()}});

  std::atomic<pid_t> tid{0};
  std::atomic<bool> done{false};
  std::thread init([&] {
    tid = static_cast<pid_t>(::syscall(SYS_gettid));
    (void)storage_->init({.create_pool = false, .dry_run = false});
    done = true;
  });
  // Until init is done, or waits in poll with no command of its own running (so on `left`).
  const auto waiting = [&] {
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/syscall");
    long number = -1;
    return in >> number && (number == SYS_poll || number == SYS_ppoll) &&
           children_except(left).empty();
  };
  while (tid == 0 || (!done && !waiting()))
    std::this_thread::yield();
  const bool waited = !done;
  ::kill(left, SIGKILL);
  init.join();
  ::waitpid(left, nullptr, 0);
  left = 0;
  EXPECT_TRUE(waited) << "init did not wait for the command left running";
  std::ifstream in(log);
  const std::string zpool((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(zpool.substr(0, zpool.find('\n')), "after") << zpool;
}

TEST_F(PluginGuardTest, BadGuardSettingsAreRefusedNamingTheKey) {
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, nlohmann::json>>{{"zfs_fuse", "zfs-fuse"},
                                                           {"command_lock", "lock"},
                                                           {"busy_retries", 0},
                                                           {"fuse_read_ahead_kb", -1},
                                                           {"fuse_read_ahead_kb", 65537},
                                                           {"fuse_read_ahead_kb", "2M"}}) {
    SCOPED_TRACE(key + " = " + value.dump());
    plugin::HostOptions options;
    options.plugin_config = {{"zfs", {{key, value}}}};
    plugin::Registry registry(options);
    // The plugin refuses its settings when created: loading fails naming plugins.zfs.<key>.
    auto loaded = registry.load_file(KLEENE_BUILT_PLUGIN_DIR "/storage-zfs.so");
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().message.find("plugins.zfs." + key), std::string::npos)
        << loaded.error().message;
  }
}

}  // namespace
}  // namespace kleene::storage::testing
