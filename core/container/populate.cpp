#include "container/populate.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <string>

#include "util/openat2.hpp"
#include "util/unique_fd.hpp"

namespace kleene::container {

namespace {

constexpr int kMaxDepth = 256;

Result<UniqueFd> open_in_root(int root, std::string_view path) {
  const std::string relative(path.substr(path.find_first_not_of('/') == std::string_view::npos
                                             ? path.size()
                                             : path.find_first_not_of('/')));
  const int fd = util::openat2_retrying(root, relative.empty() ? "." : relative.c_str(),
                                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
                                        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
  if (fd < 0) return errno_error("open " + std::string(path) + " in the container");
  return UniqueFd(fd);
}

Result<void> copy_attributes(int fd, const struct stat& st) {
  if (::fchown(fd, st.st_uid, st.st_gid) != 0) return errno_error("fchown");
  if (::fchmod(fd, st.st_mode & 07777) != 0) return errno_error("fchmod");
  const std::array<timespec, 2> times{st.st_atim, st.st_mtim};
  (void)::futimens(fd, times.data());
  return {};
}

Result<void> copy_file(int src_dir, int dst_dir, const char* name, const struct stat& st) {
  UniqueFd in(::openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!in) return errno_error(std::string("open ") + name);
  UniqueFd out(::openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) return errno_error(std::string("create ") + name);
  std::array<char, 65536> buffer{};
  for (;;) {
    const ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(std::string("read ") + name);
    }
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(out.get(), buffer.data() + done, static_cast<size_t>(n - done));
      if (w < 0) {
        if (errno == EINTR) continue;
        return errno_error(std::string("write ") + name);
      }
      done += w;
    }
  }
  return copy_attributes(out.get(), st);
}

Result<void> copy_tree(int src, int dst, int depth) {
  if (depth > kMaxDepth) return make_error(ELOOP, "directory tree too deep to copy");
  UniqueFd listing(::dup(src));
  if (!listing) return errno_error("dup");
  DIR* dir = ::fdopendir(listing.release());
  if (dir == nullptr) return errno_error("fdopendir");
  struct Closer {
    DIR* d;
    ~Closer() { ::closedir(d); }
  } closer{dir};
  ::rewinddir(dir);
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::fstatat(src, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return errno_error("stat " + name);
    if (S_ISDIR(st.st_mode)) {
      if (::mkdirat(dst, name.c_str(), 0700) != 0 && errno != EEXIST)
        return errno_error("mkdir " + name);
      UniqueFd sub_src(
          ::openat(src, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd sub_dst(
          ::openat(dst, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub_src || !sub_dst) return errno_error("open " + name);
      TRY(copy_tree(sub_src.get(), sub_dst.get(), depth + 1));
      TRY(copy_attributes(sub_dst.get(), st));
    } else if (S_ISREG(st.st_mode)) {
      TRY(copy_file(src, dst, name.c_str(), st));
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
      const ssize_t n = ::readlinkat(src, name.c_str(), target.data(), target.size());
      if (n < 0) return errno_error("readlink " + name);
      target.resize(static_cast<std::size_t>(n));
      if (::symlinkat(target.c_str(), dst, name.c_str()) != 0)
        return errno_error("symlink " + name);
      (void)::fchownat(dst, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
    }
    // devices, fifos, sockets: not copied into a volume
  }
  return {};
}

}  // namespace

Result<bool> directory_is_empty(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return true;
    return errno_error("open " + dir.string());
  }
  DIR* d = ::fdopendir(fd.release());
  if (d == nullptr) return errno_error("fdopendir " + dir.string());
  bool empty = true;
  while (const dirent* entry = ::readdir(d)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  return empty;
}

Result<void> populate_from_rootfs(const std::filesystem::path& rootfs, std::string_view destination,
                                  const std::filesystem::path& target_dir) {
  UniqueFd root(::open(rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return errno_error("open " + rootfs.string());
  auto source = open_in_root(root.get(), destination);
  if (!source) {
    // Nothing there (or not a directory, or a symlink leading elsewhere): nothing to copy.
    if (source.error().code == ENOENT || source.error().code == ENOTDIR ||
        source.error().code == ELOOP || source.error().code == EXDEV)
      return {};
    return std::unexpected(source.error());
  }
  UniqueFd target(::open(target_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!target) return errno_error("open " + target_dir.string());
  auto copied = copy_tree(source->get(), target.get(), 0);
  if (!copied)
    return std::unexpected(
        copied.error().wrap("populating volume from " + std::string(destination)));
  return {};
}

}  // namespace kleene::container
