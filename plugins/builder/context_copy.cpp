// COPY into a container root, and the digest of what would be copied.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <functional>
#include <memory>

#include "builder/context.hpp"
#include "builder/digest.hpp"

namespace kleene::builder {
namespace {

constexpr int kMaxDepth = 512;
constexpr mode_t kCopiedBits = 01777;  // permissions and sticky; never setuid/setgid

enum class Kind : char { kFile = 'f', kDirectory = 'd', kSymlink = 'l' };

struct Entry {
  std::string rel;  // relative to the source; "" is the source itself
  Kind kind = Kind::kFile;
  mode_t mode = 0;     // as copied
  int fd = -1;         // kFile: open for reading
  std::string target;  // kSymlink
};

using Visitor = std::function<Result<void>(const Entry&)>;

std::string join_path(const std::string& a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return a;
  return a.back() == '/' ? a + std::string(b) : a + "/" + std::string(b);
}

std::string_view base_name(std::string_view path) {
  return path.substr(path.rfind('/') + 1);
}

std::string dir_name(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

// The names in a directory, sorted (byte order), without "." and "..".
Result<std::vector<std::string>> list_dir(int dir_fd, const std::string& what) {
  const int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_error("open " + what);
  DIR* stream = ::fdopendir(fd);
  if (stream == nullptr) {
    ::close(fd);
    return errno_error("opendir " + what);
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(stream)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  ::closedir(stream);
  std::sort(names.begin(), names.end());
  return names;
}

Result<void> walk_dir(int dir_fd, const std::string& ctx, const std::string& rel,
                      const IgnoreRules& ignore, const Visitor& visit, int depth) {
  if (depth > kMaxDepth) return make_error(ELOOP, "'" + ctx + "' is nested too deeply");
  for (const auto& name : TRY(list_dir(dir_fd, ctx.empty() ? "." : ctx))) {
    const std::string child_ctx = join_path(ctx, name);
    const std::string child_rel = join_path(rel, name);
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed meanwhile
      return errno_error("stat " + child_ctx);
    }
    const bool skip = ignore.ignored(child_ctx);
    // An ignored directory is still searched when an exception may include something in it.
    const bool prune = skip && S_ISDIR(st.st_mode) && !ignore.may_include_below(child_ctx);
    TRY(ignore.within_budget());
    if (S_ISDIR(st.st_mode)) {
      if (prune) continue;
      UniqueFd sub(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) return errno_error("open " + child_ctx);
      if (::fstat(sub.get(), &st) != 0) return errno_error("stat " + child_ctx);
      if (!skip) TRY(visit(Entry{child_rel, Kind::kDirectory, st.st_mode & kCopiedBits, -1, {}}));
      TRY(walk_dir(sub.get(), child_ctx, child_rel, ignore, visit, depth + 1));
    } else if (skip) {
      continue;
    } else if (S_ISREG(st.st_mode)) {
      // O_NONBLOCK: a fifo swapped in after the stat must not hang the build.
      UniqueFd file(::openat(dir_fd, name.c_str(),
                             O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
      if (!file) return errno_error("open " + child_ctx);
      if (::fstat(file.get(), &st) != 0) return errno_error("stat " + child_ctx);
      if (!S_ISREG(st.st_mode)) continue;
      TRY(visit(Entry{child_rel, Kind::kFile, st.st_mode & kCopiedBits, file.get(), {}}));
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(PATH_MAX, '\0');
      const ssize_t n = ::readlinkat(dir_fd, name.c_str(), target.data(), target.size());
      if (n < 0) return errno_error("readlink " + child_ctx);
      target.resize(static_cast<std::size_t>(n));
      TRY(visit(Entry{child_rel, Kind::kSymlink, 0777, -1, std::move(target)}));
    }
    // Sockets, fifos and devices are not copied.
  }
  return {};
}

// Visit a source: the file itself, or the directory and everything below it (sorted).
Result<void> walk_source(int context_fd, const CopySource& source, const IgnoreRules& ignore,
                         const Visitor& visit) {
  UniqueFd fd = TRY(open_in_context(context_fd, source.path, O_RDONLY | O_NONBLOCK | O_NOCTTY));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error("stat " + source.path);
  if (S_ISDIR(st.st_mode)) {
    TRY(visit(Entry{"", Kind::kDirectory, st.st_mode & kCopiedBits, -1, {}}));
    return walk_dir(fd.get(), source.path, "", ignore, visit, 0);
  }
  if (!S_ISREG(st.st_mode)) {
    return make_error(EINVAL, "'" + source.path + "' is not a regular file or directory");
  }
  return visit(Entry{"", Kind::kFile, st.st_mode & kCopiedBits, fd.get(), {}});
}

// ---- writing, every path resolved inside the root ----

Result<UniqueFd> open_new_dir(int parent, const std::string& name, const std::string& path,
                              mode_t mode, const CopyOwner& owner) {
  UniqueFd fd(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return errno_error("open " + path);
  if (::fchown(fd.get(), owner.uid, owner.gid) != 0) return errno_error("chown " + path);
  if (::fchmod(fd.get(), mode) != 0) return errno_error("chmod " + path);
  return fd;
}

// `path` as a directory, following symlinks inside the root; missing ones are created 0755.
Result<UniqueFd> make_dirs(int root, const std::string& path, const CopyOwner& owner,
                           int depth = 0) {
  auto fd = open_in_root(root, path, O_RDONLY | O_DIRECTORY);
  if (fd || fd.error().code != ENOENT || path == "/" || depth > kMaxDepth) return fd;
  UniqueFd parent = TRY(make_dirs(root, dir_name(path), owner, depth + 1));
  const std::string name(base_name(path));
  if (::mkdirat(parent.get(), name.c_str(), 0700) != 0) {
    if (errno != EEXIST) return errno_error("mkdir " + path);
    // A dangling symlink (an image's /data -> /srv/data): create its target, in the root.
    std::string target(PATH_MAX, '\0');
    const ssize_t n = ::readlinkat(parent.get(), name.c_str(), target.data(), target.size());
    if (n <= 0) return open_in_root(root, path, O_RDONLY | O_DIRECTORY);
    target.resize(static_cast<std::size_t>(n));
    if (!target.starts_with('/')) target = join_path(dir_name(path), target);
    TRY(make_dirs(root, target, owner, depth + 1));
    return open_in_root(root, path, O_RDONLY | O_DIRECTORY);
  }
  return open_new_dir(parent.get(), name, path, 0755, owner);
}

// A directory at parent/name: an existing directory is kept, anything else there (a symlink
// planted in the image, a file) is replaced, never followed.
Result<void> place_dir(int parent, const std::string& name, const std::string& path, mode_t mode,
                       const CopyOwner& owner) {
  struct stat st {};
  if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISDIR(st.st_mode) && ::unlinkat(parent, name.c_str(), 0) != 0) {
      return errno_error("remove " + path);
    }
  } else if (errno != ENOENT) {
    return errno_error("stat " + path);
  }
  if (!S_ISDIR(st.st_mode) && ::mkdirat(parent, name.c_str(), 0700) != 0) {
    return errno_error("mkdir " + path);
  }
  TRY(open_new_dir(parent, name, path, mode, owner));
  return {};
}

std::string temp_name() {
  static std::atomic<unsigned> counter{0};
  return ".kleene-copy-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

// Move the new entry `tmp` over parent/name: rename never follows a symlink at `name`.
Result<void> replace(int parent, const std::string& tmp, const std::string& name,
                     const std::string& path) {
  if (::renameat(parent, tmp.c_str(), parent, name.c_str()) == 0) return {};
  const int code = errno;
  ::unlinkat(parent, tmp.c_str(), 0);
  if (code == EISDIR || code == ENOTEMPTY || code == EEXIST) {
    return make_error(EISDIR, "cannot overwrite directory '" + path + "' with a non-directory");
  }
  errno = code;
  return errno_error("rename " + path);
}

Result<void> copy_bytes(int from, int to, const std::string& path) {
  bool fallback = false;
  for (;;) {
    ssize_t n = -1;
    if (!fallback) {
      n = ::copy_file_range(from, nullptr, to, nullptr, 1 << 30, 0);
      if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
        fallback = true;
        continue;
      }
    } else {
      char buf[1 << 16];
      n = ::read(from, buf, sizeof buf);
      for (ssize_t done = 0; n > 0 && done < n;) {
        const ssize_t w = ::write(to, buf + done, static_cast<std::size_t>(n - done));
        if (w < 0 && errno != EINTR) return errno_error("write " + path);
        if (w > 0) done += w;
      }
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("copy " + path);
    if (n == 0) return {};
  }
}

Result<void> write_file(int parent, const std::string& name, const std::string& path,
                        const Entry& entry, const CopyOwner& owner) {
  std::string tmp;
  UniqueFd out;
  for (int attempt = 0; attempt < 100 && !out; ++attempt) {
    tmp = temp_name();
    out.reset(
        ::openat(parent, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out && errno != EEXIST) return errno_error("create " + path);
  }
  if (!out) return errno_error("create " + path);
  auto written = copy_bytes(entry.fd, out.get(), path);
  // chown first: it would clear mode bits set before it.
  if (written && ::fchown(out.get(), owner.uid, owner.gid) != 0)
    written = errno_error("chown " + path);
  if (written && ::fchmod(out.get(), entry.mode) != 0) written = errno_error("chmod " + path);
  if (!written) {
    ::unlinkat(parent, tmp.c_str(), 0);
    return written;
  }
  return replace(parent, tmp, name, path);
}

Result<void> write_symlink(int parent, const std::string& name, const std::string& path,
                           const Entry& entry, const CopyOwner& owner) {
  std::string tmp;
  for (int attempt = 0;; ++attempt) {
    tmp = temp_name();
    if (::symlinkat(entry.target.c_str(), parent, tmp.c_str()) == 0) break;
    if (errno != EEXIST || attempt == 100) return errno_error("symlink " + path);
  }
  if (::fchownat(parent, tmp.c_str(), owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW) != 0) {
    auto error = errno_error("chown " + path);
    ::unlinkat(parent, tmp.c_str(), 0);
    return error;
  }
  return replace(parent, tmp, name, path);
}

// Where a file source goes: inside the destination when it names a directory (by a trailing
// slash or by being an existing directory in the root), else at the destination itself.
std::string file_target(int root_fd, const CopyPlan& plan, const CopySource& source) {
  if (plan.into_directory || open_in_root(root_fd, plan.destination, O_PATH | O_DIRECTORY)) {
    return join_path(plan.destination, base_name(source.path));
  }
  return plan.destination;
}

}  // namespace

Result<void> copy_into_root(int context_fd, const CopyPlan& plan, int root_fd,
                            const IgnoreRules& ignore, const CopyOwner& owner) {
  for (const auto& source : plan.sources) {
    const std::string top =
        source.directory ? plan.destination : file_target(root_fd, plan, source);
    auto visit = [&](const Entry& entry) -> Result<void> {
      if (entry.kind == Kind::kDirectory && entry.rel.empty()) {
        TRY(make_dirs(root_fd, top, owner));  // the destination: its symlinks are followed
        return {};
      }
      const std::string path = join_path(top, entry.rel);
      UniqueFd parent = TRY(make_dirs(root_fd, dir_name(path), owner));
      const std::string name(base_name(path));
      switch (entry.kind) {
        case Kind::kDirectory:
          return place_dir(parent.get(), name, path, entry.mode, owner);
        case Kind::kFile:
          return write_file(parent.get(), name, path, entry, owner);
        case Kind::kSymlink:
          return write_symlink(parent.get(), name, path, entry, owner);
      }
      return {};
    };
    TRY(walk_source(context_fd, source, ignore, visit));
  }
  return {};
}

Result<std::string> content_digest(int context_fd, const CopyPlan& plan,
                                   const IgnoreRules& ignore) {
  FieldDigest hash;
  for (const auto& source : plan.sources) {
    hash.field("source");
    hash.field(source.path);
    auto visit = [&](const Entry& entry) -> Result<void> {
      const char kind = static_cast<char>(entry.kind);
      hash.field(std::string_view(&kind, 1));
      hash.field(entry.rel);
      hash.field(std::to_string(entry.mode));
      if (entry.kind == Kind::kSymlink) hash.field(entry.target);
      if (entry.kind != Kind::kFile) return {};
      char buf[1 << 16];
      uint64_t total = 0;
      for (off_t offset = 0;;) {
        const ssize_t n = ::pread(entry.fd, buf, sizeof buf, offset);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error("read " + source.path + "/" + entry.rel);
        if (n == 0) break;
        hash.bytes(buf, static_cast<std::size_t>(n));
        offset += n;
        total += static_cast<uint64_t>(n);
      }
      hash.number(total);
      return {};
    };
    TRY(walk_source(context_fd, source, ignore, visit));
  }
  return hash.finish();
}

}  // namespace kleene::builder
