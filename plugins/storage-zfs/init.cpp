// init: make ZFS usable for kleene. Each step is reported as
// {"action": "...", "done": bool, "change": bool}; with dry_run nothing changes and every
// changing step has done=false.
//   1. the service: kernel ZFS (/dev/zfs), a running zfs-fuse, or start zfs-fuse;
//   2. the pool of the root dataset: present, imported from the pool file, or (create_pool)
//      created on a new sparse pool file;
//   3. the root, image, container and volumes datasets.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>
#include <vector>

#include "names.hpp"
#include "ops.hpp"

namespace kleene::zfs {
namespace {

namespace fs = std::filesystem;

class Plan {
 public:
  explicit Plan(bool dry_run) : dry_run_(dry_run) {}
  bool dry_run() const { return dry_run_; }
  void note(std::string action) { add(std::move(action), true, false); }
  // A step that changes the host: run `act` unless this is a dry run.
  template <typename Act>
  void change(std::string action, Act act) {
    if (!dry_run_) act();
    add(std::move(action), !dry_run_, true);
  }
  json steps() const { return steps_; }

 private:
  void add(std::string action, bool done, bool changes) {
    steps_.push_back({{"action", std::move(action)}, {"done", done}, {"change", changes}});
  }
  bool dry_run_;
  json steps_ = json::array();
};

void wait_for_service(const Cli& cli) {
  auto delay = std::chrono::milliseconds(10);
  const auto deadline = std::chrono::steady_clock::now() + cli.settings().service_timeout;
  // zfs-fuse answers a moment after it daemonized; it offers nothing else to wait on.
  while (!cli.service_answers()) {
    if (std::chrono::steady_clock::now() >= deadline)
      throw sdk::Error(KLEENE_E_FAILED, "zfs-fuse started but does not answer");
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(250));
  }
}

// zfs-fuse refuses to start (exit 1, no message) while its pidfile exists, also when the PID in
// it is long gone or a zombie (a crash, a kill -9, a reboot without tmpfs /run): remove such a
// file.
void remove_stale_pidfile(const Cli& cli) {
  const std::string& path = cli.settings().zfs_fuse_pidfile;
  std::ifstream in(path);
  if (!in) return;
  long pid = 0;
  in >> pid;
  if (pid > 0) {
    // "PID (zfs-fuse) S ...": alive unless a zombie (a killed zfs-fuse whose parent, often
    // PID 1, has not reaped it yet).
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    if (close != std::string::npos && close + 2 < line.size() &&
        line.find("(zfs-fuse)") != std::string::npos && line[close + 2] != 'Z') {
      return;  // alive: let zfs-fuse decide
    }
  }
  if (::unlink(path.c_str()) == 0)
    cli.host().info("removed stale zfs-fuse pidfile " + path + " (PID " + std::to_string(pid) +
                    " is not running)");
}

// "\040" -> " " (mountinfo escapes space, tab, newline and backslash as octal).
std::string unescape_mountinfo(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      const std::string digits = field.substr(i + 1, 3);
      if (std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '7'; })) {
        out.push_back(static_cast<char>(std::stoi(digits, nullptr, 8)));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

// The fuse mounts of a zfs-fuse that died (killed, crashed) stay in the mount table and answer
// ENOTCONN ("Transport endpoint is not connected"); a new zfs-fuse cannot mount over them.
// Called only when no zfs-fuse answers, so every fuse.zfs mount is such a leftover: each one
// that answers ENOTCONN is detached (deepest first).
void detach_stale_mounts(const Cli& cli) {
  std::ifstream in("/proc/self/mountinfo");
  std::vector<std::string> stale;
  for (std::string line; std::getline(in, line);) {
    // "36 25 0:32 / /zroot rw,relatime - fuse.zfs zroot rw,..."
    const auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream head(line.substr(0, dash)), tail(line.substr(dash + 3));
    std::string id, parent, devno, root, target, fstype;
    if (!(head >> id >> parent >> devno >> root >> target) || !(tail >> fstype)) continue;
    if (fstype != "fuse.zfs") continue;
    struct stat st {};
    const std::string path = unescape_mountinfo(target);
    if (::stat(path.c_str(), &st) != 0 && errno == ENOTCONN) stale.push_back(path);
  }
  std::sort(stale.begin(), stale.end(), std::greater<>());  // children before parents
  for (const auto& path : stale) {
    if (::umount2(path.c_str(), MNT_DETACH) == 0)
      cli.host().warn("detached " + path + ": a mount of a zfs-fuse that is gone");
  }
}

// Returns whether ZFS can be queried now (false only in a dry run that would start zfs-fuse).
bool ensure_service(const Cli& cli, Plan& plan) {
  std::error_code ec;
  if (fs::exists("/dev/zfs", ec)) {
    plan.note("kernel ZFS is available");
    return true;
  }
  if (cli.service_answers()) {
    plan.note("zfs-fuse is running");
    return true;
  }
  const auto& settings = cli.settings();
  if (settings.zfs_fuse.empty())
    throw sdk::Error(KLEENE_E_NOT_FOUND,
                     "ZFS is not available: no /dev/zfs, no zfs-fuse answers, and "
                     "plugins.zfs.zfs_fuse is empty (never start it)");
  plan.change("start zfs-fuse", [&] {
    remove_stale_pidfile(cli);
    detach_stale_mounts(cli);
    auto started = cli.run({settings.zfs_fuse, "--pidfile", settings.zfs_fuse_pidfile});
    // A non-zero exit may be another zfs-fuse that won the race: what counts is an answer.
    if (started.exit_code != 0)
      cli.host().warn("zfs-fuse exited with " + std::to_string(started.exit_code) + ": " +
                      started.err);
    wait_for_service(cli);
  });
  return !plan.dry_run();
}

void create_pool_file(const std::string& path, std::uint64_t bytes) {
  const fs::path file(path);
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec)
    throw sdk::Error(KLEENE_E_FAILED,
                     "create " + file.parent_path().string() + ": " + ec.message());
  // The pool file holds every image and container: only root may read it.
  ::chmod(file.parent_path().c_str(), 0700);
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    throw sdk::Error(errno == EEXIST ? KLEENE_E_EXISTS : KLEENE_E_FAILED,
                     "create " + path + ": " + std::strerror(errno));
  const bool sized = ::ftruncate(fd, static_cast<off_t>(bytes)) == 0;
  const int saved = errno;
  ::close(fd);
  if (!sized) {
    ::unlink(file.c_str());
    throw sdk::Error(KLEENE_E_FAILED, "size " + path + ": " + std::strerror(saved));
  }
}

void ensure_pool(const Cli& cli, Plan& plan, const std::string& pool, bool can_query,
                 bool create_pool) {
  const auto& settings = cli.settings();
  if (can_query && cli.zpool_raw({"list", "-H", "-o", "name", pool}).exit_code == 0) {
    plan.note("pool " + pool + " exists");
    return;
  }
  std::error_code ec;
  const fs::path file(settings.pool_file);
  std::vector<std::string> cache;
  if (!settings.pool_cachefile.empty()) cache = {"-o", "cachefile=" + settings.pool_cachefile};
  if (fs::exists(file, ec)) {
    plan.change("import pool " + pool + " from " + file.string(), [&] {
      std::vector<std::string> args{"import", "-d", file.parent_path().string()};
      args.insert(args.end(), cache.begin(), cache.end());
      args.push_back(pool);
      cli.zpool(args);
    });
    return;
  }
  if (!create_pool) throw sdk::Error(KLEENE_E_NOT_FOUND, "pool " + pool + " does not exist");
  plan.change(
      "create pool " + pool + " on " + file.string() + " (" + settings.pool_size + ", sparse)",
      [&] {
        create_pool_file(file.string(), settings.pool_bytes);
        std::vector<std::string> args{"create"};
        args.insert(args.end(), cache.begin(), cache.end());
        if (!settings.pool_mountpoint.empty()) {
          args.emplace_back("-m");
          args.push_back(settings.pool_mountpoint);
        }
        args.push_back(pool);
        args.push_back(file.string());
        auto created = cli.zpool_raw(args);
        if (created.exit_code != 0) {
          ::unlink(file.c_str());  // a file without its pool is only in the way
          throw_failure({settings.zpool}, created);
        }
      });
}

}  // namespace

json init(const Cli& cli, const json& request) {
  const std::string root = string_field(request, "root");
  require_dataset(root, "init");
  const bool create_pool = request.value("create_pool", false);
  Plan plan(request.value("dry_run", false));

  // A kleened killed during a command left it running, without the lock: it goes first.
  cli.wait_for_unlocked_commands(std::chrono::seconds(30));
  const bool service = ensure_service(cli, plan);
  const std::string pool = pool_of(root);
  ensure_pool(cli, plan, pool, service, create_pool);
  const bool can_query = service && (!plan.dry_run() || cli.exists(pool));

  for (const std::string& dataset :
       {root, root + "/image", root + "/container", root + "/volumes"}) {
    if (can_query && cli.exists(dataset)) {
      plan.note("dataset " + dataset + " exists");
      continue;
    }
    plan.change("create dataset " + dataset, [&] { cli.zfs({"create", "-p", dataset}); });
  }
  return {{"steps", plan.steps()}};
}

}  // namespace kleene::zfs
