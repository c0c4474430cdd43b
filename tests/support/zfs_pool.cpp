#include "support/zfs_pool.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "support/zfs_daemon.hpp"
#include "util/random.hpp"

namespace kleene::test {
namespace {

namespace fs = std::filesystem;

std::string random_hex(std::size_t digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (std::size_t i = 0; i < digits; ++i)
    text += kHex[random_below(16)];
  return text;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) result.push_back(line);
  return result;
}

}  // namespace

Result<ProcessResult> run_tool_raw(const std::vector<std::string>& argv) {
  // The same host-wide lock as the storage-zfs plugin's (its `command_lock`): zfs-fuse
  // deadlocks when several processes run zfs/zpool commands at once.
  UniqueFd lock;
  std::error_code ec;
  const std::string program = argv.empty() ? std::string() : fs::path(argv[0]).filename().string();
  if ((program == "zfs" || program == "zpool") && !fs::exists("/dev/zfs", ec)) {
    lock = UniqueFd(::open(kZfsCommandLock, O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    while (lock && ::flock(lock.get(), LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ProcessSpec spec;
  spec.argv = argv;
  // The tools' messages are matched in tests: keep them in English.
  spec.env = std::vector<std::string>{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"};
  spec.timeout = std::chrono::minutes(2);
  return run_process(spec);
}

Result<std::string> run_tool(const std::vector<std::string>& argv) {
  auto result = TRY(run_tool_raw(argv));
  if (result.exit_code != 0) {
    std::string command;
    for (const auto& arg : argv)
      command += (command.empty() ? "" : " ") + arg;
    return make_error(EIO, command + ": exit " + std::to_string(result.exit_code) + ": " +
                               result.err + result.out);
  }
  return result.out;
}

Result<void> destroy_pool(const ZfsTools& tools, const std::string& name) {
  if (!run_tool({tools.zpool, "list", "-H", "-o", "name", name})) return {};
  Result<std::string> destroyed = make_error(EBUSY, "not tried");
  for (int attempt = 0; attempt < 6; ++attempt) {
    destroyed = run_tool({tools.zpool, "destroy", "-f", name});
    if (destroyed) return {};
    // "pool is busy": unmounting the root dataset unmounts its descendants too. Bounded
    // backoff: zfs-fuse gives no signal for when a mount stops being busy.
    (void)run_tool({tools.zfs, "unmount", "-f", name});
    std::this_thread::sleep_for(std::chrono::milliseconds(20 << attempt));
  }
  return std::unexpected(destroyed.error());
}

Result<std::unique_ptr<TestPool>> TestPool::create(TestPoolOptions options) {
  char dir_template[] = "/tmp/kltest.XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) return errno_error("mkdtemp /tmp/kltest.XXXXXX");
  std::unique_ptr<TestPool> pool(
      new TestPool(std::move(options), "kltest" + random_hex(6), fs::path(dir_template)));
  // From here on the destructor cleans up whatever was made.
  auto lock = TRY(detail::ServiceLock::acquire());
  const auto& tools = pool->options_.tools;
  TRY(detail::ensure_zfs_service(tools, pool->dir_, detail::kTestPoolPidfile));

  {
    const std::string file = pool->file().string();
    UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd) return errno_error("create " + file);
  }
  TRY(run_tool({"/usr/bin/truncate", "-s", pool->options_.size, pool->file().string()}));
  // cachefile=none: a test pool must never be re-imported by a restarted zfs-fuse.
  TRY(pool->zpool({"create", "-o", "cachefile=none", "-m", pool->mountpoint().string(), pool->name_,
                   pool->file().string()}));
  return pool;
}

TestPool::~TestPool() {
  destroy();
}

void TestPool::destroy() {
  auto lock = detail::ServiceLock::acquire();
  (void)destroy_pool(options_.tools, name_);
  std::error_code ec;
  fs::remove_all(dir_, ec);
  (void)detail::stop_zfs_fuse_if_idle(options_.tools, detail::kTestPoolPidfile);
}

std::vector<std::string> TestPool::list_all() const {
  auto out = zfs({"list", "-H", "-o", "name", "-t", "all", "-r", name_});
  if (!out) return {"<zfs list failed: " + out.error().message + ">"};
  std::vector<std::string> names = lines(*out);
  std::erase(names, name_);
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::string> TestPool::zfs(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{options_.tools.zfs};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_tool(argv);
}

Result<std::string> TestPool::zpool(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{options_.tools.zpool};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_tool(argv);
}

nlohmann::json TestPool::plugin_config() const {
  return {{"zfs", options_.tools.zfs},
          {"zpool", options_.tools.zpool},
          {"zfs_fuse", options_.tools.zfs_fuse},
          {"pool_cachefile", "none"}};
}

}  // namespace kleene::test
