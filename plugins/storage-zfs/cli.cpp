#include "cli.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

namespace kleene::zfs {
namespace {

// The tools' messages are matched below: keep them in English. libzfs may exec mount(8).
const std::vector<std::string> kEnv = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"};

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  return text;
}

bool contains(const std::string& text, const char* needle) {
  return text.find(needle) != std::string::npos;
}

// An exclusive flock held for one command; without the file (or with no path) no lock.
class FileLock {
 public:
  explicit FileLock(const std::string& path) {
    if (path.empty()) return;
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    while (fd_ >= 0 && ::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace

bool is_busy_message(const std::string& message) {
  return contains(message, "dataset is busy") || contains(message, "pool is busy") ||
         contains(message, "device is busy") || contains(message, "Device or resource busy");
}

kleene_status status_of_message(const std::string& message) {
  if (contains(message, "does not exist") || contains(message, "no such pool") ||
      contains(message, "no such dataset"))
    return KLEENE_E_NOT_FOUND;
  if (contains(message, "already exists") || contains(message, "already created/imported"))
    return KLEENE_E_EXISTS;
  if (is_busy_message(message) || contains(message, "has dependent clones") ||
      contains(message, "has children") || contains(message, "is busy"))
    return KLEENE_E_BUSY;
  if (contains(message, "invalid") || contains(message, "must be") ||
      contains(message, "bad property"))
    return KLEENE_E_INVALID;
  return KLEENE_E_FAILED;
}

void throw_failure(const std::vector<std::string>& argv, const sdk::RunResult& result) {
  std::string message = trim(result.err);
  if (message.empty()) message = trim(result.out);
  const std::string tool = argv.empty() ? "" : argv.front().substr(argv.front().rfind('/') + 1);
  if (message.empty()) message = tool + " exited with " + std::to_string(result.exit_code);
  throw sdk::Error(status_of_message(message), message);
}

Cli::Cli(const sdk::Host& host, const Settings& settings) : host_(host), settings_(settings) {
  std::error_code ec;
  serialize_ = !settings_.command_lock.empty() && !std::filesystem::exists("/dev/zfs", ec);
}

sdk::RunResult Cli::run(std::vector<std::string> argv) const {
  return host_.run(argv, {}, kEnv);
}

// kleened stops a command that runs longer than its plugin_command_timeout (a wedged zfs-fuse):
// the call then throws with "<tool> did not finish within N s and was stopped".
sdk::RunResult Cli::run_zfs_tool(std::vector<std::string> argv) const {
  FileLock lock(serialize_ ? settings_.command_lock : std::string());
  return run(std::move(argv));
}

sdk::RunResult Cli::zfs_raw(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{settings_.zfs};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_zfs_tool(std::move(argv));
}

sdk::RunResult Cli::zpool_raw(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{settings_.zpool};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_zfs_tool(std::move(argv));
}

std::string Cli::zfs(const std::vector<std::string>& args) const {
  auto result = zfs_raw(args);
  if (result.exit_code != 0) throw_failure({settings_.zfs}, result);
  return result.out;
}

std::string Cli::zpool(const std::vector<std::string>& args) const {
  auto result = zpool_raw(args);
  if (result.exit_code != 0) throw_failure({settings_.zpool}, result);
  return result.out;
}

std::string Cli::zfs_retrying_busy(const std::vector<std::string>& args,
                                   const std::function<void()>& between) const {
  auto delay = std::chrono::milliseconds(2);
  for (int attempt = 1;; ++attempt) {
    auto result = zfs_raw(args);
    if (result.exit_code == 0) return result.out;
    if (!is_busy_message(result.err) || attempt >= settings_.busy_retries)
      throw_failure({settings_.zfs}, result);
    host_.debug("zfs " + (args.empty() ? std::string() : args.front()) + " busy, attempt " +
                std::to_string(attempt));
    if (between) between();
    // Bounded backoff against an external daemon that has no completion signal to wait on.
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(400));
  }
}

bool Cli::exists(const std::string& name) const {
  return zfs_raw({"list", "-H", "-o", "name", "-t", "all", name}).exit_code == 0;
}

void Cli::wait_for_unlocked_commands(std::chrono::milliseconds bound) const {
  if (!serialize_) return;
  // Under the lock, a zfs or zpool process is not one of a live kleened's commands: those hold
  // the lock while they run.
  FileLock lock(settings_.command_lock);
  std::error_code ec;
  std::vector<std::filesystem::path> programs;
  for (const auto& tool : {settings_.zfs, settings_.zpool}) {
    auto program = std::filesystem::canonical(tool, ec);
    if (!ec) programs.push_back(std::move(program));
  }
  const auto deadline = std::chrono::steady_clock::now() + bound;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code gone;
    const auto exe = std::filesystem::read_symlink(entry.path() / "exe", gone);
    if (gone || std::find(programs.begin(), programs.end(), exe) == programs.end()) continue;
    const int pid = std::stoi(name);
    // A pidfd becomes readable when the process exits: a wait without polling its state.
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) continue;  // gone meanwhile
    host_.warn(exe.string() + " (pid " + name +
               ") is running without the command lock (its kleened is gone): waiting for it");
    pollfd exited{.fd = pidfd, .events = POLLIN, .revents = 0};
    int ready = 0;
    do {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      ready = ::poll(&exited, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
    } while (ready < 0 && errno == EINTR);
    ::close(pidfd);
    if (ready == 0) host_.warn("pid " + name + " still runs: going on");
  }
}

bool Cli::service_answers() const {
  return zpool_raw({"list", "-H", "-o", "name"}).exit_code == 0;
}

}  // namespace kleene::zfs
