// enter_rootfs: the container's mount namespace, built fd-relative. Every path inside the
// image is resolved with openat2(RESOLVE_IN_ROOT) from the rootfs, so a symlink in the image
// (e.g. /data -> /etc) lands inside the rootfs, never on the host; mounts go through the
// resolved fd (/proc/self/fd/N), never through a path that could be swapped.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <array>

#include "runtime/sandbox/internal.hpp"
#include "util/openat2.hpp"
#include "util/unique_fd.hpp"

namespace kleene::runtime::sandbox {
namespace {

constexpr unsigned long kNoSuidDevExec = MS_NOSUID | MS_NODEV | MS_NOEXEC;

// The OCI runtime-spec defaults (runc/Docker).
constexpr std::array<const char*, 9> kMaskedPaths{
    "/proc/acpi",          "/proc/kcore",      "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
    "/proc/sched_debug",   "/proc/scsi",       "/sys/firmware"};
constexpr std::array<const char*, 6> kReadOnlyPaths{
    "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};

struct Device {
  const char* name;
  unsigned major;
  unsigned minor;
};
constexpr std::array<Device, 6> kDevices{{{"null", 1, 3},
                                          {"zero", 1, 5},
                                          {"full", 1, 7},
                                          {"random", 1, 8},
                                          {"urandom", 1, 9},
                                          {"tty", 5, 0}}};

std::string fd_path(int fd) {
  return "/proc/self/fd/" + std::to_string(fd);
}

Result<UniqueFd> open_in_root(int root_fd, const std::string& path, int flags = 0) {
  const int fd =
      util::openat2_retrying(root_fd, path.c_str(), static_cast<std::uint64_t>(O_PATH | flags),
                             RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (fd < 0) return errno_error("resolve " + path + " in the container");
  return UniqueFd(fd);
}

// "a/../b/./c" -> {"b", "c"}; ".." stops at the root, as in the container.
std::vector<std::string> components(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const auto part = path.substr(start, end - start);
    if (part == "..") {
      if (!out.empty()) out.pop_back();
    } else if (!part.empty() && part != ".") {
      out.emplace_back(part);
    }
    start = end + 1;
  }
  return out;
}

// The mount target `path` inside the root, created when missing (directories component by
// component with mkdirat in the resolved parent; the last one as a file when !directory).
Result<UniqueFd> make_target(int root_fd, std::string_view path, bool directory) {
  const auto parts = components(path);
  if (parts.empty()) return make_error(EINVAL, "cannot mount over the container's root");
  UniqueFd current = TRY(open_in_root(root_fd, "/"));
  std::string prefix;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    prefix += "/" + parts[i];
    auto next = open_in_root(root_fd, prefix);
    if (!next && next.error().code == ENOENT) {
      const bool last = i + 1 == parts.size();
      if (!last || directory) {
        if (::mkdirat(current.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST)
          return errno_error("create " + prefix + " in the container");
      } else {
        UniqueFd file(::openat(current.get(), parts[i].c_str(),
                               O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
        if (!file && errno != EEXIST) return errno_error("create " + prefix + " in the container");
      }
      next = open_in_root(root_fd, prefix);
    }
    if (!next) return std::unexpected(next.error());
    current = std::move(*next);
  }
  // A symlink on the way (the image's, or one a container swapped in, CVE-2021-30465) may lead
  // back to the root: a mount there would shadow the whole container.
  struct stat at {
  }, root{};
  if (::fstat(current.get(), &at) != 0 || ::fstat(root_fd, &root) != 0)
    return errno_error("stat " + std::string(path) + " in the container");
  if (at.st_dev == root.st_dev && at.st_ino == root.st_ino)
    return make_error(ELOOP, std::string(path) +
                                 " leads to the container's root through a symlink: not mounted "
                                 "over it");
  return current;
}

Result<void> mount_at(const char* source, int target_fd, const char* type, unsigned long flags,
                      const char* data, std::string_view what) {
  const auto target = fd_path(target_fd);
  if (::mount(source, target.c_str(), type, flags, data) != 0)
    return errno_error("mount " + std::string(what));
  return {};
}

// Make the mount now on top of `path` read-only, with its submounts (mount_setattr,
// Linux >= 5.12); older kernels: a bind remount of the top mount (keeps its other flags).
Result<void> remount_read_only(int root_fd, const std::string& path, unsigned long extra = 0) {
  auto fd = TRY(open_in_root(root_fd, path));
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY | ((extra & MS_NOSUID) != 0 ? MOUNT_ATTR_NOSUID : 0) |
                  ((extra & MS_NODEV) != 0 ? MOUNT_ATTR_NODEV : 0) |
                  ((extra & MS_NOEXEC) != 0 ? MOUNT_ATTR_NOEXEC : 0);
  if (::mount_setattr(fd.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) == 0)
    return {};
  if (errno != ENOSYS) return errno_error("make " + path + " read-only");
  return mount_at(nullptr, fd.get(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | extra, nullptr,
                  path + " read-only");
}

Result<void> bind_mounts(int root_fd, const ContainerSpec& spec) {
  for (const auto& m : spec.mounts) {
    UniqueFd source(::open(m.source.c_str(), O_PATH | O_CLOEXEC));
    if (!source) return errno_error("open mount source " + m.source.string());
    struct stat st {};
    if (::fstat(source.get(), &st) != 0) return errno_error("stat " + m.source.string());
    auto target = TRY(make_target(root_fd, m.destination, S_ISDIR(st.st_mode)));
    TRY(mount_at(fd_path(source.get()).c_str(), target.get(), nullptr, MS_BIND | MS_REC, nullptr,
                 m.source.string() + " on " + m.destination));
    if (m.read_only) TRY(remount_read_only(root_fd, m.destination));
  }
  return {};
}

Result<void> mount_dev(int root_fd) {
  auto dev = TRY(make_target(root_fd, "/dev", true));
  TRY(mount_at("tmpfs", dev.get(), "tmpfs", MS_NOSUID | MS_NOEXEC | MS_STRICTATIME,
               "mode=755,size=65536k", "/dev"));
  UniqueFd dir = TRY(open_in_root(root_fd, "/dev", O_DIRECTORY));
  // O_PATH fds cannot be used with mknodat & co: reopen the fresh tmpfs for real.
  UniqueFd dev_fd(::openat(dir.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dev_fd) return errno_error("open /dev");
  for (const auto& d : kDevices) {
    if (::mknodat(dev_fd.get(), d.name, S_IFCHR | 0666, makedev(d.major, d.minor)) != 0 ||
        ::fchmodat(dev_fd.get(), d.name, 0666, 0) != 0)
      return errno_error(std::string("create /dev/") + d.name);
  }
  if (::mkdirat(dev_fd.get(), "pts", 0755) != 0 || ::mkdirat(dev_fd.get(), "shm", 01777) != 0)
    return errno_error("create /dev/pts and /dev/shm");
  auto pts = TRY(make_target(root_fd, "/dev/pts", true));
  TRY(mount_at("devpts", pts.get(), "devpts", MS_NOSUID | MS_NOEXEC,
               "newinstance,ptmxmode=0666,mode=0620,gid=5,max=1024", "/dev/pts"));
  auto shm = TRY(make_target(root_fd, "/dev/shm", true));
  TRY(mount_at("shm", shm.get(), "tmpfs", kNoSuidDevExec, "mode=1777,size=65536k", "/dev/shm"));
  constexpr std::array<std::pair<const char*, const char*>, 5> kLinks{
      {{"pts/ptmx", "ptmx"},
       {"/proc/self/fd", "fd"},
       {"/proc/self/fd/0", "stdin"},
       {"/proc/self/fd/1", "stdout"},
       {"/proc/self/fd/2", "stderr"}}};
  for (const auto& [target, name] : kLinks)
    if (::symlinkat(target, dev_fd.get(), name) != 0)
      return errno_error(std::string("create /dev/") + name);
  return {};
}

Result<void> mask_paths(int root_fd, int dev_null) {
  for (const char* path : kMaskedPaths) {
    auto fd = open_in_root(root_fd, path);
    if (!fd) {
      if (fd.error().code == ENOENT) continue;
      return std::unexpected(fd.error());
    }
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0) return errno_error(std::string("stat ") + path);
    if (S_ISDIR(st.st_mode)) {
      TRY(mount_at("tmpfs", fd->get(), "tmpfs", MS_RDONLY | kNoSuidDevExec, "size=0,mode=0555",
                   std::string("an empty tmpfs on ") + path));
    } else {
      TRY(mount_at(fd_path(dev_null).c_str(), fd->get(), nullptr, MS_BIND, nullptr,
                   std::string("/dev/null on ") + path));
    }
  }
  for (const char* path : kReadOnlyPaths) {
    auto fd = open_in_root(root_fd, path);
    if (!fd) {
      if (fd.error().code == ENOENT) continue;
      return std::unexpected(fd.error());
    }
    const auto self = fd_path(fd->get());
    TRY(mount_at(self.c_str(), fd->get(), nullptr, MS_BIND | MS_REC, nullptr, path));
    TRY(remount_read_only(root_fd, path, kNoSuidDevExec));
  }
  return {};
}

}  // namespace

Result<void> enter_rootfs(const ContainerSpec& spec) {
  UniqueFd dev_null(::open("/dev/null", O_PATH | O_CLOEXEC));
  if (!dev_null) return errno_error("open /dev/null");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return errno_error("make / private");
  if (::mount(spec.rootfs.c_str(), spec.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return errno_error("bind " + spec.rootfs.string());
  UniqueFd root(::open(spec.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return errno_error("open " + spec.rootfs.string());

  TRY(bind_mounts(root.get(), spec));
  auto proc = TRY(make_target(root.get(), "/proc", true));
  TRY(mount_at("proc", proc.get(), "proc", kNoSuidDevExec, nullptr, "/proc"));
  if (spec.params.devfs) TRY(mount_dev(root.get()));
  // sysfs shows the network devices of the mounting process's netns: with the host driver
  // that is the host's, which the container shares anyway. Read-only either way.
  auto sys = TRY(make_target(root.get(), "/sys", true));
  TRY(mount_at("sysfs", sys.get(), "sysfs", MS_RDONLY | kNoSuidDevExec, nullptr, "/sys"));
  TRY(mask_paths(root.get(), dev_null.get()));

  if (::fchdir(root.get()) != 0) return errno_error("chdir " + spec.rootfs.string());
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return errno_error("pivot_root");
  if (::umount2(".", MNT_DETACH) != 0) return errno_error("detach the old root");
  if (::chdir("/") != 0) return errno_error("chdir /");
  return {};
}

Result<void> set_hostname(const ContainerSpec& spec) {
  std::string name = !spec.hostname.empty()          ? spec.hostname
                     : !spec.params.hostname.empty() ? spec.params.hostname
                                                     : spec.id;
  if (name.size() > 64) name.resize(64);
  if (::sethostname(name.data(), name.size()) != 0) return errno_error("sethostname " + name);
  return {};
}

}  // namespace kleene::runtime::sandbox
