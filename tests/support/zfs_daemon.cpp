#include "support/zfs_daemon.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

namespace kleene::test::detail {
namespace {

using namespace std::chrono_literals;

// Backoff for waiting on an external daemon we cannot get a notification from.
template <typename Done>
bool wait_until(Done done, std::chrono::milliseconds limit) {
  auto delay = 5ms;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(delay);
    delay = std::min<std::chrono::milliseconds>(delay * 2, 200ms);
  }
  return true;
}

bool zpool_answers(const ZfsTools& tools) {
  return run_tool({tools.zpool, "list", "-H", "-o", "name"}).has_value();
}

bool is_zfs_fuse(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string argv0;
  std::getline(in, argv0, '\0');
  return argv0.find("zfs-fuse") != std::string::npos;
}

// A dead daemon whose reaping is up to whoever adopted it.
bool is_zombie(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  const auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
}

}  // namespace

Result<ServiceLock> ServiceLock::acquire() {
  UniqueFd fd(::open("/tmp/kleene-test-zfs.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return errno_error("open /tmp/kleene-test-zfs.lock");
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return errno_error("flock /tmp/kleene-test-zfs.lock");
  }
  return ServiceLock(std::move(fd));
}

Result<int> ensure_zfs_service(const ZfsTools& tools, const std::filesystem::path& scratch,
                               const std::filesystem::path& record) {
  std::error_code ec;
  if (std::filesystem::exists("/dev/zfs", ec) || zpool_answers(tools)) return 0;
  const auto pidfile = scratch / "zfs-fuse.pid";
  // zfs-fuse daemonizes itself; a non-zero exit usually means another one just started. No
  // /zfs-kstat mount: a test's zfs-fuse should leave nothing mounted outside its pools.
  auto started = run_tool_raw({tools.zfs_fuse, "--no-kstat-mount", "--pidfile", pidfile.string()});
  if (!started) return std::unexpected(started.error().wrap("start zfs-fuse"));
  if (!wait_until([&] { return zpool_answers(tools); }, 20s))
    return make_error(ETIMEDOUT, "zfs-fuse did not answer within 20s: " + started->err);
  if (started->exit_code != 0) return 0;
  int pid = 0;
  std::ifstream(pidfile) >> pid;
  if (pid <= 0) return 0;
  std::ofstream(record) << pid << "\n";
  return pid;
}

bool stop_zfs_fuse_if_idle(const ZfsTools& tools, const std::filesystem::path& record) {
  int pid = 0;
  std::ifstream(record) >> pid;
  if (pid <= 0) return true;
  if (!is_zfs_fuse(pid) || is_zombie(pid)) {  // gone already (or the PID was reused)
    std::filesystem::remove(record);
    return true;
  }
  auto pools = run_tool({tools.zpool, "list", "-H", "-o", "name"});
  if (!pools || !pools->empty()) return false;  // a pool still lives on it
  std::filesystem::remove(record);
  if (::kill(pid, SIGTERM) != 0) return true;
  // Not our child (it daemonized), so poll for its exit instead of waitpid. zfs-fuse takes
  // ~6s to exit after SIGTERM; SIGKILL only if it hangs (nothing is imported any more).
  auto gone = [&] { return (::kill(pid, 0) != 0 && errno == ESRCH) || is_zombie(pid); };
  if (wait_until(gone, 15s)) return true;
  if (is_zfs_fuse(pid)) ::kill(pid, SIGKILL);
  return wait_until(gone, 15s);
}

}  // namespace kleene::test::detail
